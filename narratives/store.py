"""DuckDB storage: declared tables, atomic writes, the runs log and Parquet export (the caches: narratives/caches.py).

A run's results are written in ONE transaction (all tables or none); Parquet files are written to a temporary
name and renamed into place. Existing databases gain newly declared columns with ``ALTER TABLE ADD COLUMN``.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from narratives.errors import NarrativesError
from narratives.schemas import (
    ALL_TABLES, ARTICLE_SIGNATURES, ARTICLES, CLAIMS, DUCKDB_TYPES, EXPORTED_TABLES, NARRATIVE_BURSTS, NARRATIVE_DRIFT,
    NARRATIVE_LINEAGE, NARRATIVE_OUTLETS, NARRATIVE_SPREAD, NARRATIVE_TIMESERIES, NARRATIVES, QUARANTINE, REPRINTS,
    RUNS, SCHEMA_VERSION, THEMES, TableDef, check_arrow, empty_frame, to_arrow,
)

if TYPE_CHECKING:
    from narratives.caches import KnownVectors

# Tables a run replaces as a whole (derived from all claims); the others are appended to.
REPLACED = (CLAIMS, REPRINTS, NARRATIVES, THEMES, NARRATIVE_TIMESERIES, NARRATIVE_OUTLETS, NARRATIVE_SPREAD,
            NARRATIVE_BURSTS, NARRATIVE_DRIFT)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def new_run_id() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _ddl(table: TableDef) -> str:
    cols = []
    for f in table.schema:
        cols.append(f'"{f.name}" {DUCKDB_TYPES[f.type]}' + ("" if f.nullable else " NOT NULL"))
    return f'CREATE TABLE IF NOT EXISTS "{table.name}" ({", ".join(cols)})'


_HELD: dict[str, duckdb.DuckDBPyConnection] = {}  # databases held open by held_open() in this process
_CHECKPOINTS: dict[str, threading.Thread] = {}  # their checkpoints after a commit, still running
_CLOSING: dict[str, threading.Thread] = {}  # their closes still running
_LOCKED: set[str] = set()  # databases whose run lock (run_lock) this process holds
_LOCK_FDS: dict[str, int] = {}  # their lock files' descriptors
_SCHEMA_CHECKED: set[str] = set()  # of those, the ones whose tables a connection has checked since the lock was taken
_RESERVED: dict[str, "_Reservation"] = {}  # of those, the ones taken ahead for the runs this process starts next


def _key(p: Path) -> str:
    return str(p.resolve())


def _open(p: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    closing = _CLOSING.get(_key(p))
    if closing is not None:  # a held database is still closing (checkpoint, close): open it as it left it
        closing.join()
    try:
        return duckdb.connect(str(p), read_only=read_only)
    except duckdb.IOException as err:
        raise NarrativesError(
            f"database {str(p)!r} cannot be opened ({str(err).splitlines()[0]}); "
            "another narratives run may hold it - wait for it to finish"
        ) from None


@contextmanager
def connect(db_path: str | Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the database, closed after use. While :func:`held_open` holds the database, every
    connection (read-only ones too) shares the open database and closes without a checkpoint."""
    p = Path(db_path)
    if read_only and not p.exists():
        raise NarrativesError(f"database {str(p)!r} does not exist; run `narratives run INPUT --db {p}` first")
    p.parent.mkdir(parents=True, exist_ok=True)
    key = _key(p)
    held = key in _HELD
    con = _open(p, read_only and not held)  # (one process cannot open a file read-only and read-write at once)
    try:
        if not read_only and not held:
            _ensure_schema_once(con, key)
        yield con
    finally:
        con.close()


@contextmanager
def held_open(db_path: str | Path) -> Iterator[None]:
    """Hold the database open for the steps inside (a run's commit, Parquet export and report, back to back), and
    write each commit into the file in a background thread (DuckDB's checkpoint: it copies the committed changes
    from its write-ahead log into the file, 0.3 s after a 30k-claim commit, and would otherwise run when the
    last connection closes). The checkpoint runs beside the steps after the commit (DuckDB lets them read
    meanwhile); the database is closed in a background thread after the block, once the checkpoint is done.
    The changes are durable before (committed to the log, replayed on the next open if the process dies
    first); a connection opened in this process while the close runs waits for it, and the process waits for it
    before exiting."""
    p = Path(db_path)
    p.parent.mkdir(parents=True, exist_ok=True)
    key = _key(p)
    keeper = _open(p, read_only=False)
    _ensure_schema_once(keeper, key)
    _HELD[key] = keeper
    try:
        yield
    finally:
        del _HELD[key]
        closer = threading.Thread(target=_close, args=(keeper, key, _CHECKPOINTS.pop(key, None)),
                                  name=f"duckdb-close {p.name}")
        _CLOSING[key] = closer
        closer.start()


def _checkpoint_held(p: Path) -> None:
    """After a commit to a database :func:`held_open` holds: checkpoint it in a background thread."""
    key = _key(p)
    keeper = _HELD.get(key)
    if keeper is None or key in _CHECKPOINTS:  # not held, or a checkpoint already on its way
        return
    cursor = keeper.cursor()
    thread = threading.Thread(target=_checkpoint, args=(cursor, key), name=f"duckdb-checkpoint {p.name}")
    _CHECKPOINTS[key] = thread
    thread.start()


def _checkpoint(cursor: duckdb.DuckDBPyConnection, key: str) -> None:
    try:
        cursor.execute("CHECKPOINT")
    except Exception as err:  # noqa: BLE001 - the close checkpoints again; the commit stands either way
        print(f"narratives: checkpointing {key} failed ({type(err).__name__}: {err}); it is retried at close",
              file=sys.stderr)
    finally:
        cursor.close()


def _close(con: duckdb.DuckDBPyConnection, key: str, checkpoint: threading.Thread | None = None) -> None:
    try:
        if checkpoint is not None:
            checkpoint.join()
        con.close()
    except Exception as err:  # noqa: BLE001 - the commit stands (the log is replayed on the next open)
        print(f"narratives: closing {key} failed ({type(err).__name__}: {err}); the next open replays its log",
              file=sys.stderr)
    finally:
        if _CLOSING.get(key) is threading.current_thread():
            del _CLOSING[key]


def table_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """The columns of every table in the database, by table (one catalogue query)."""
    have: dict[str, set[str]] = {}
    for table, column in con.execute("SELECT table_name, column_name FROM information_schema.columns "
                                     "WHERE table_schema = 'main'").fetchall():
        have.setdefault(table, set()).add(column)
    return have


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables; add columns declared since the table was created (tables only grow). One catalogue
    query when nothing is missing."""
    have = table_columns(con)
    for table in ALL_TABLES.values():
        if table.name not in have:
            con.execute(_ddl(table))
            continue
        for f in table.schema:
            if f.name not in have[table.name]:
                con.execute(f'ALTER TABLE "{table.name}" ADD COLUMN "{f.name}" {DUCKDB_TYPES[f.type]}')


def _ensure_schema_once(con: duckdb.DuckDBPyConnection, key: str) -> None:
    """:func:`ensure_schema`, once per run: while this process holds the database's run lock no other narratives
    run can change its tables, so the first read-write connection of the run checks them and the later ones skip
    it (15-35 ms each, eight connections in an incremental run). Without the lock every connection checks."""
    if key in _SCHEMA_CHECKED:
        return
    ensure_schema(con)
    if key in _LOCKED:
        _SCHEMA_CHECKED.add(key)


def read_table(con: duckdb.DuckDBPyConnection, table: TableDef, columns: Sequence[str] | None = None,
               have: set[str] | None = None) -> pd.DataFrame:
    """The table with its declared columns (or only ``columns`` of them); columns declared after the database was
    written read as NULL (a read-only connection cannot add them). ``have``: the table's columns in the database
    (:func:`table_columns`; asked for when not given)."""
    if have is None:
        have = table_columns(con).get(table.name, set())
    wanted = None if columns is None else set(columns)
    fields = [f for f in table.schema if wanted is None or f.name in wanted]
    if wanted is not None and len(fields) < len(wanted):
        raise NarrativesError(f"read_table: {sorted(wanted - {f.name for f in fields})} are not columns of {table.name}")
    if not have:
        return pa.schema(fields).empty_table().to_pandas()
    cols = ", ".join(f'"{f.name}"' if f.name in have else f'CAST(NULL AS {DUCKDB_TYPES[f.type]}) AS "{f.name}"'
                     for f in fields)
    return con.execute(f'SELECT {cols} FROM "{table.name}"').to_arrow_table().to_pandas()


def read_tables(db_path: str | Path, names: Sequence[str] | None = None,
                columns: dict[str, Sequence[str]] | None = None) -> dict[str, pd.DataFrame]:
    """The exported tables (or ``names``) as DataFrames, for reports and tests; ``columns``: only these columns of
    the tables it names (e.g. the report skips the articles' text)."""
    with connect(db_path, read_only=True) as con:
        have = table_columns(con)
        return {n: read_table(con, ALL_TABLES[n], (columns or {}).get(n), have.get(n, set()))
                for n in (names or EXPORTED_TABLES)}


def _insert(con: duckdb.DuckDBPyConnection, table: TableDef, tbl: pa.Table) -> None:
    check_arrow(table, tbl)
    con.register("_incoming", tbl)
    try:
        cols = ", ".join(f'"{c}"' for c in table.columns)
        con.execute(f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM _incoming')
    finally:
        con.unregister("_incoming")


# ---- runs -----------------------------------------------------------------------------------------------

def start_run(db_path: str | Path, run_id: str, config_hash: str, input_path: str | None) -> None:
    row = {c: None for c in RUNS.columns}
    row.update(run_id=run_id, started_at=utcnow(), status="running", config_hash=config_hash,
               schema_version=SCHEMA_VERSION, input=input_path)
    tbl = to_arrow(RUNS, pd.DataFrame([row]))
    with connect(db_path) as con:
        _insert(con, RUNS, tbl)


def _finish_sql(run_id: str, status: str, counts: dict | None = None, error: str | None = None) -> tuple[str, list]:
    values = {"status": status, "finished_at": utcnow(), "error": error}
    for k, v in (counts or {}).items():
        if k not in RUNS.columns:
            raise NarrativesError(f"runs has no column {k!r}")
        values[k] = None if v is None else (v if isinstance(v, str) else int(v))
    sets = ", ".join(f'"{k}" = ?' for k in values)
    return f'UPDATE "{RUNS.name}" SET {sets} WHERE run_id = ?', [*values.values(), run_id]


def finish_run(db_path: str | Path, run_id: str, status: str, counts: dict | None = None, error: str | None = None) -> None:
    with connect(db_path) as con:
        con.execute(*_finish_sql(run_id, status, counts, error))


# ---- state for a run ------------------------------------------------------------------------------------

@dataclass
class State:
    """What the database holds before a run: the state incremental runs build on."""

    articles: pd.DataFrame
    claims: pd.DataFrame
    narratives: pd.DataFrame
    timeseries: pd.DataFrame
    spread: pd.DataFrame
    bursts: pd.DataFrame
    drift: pd.DataFrame
    reprints: pd.DataFrame
    signatures: pd.DataFrame
    next_narrative_id: int
    runs_since_full: int
    # the text hashes and cached vectors of ``claims``, when read ahead (reserved_run, caches.with_known_vectors)
    known_vectors: "KnownVectors | None" = None


def load_state(db_path: str | Path) -> State:
    """The stored articles, claims, narratives (with centroids), time series, dynamics, reprints and article
    signatures, the next unused narrative id (ids are never reused, ended ones included) and the number of
    succeeded runs since the last full re-fit."""
    reserved = _RESERVED.get(_key(Path(db_path)))
    state = reserved.take_state() if reserved is not None else None
    return state if state is not None else _read_state(db_path)


def _read_state(db_path: str | Path, read_only: bool = False) -> State:
    tables = (ARTICLES, CLAIMS, NARRATIVES, NARRATIVE_TIMESERIES, NARRATIVE_SPREAD, NARRATIVE_BURSTS, NARRATIVE_DRIFT,
              REPRINTS, ARTICLE_SIGNATURES)
    if not Path(db_path).exists():
        return State(*(t.schema.empty_table().to_pandas() for t in tables), next_narrative_id=1, runs_since_full=0)
    with connect(db_path, read_only=read_only) as con:
        have = table_columns(con)
        frames = [read_table(con, t, have=have.get(t.name, set())) for t in tables]
        top = con.execute(
            f'SELECT greatest(coalesce((SELECT max(narrative_id) FROM "{NARRATIVES.name}"), 0), '
            f'coalesce((SELECT max(narrative_id) FROM "{NARRATIVE_LINEAGE.name}"), 0), '
            f'coalesce((SELECT max(related_narrative_id) FROM "{NARRATIVE_LINEAGE.name}"), 0))').fetchone()[0]
        modes = [r[0] for r in con.execute(
            f'SELECT mode FROM "{RUNS.name}" WHERE status = \'succeeded\' AND mode IN (\'full\', \'incremental\') '
            "ORDER BY started_at DESC").fetchall()]
    since = next((i for i, m in enumerate(modes) if m == "full"), len(modes))
    return State(*frames, next_narrative_id=int(top) + 1, runs_since_full=since)


# ---- one run at a time ----------------------------------------------------------------------------------

@contextmanager
def run_lock(db_path: str | Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold ``<db>.lock`` (an OS file lock, released even when the process is killed) for a whole run.

    A second run waits up to ``wait_seconds`` for it, then refuses with a clear message. Runs left 'running'
    in ``runs`` by a killed process are marked 'interrupted' once the lock is held."""
    key = _key(Path(db_path))
    reserved = _RESERVED.get(key)
    if reserved is not None and not reserved.entered:  # taken ahead by this process (reserved_run) for this run
        reserved.entered = True
        reserved.wait()  # the state read ahead is done before the run opens the database itself
        try:
            yield
        finally:
            reserved.entered = False
        return
    path = Path(str(db_path) + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    locked = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
                    raise NarrativesError(
                        f"database {str(db_path)!r} is in use by another narratives run ({holder}); wait for it to "
                        "finish, or pass --wait SECONDS to queue behind it") from None
                time.sleep(0.5)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {utcnow():%Y-%m-%d %H:%M:%S} UTC".encode(), 0)
        _LOCKED.add(key)
        _LOCK_FDS[key] = fd
        locked = True
        if Path(db_path).exists():
            with connect(db_path) as con:
                con.execute(f'UPDATE "{RUNS.name}" SET status = \'interrupted\', '
                            "error = 'the process ended before the run finished (killed?)' WHERE status = 'running'")
        yield
    finally:
        if locked:  # (a refused attempt leaves the holder's marks alone)
            _LOCKED.discard(key)
            _LOCK_FDS.pop(key, None)
            _SCHEMA_CHECKED.discard(key)
        closing = _CLOSING.get(key)
        if closing is None:
            os.close(fd)  # releases the lock
        else:  # the database is still closing (held_open: checkpoint, close): the next run starts after it
            threading.Thread(target=_release_after, args=(closing, fd), name="narratives-run-lock").start()


def close_inherited_locks() -> None:
    """In a process forked while this one held run locks: close its copies of the lock files, leaving the locks to
    the parent (an OS file lock lasts while any copy is open, so a killed parent would otherwise leave it held)."""
    while _LOCK_FDS:
        os.close(_LOCK_FDS.popitem()[1])
    _LOCKED.clear()
    _SCHEMA_CHECKED.clear()
    _RESERVED.clear()


def _release_after(closing: threading.Thread, fd: int) -> None:
    closing.join()
    os.close(fd)


class _Reservation:
    """A run lock taken ahead (:func:`reserved_run`), and the starting state read meanwhile."""

    def __init__(self, db_path: str | Path, prefetch: bool, read_ahead: Callable[[State], State] | None,
                 beside: Callable[[], Callable[[], None] | None] | None = None):
        self.entered = False
        self._state: State | None = None
        # started before the reader thread: it may fork (narratives/ahead.py)
        self._released = beside() if beside is not None else None
        self._reader = threading.Thread(target=self._read, args=(db_path, read_ahead),
                                        name="narratives-prefetch") if prefetch else None
        if self._reader is not None:
            self._reader.start()

    def _read(self, db_path: str | Path, read_ahead: Callable[[State], State] | None) -> None:
        try:
            state = _read_state(db_path, read_only=True)  # (a process started ``beside`` may read it too)
            self._state = read_ahead(state) if read_ahead is not None else state
        except Exception:  # noqa: BLE001 - the run's own load_state reads again and raises it there
            self._state = None

    def wait(self) -> None:
        if self._reader is not None:
            self._reader.join()
        if self._released is not None:
            self._released()
            self._released = None

    def take_state(self) -> State | None:
        """The state read ahead (once; None when there is none or its read failed)."""
        self.wait()
        state, self._reader, self._state = self._state, None, None
        return state

    def finish(self) -> None:
        self.take_state()  # the read is done before the lock is released


@contextmanager
def reserved_run(db_path: str | Path, wait_seconds: float = 0.0, prefetch: bool = True,
                 read_ahead: Callable[[State], State] | None = None,
                 beside: Callable[[], Callable[[], None] | None] | None = None) -> Iterator[None]:
    """Take the run lock of ``db_path`` (as :func:`run_lock`) for a run this process starts inside the block; the
    run's own :func:`run_lock` then enters it without locking again. The `narratives run` command takes it before
    it imports Prefect (and refuses a busy database before that).

    ``prefetch``: the run's starting state is read meanwhile in a thread: DuckDB reads without holding the GIL,
    on the core the imports leave idle (0.2-0.3 s of a 30k-claim run). The run's :func:`load_state` takes it: it
    is the state a read at that point would give, as no other run can write while the lock is held, and the
    lock's own writes (runs left 'running' marked 'interrupted') come before it. ``read_ahead``: more to read in
    that thread, given the state (the CLI's: its claims' text hashes and cached vectors,
    ``caches.with_known_vectors``); a failure there fails the whole read ahead (the run reads again). The read is
    read-only.

    ``beside``: called once the lock is held, before the read starts (no thread of this one exists yet), to start
    another process that reads the database read-only meanwhile (the CLI's: narratives/ahead.py); it returns what
    to wait for before the run opens the database itself (or None)."""
    key = _key(Path(db_path))
    with run_lock(db_path, wait_seconds):
        reservation = _Reservation(db_path, prefetch, read_ahead, beside)
        _RESERVED[key] = reservation
        try:
            yield
        finally:
            del _RESERVED[key]
            reservation.finish()


# ---- results --------------------------------------------------------------------------------------------

def commit_results(db_path: str | Path, run_id: str, new_articles: pd.DataFrame, quarantine: list[dict],
                   replaced: dict[str, pd.DataFrame], lineage: pd.DataFrame | None = None,
                   counts: dict | None = None, signatures: pd.DataFrame | None = None,
                   stored_claims: pd.DataFrame | None = None) -> dict[str, pa.Table]:
    """Write a run's results in one transaction: new articles, quarantine rows and lineage events are appended;
    ``signatures`` rows replace the stored rows of their articles;
    every table in ``REPLACED`` (derived from all claims) is replaced by ``replaced[name]`` (missing = empty); the
    run's ``runs`` row is marked succeeded with ``counts``. Every table is validated against its schema first,
    so an off-schema table fails the run before anything is written; a run killed at any point leaves the
    database as it was before the run or as it is after it, never in between.

    ``stored_claims``: the claims table as this run read it (under the run's lock). When the new claims start with
    those, in order, only the difference is written: the changed values of stored claims are updated in place and
    the new claims appended, which leaves the same table (same rows, same order) as replacing it, and spares
    DuckDB rewriting every claim's text when it checkpoints (~0.2 s of an incremental run on 30k claims).

    Returns the tables it replaced, as written (what reading them back gives), for the run's report."""
    unknown = sorted(set(replaced) - {t.name for t in REPLACED})
    if unknown:
        raise NarrativesError(f"commit_results: {unknown} are not tables a run replaces")
    q = pd.DataFrame(quarantine, columns=["source", "record_ref", "reason", "raw"]).assign(run_id=run_id)
    arrow = {
        ARTICLES.name: to_arrow(ARTICLES, new_articles),
        QUARANTINE.name: to_arrow(QUARANTINE, q[QUARANTINE.columns]),
    }
    lin = lineage if lineage is not None else pd.DataFrame(columns=[c for c in NARRATIVE_LINEAGE.columns if c != "run_id"])
    arrow[NARRATIVE_LINEAGE.name] = to_arrow(NARRATIVE_LINEAGE, lin.assign(run_id=run_id)[NARRATIVE_LINEAGE.columns])
    finish = _finish_sql(run_id, "succeeded", counts)
    for table in REPLACED:
        df = replaced.get(table.name)
        arrow[table.name] = to_arrow(table, df) if df is not None else table.schema.empty_table()
    sigs = to_arrow(ARTICLE_SIGNATURES, signatures if signatures is not None else empty_frame(ARTICLE_SIGNATURES))
    arrow[ARTICLE_SIGNATURES.name] = sigs
    diff = _claims_difference(stored_claims, replaced.get(CLAIMS.name))
    with connect(db_path) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            if diff is not None and con.execute(f'SELECT count(*) FROM "{CLAIMS.name}"').fetchone()[0] != diff[0]:
                diff = None  # the table is not the one the run read: replace it
            for table in REPLACED:
                if not (table is CLAIMS and diff is not None):
                    con.execute(f'DELETE FROM "{table.name}"')
            if len(sigs):
                con.register("_sig_ids", sigs.select(["article_id"]))
                con.execute(f'DELETE FROM "{ARTICLE_SIGNATURES.name}" WHERE article_id IN (SELECT article_id FROM _sig_ids)')
                con.unregister("_sig_ids")
            for name, tbl in arrow.items():
                if name == CLAIMS.name and diff is not None:
                    _update_claims(con, tbl, *diff)
                else:
                    _insert(con, ALL_TABLES[name], tbl)
            con.execute(*finish)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    _checkpoint_held(Path(db_path))
    return {t.name: arrow[t.name] for t in REPLACED}


def _claims_difference(stored: pd.DataFrame | None, new: pd.DataFrame | None
                       ) -> tuple[int, list[str], np.ndarray] | None:
    """(number of stored claims, the columns whose values changed, the stored claims whose values changed) when
    ``new`` starts with the ``stored`` claims in their order; None otherwise (then the table is replaced)."""
    if stored is None or new is None or not len(stored) or len(new) < len(stored):
        return None
    n = len(stored)
    head, old = new.iloc[:n].reset_index(drop=True), stored.reset_index(drop=True)
    if not (np.array_equal(head[CLAIMS.c.claim_id].to_numpy(dtype=object), old[CLAIMS.c.claim_id].to_numpy(dtype=object))
            and old[CLAIMS.c.claim_id].is_unique):  # (rows are updated by claim id)
        return None
    rows, cols = np.zeros(n, dtype=bool), []
    for c in CLAIMS.columns:
        if c not in old.columns:
            return None
        try:  # equal values, or missing on both sides
            same = (head[c] == old[c]).fillna(False).to_numpy(dtype=bool) | (head[c].isna() & old[c].isna()).to_numpy()
        except (TypeError, ValueError):
            return None
        if not same.all():
            rows |= ~same
            cols.append(c)
    return n, cols, rows


def _update_claims(con: duckdb.DuckDBPyConnection, tbl: pa.Table, n: int, cols: list[str], rows: np.ndarray) -> None:
    """The claims table (its first ``n`` rows the stored claims, in order) made equal to ``tbl``: the ``cols`` of
    the ``rows`` that changed are updated in place, the rows after the ``n`` stored ones appended in order."""
    check_arrow(CLAIMS, tbl)
    if cols:
        key = CLAIMS.c.claim_id
        con.register("_changed", tbl.slice(0, n).filter(pa.array(rows)).select([key, *cols]))
        try:
            sets = ", ".join(f'"{c}" = u."{c}"' for c in cols)
            con.execute(f'UPDATE "{CLAIMS.name}" t SET {sets} FROM _changed u WHERE t."{key}" = u."{key}"')
        finally:
            con.unregister("_changed")
    _insert(con, CLAIMS, tbl.slice(n))


def export_parquet(db_path: str | Path, tables_dir: str | Path) -> list[Path]:
    """Export every output table to ``tables_dir/<table>.parquet`` (each written to a temp file, then renamed)."""
    out_dir = Path(tables_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with connect(db_path, read_only=True) as con:
        for name in EXPORTED_TABLES:
            final = out_dir / f"{name}.parquet"
            tmp = out_dir / f".{name}.parquet.tmp"
            cols = ", ".join(f'"{c}"' for c in ALL_TABLES[name].columns)
            con.execute(f"COPY (SELECT {cols} FROM \"{name}\") TO '{tmp.as_posix()}' (FORMAT PARQUET)")
            os.replace(tmp, final)
            written.append(final)
    return written
