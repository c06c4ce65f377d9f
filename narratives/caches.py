"""The caches in the project's own database: embeddings by (model, text hash) and term lists by (tokenizer, text
hash), so a run embeds and tokenises only texts no earlier run did. Both are written outside a run's results
transaction: a row is valid whatever happens to the run that wrote it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from narratives.embed import NewVectors
from narratives.errors import NarrativesError
from narratives.schemas import CLAIMS, EMBEDDING_CACHE, TERM_CACHE, TERM_VOCAB
from narratives.store import State, connect


def _wanted(hashes: Sequence[str]) -> pa.Table:
    """The hashes a cache is asked for, with their positions (``i``): joined to a cache table by ``text_hash``."""
    return pa.table({"i": pa.array(np.arange(len(hashes), dtype=np.int64)), "text_hash": pa.array(list(hashes), pa.string())})


@dataclass(frozen=True)
class KnownVectors:
    """The text hashes of a run's stored claims and what the embedding cache held for them under ``model`` when
    read ahead: ``vectors`` (zeros where not ``found``). Still true later in the run: the cache only ever adds rows."""

    model: str
    hashes: np.ndarray  # object array, one text hash per stored claim
    vectors: np.ndarray  # float32, one row per stored claim
    found: np.ndarray  # bool, one per stored claim


def with_known_vectors(state: State, db_path: str | Path, model: str) -> State:
    """``state`` with its claims' :class:`KnownVectors` under ``model`` (``store.reserved_run``'s read ahead). The
    hashes (``text_hash``: the first 32 hex digits of the SHA-256 of the UTF-8 text) are computed and joined to the
    cache inside DuckDB, which does it without holding the GIL. Unchanged when the claims read back are not
    ``state.claims`` in order, or the cache holds none of them."""
    if not len(state.claims) or not Path(db_path).exists():
        return state
    with connect(db_path, read_only=True) as con:
        got = con.execute(
            f'WITH c AS (SELECT rowid AS r, claim_id, left(sha256(embed_text), 32) AS h FROM "{CLAIMS.name}") '
            f'SELECT c.claim_id, c.h, e.embedding FROM c LEFT JOIN "{EMBEDDING_CACHE.name}" e '
            "ON e.model = ? AND e.text_hash = c.h ORDER BY c.r", [model]).to_arrow_table()
    ids = state.claims[CLAIMS.c.claim_id]
    if got.num_rows != len(ids) or got.column("h").null_count or not got.column("claim_id").combine_chunks().equals(
            pa.array(ids.to_numpy(dtype=object), pa.string())):
        return state
    found = got.column("embedding").is_valid().to_numpy(zero_copy_only=False)
    if not found.any():
        return state
    return replace(state, known_vectors=KnownVectors(model, got.column("h").to_numpy(zero_copy_only=False),
                                                     _matrix(len(found), np.flatnonzero(found), got.column("embedding")),
                                                     found))


def _matrix(n: int, at: np.ndarray, vectors: pa.ChunkedArray) -> np.ndarray:
    """``n`` float32 rows: row ``at[j]`` the j-th of ``vectors`` (a list column; its nulls are skipped), zeros
    elsewhere. When ``at`` is every row in order the result is the column's own buffer, read-only (no copy of
    hundreds of MB)."""
    flat = vectors.combine_chunks().flatten().to_numpy(zero_copy_only=False)
    if len(at) == n and np.array_equal(at, np.arange(n)):
        return flat.reshape(n, -1)
    M = np.zeros((n, len(flat) // len(at)), dtype=np.float32)
    M[at] = flat.reshape(len(at), -1)
    return M


def claim_text_hashes(claims: pd.DataFrame, state: State) -> np.ndarray:
    """:func:`narratives.embed.text_hashes` of ``claims.embed_text``; for the stored claims the run starts with (in
    order, texts unchanged) the hashes read ahead with ``state`` are taken, only the others are computed."""
    from narratives.embed import text_hashes

    known, n, col = state.known_vectors, len(state.claims), CLAIMS.c.embed_text
    if known is None or len(claims) < n or not claims[col].iloc[:n].reset_index(drop=True).equals(
            state.claims[col].reset_index(drop=True)):
        return text_hashes(claims[col].tolist())
    return np.concatenate([known.hashes, text_hashes(claims[col].iloc[n:].tolist())])


class DuckDBEmbeddingCache:
    """Embeddings by (model, text hash) in the project's own database. ``known``: vectors read ahead (a run's
    stored claims'): those found are not looked up again; ``new``: vectors the run just embedded (in memory while
    they are written to the cache). ``read_only``: reads open the database read-only (a process beside the run:
    narratives/ahead.py)."""

    def __init__(self, db_path: str | Path, known: KnownVectors | None = None, new: NewVectors | None = None,
                 read_only: bool = False):
        self.db_path = db_path
        self.known = known
        self.new = new
        self.read_only = read_only

    def _rows(self, model: str, hashes: Sequence[str], columns: str, ordered: bool = True) -> pa.Table | None:
        """``columns`` of the cache rows of ``model`` joined to ``hashes`` (``w.i``: the position in ``hashes``),
        in the order of ``hashes`` unless not ``ordered`` (None: nothing to ask)."""
        if not len(hashes) or not Path(self.db_path).exists():
            return None
        with connect(self.db_path, read_only=self.read_only) as con:
            con.register("_want", _wanted(hashes))
            return con.execute(f'SELECT {columns} FROM _want w JOIN "{EMBEDDING_CACHE.name}" c USING (text_hash) '
                               "WHERE c.model = ?" + (" ORDER BY w.i" if ordered else ""), [model]).to_arrow_table()

    def rows(self, model: str, hashes: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray]:
        """The vectors of ``hashes`` as one float32 matrix in their order (zeros where the cache has none; None
        when it has none of them) and the mask of those it has: one join, no per-row objects. When it has them
        all the matrix is the query's own buffer, read-only (no copy of hundreds of MB). When ``hashes`` start
        with the ``known`` ones, those found are taken from there (also for later hashes equal to a found one),
        then those among the ``new`` vectors (just embedded, perhaps not stored yet), and only the others are
        looked up."""
        k = self.known
        n = 0 if k is None or k.model != model else len(k.hashes)
        M, found = None, np.zeros(len(hashes), dtype=bool)
        if n and len(hashes) >= n and np.array_equal(np.asarray(hashes[:n], dtype=object), k.hashes):
            found[:n] = k.found
            M = np.zeros((len(hashes), k.vectors.shape[1]), dtype=np.float32)
            M[:n] = k.vectors
        if n and M is not None and not found.all():  # later rows with a text a stored claim has (copies, repeats)
            row_of = dict(zip(k.hashes[k.found].tolist(), np.flatnonzero(k.found).tolist()))
            hit = [(i, row_of[hashes[i]]) for i in np.flatnonzero(~found).tolist() if hashes[i] in row_of]
            if hit:
                at, src = map(list, zip(*hit))
                M[at] = k.vectors[src]
                found[at] = True
        fresh = self.new.by_hash() if self.new is not None and self.new.model == model and len(self.new.hashes) else {}
        if fresh:
            hit = [i for i in np.flatnonzero(~found).tolist() if hashes[i] in fresh]
            if hit:
                if M is None:
                    M = np.zeros((len(hashes), self.new.vectors.shape[1]), dtype=np.float32)
                M[hit] = np.stack([fresh[hashes[i]] for i in hit])
                found[hit] = True
        if M is None:
            return self._read_rows(model, hashes)
        ask = np.flatnonzero(~found)
        got, got_found = self._read_rows(model, [hashes[i] for i in ask.tolist()])
        if got is not None:
            M[ask[got_found]] = got[got_found]
            found[ask[got_found]] = True
        return M, found

    def _read_rows(self, model: str, hashes: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray]:
        found = np.zeros(len(hashes), dtype=bool)
        got = self._rows(model, hashes, "w.i, c.embedding")
        if got is None or not len(got):
            return None, found
        at = got.column("i").to_numpy()
        found[at] = True
        return _matrix(len(hashes), at, got.column("embedding")), found

    def get(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """{hash: vector} for the hashes among ``hashes`` that the cache holds for ``model``."""
        M, found = self.rows(model, hashes)
        return {} if M is None else {h: M[i] for i, h in enumerate(hashes) if found[i]}

    def has(self, model: str, hashes: Sequence[str]) -> set[str]:
        """The hashes among ``hashes`` that the cache holds for ``model`` (no vectors are read; the ``known`` ones
        found are not looked up)."""
        k = self.known
        held = set(k.hashes[k.found].tolist()) if k is not None and k.model == model else set()
        have = {h for h in hashes if h in held}
        ask = [h for h in hashes if h not in have] if have else list(hashes)
        rows = self._rows(model, ask, "w.i", ordered=False)  # positions: no strings come back
        return have if rows is None else have | {ask[i] for i in rows.column("i").to_numpy().tolist()}

    def put(self, model: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        if not len(hashes):
            return
        vecs = np.asarray(vectors, dtype=np.float32)
        tbl = pa.table({
            "model": pa.array([model] * len(hashes), pa.string()),
            "text_hash": pa.array(list(hashes), pa.string()),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel()), vecs.shape[1]).cast(pa.list_(pa.float32())),
        })
        with connect(self.db_path) as con:
            con.register("_new", tbl)
            con.execute(
                f'INSERT INTO "{EMBEDDING_CACHE.name}" SELECT n.* FROM _new n ANTI JOIN "{EMBEDDING_CACHE.name}" c '
                "ON c.model = n.model AND c.text_hash = n.text_hash")


def _fill(flat: np.ndarray, lens: np.ndarray, at: np.ndarray, flat_at: np.ndarray, lens_at: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """Ragged rows (``flat`` items, ``lens`` per row, -1 for a row with none) with the rows ``at`` (which have
    none) given ``flat_at``/``lens_at``: the same arrays as reading all rows at once."""
    old = np.clip(lens, 0, None)
    src = np.concatenate([[0], np.cumsum(old)[:-1]])  # where each row starts in flat
    src[at] = len(flat) + np.concatenate([[0], np.cumsum(np.clip(lens_at, 0, None))[:-1]])
    lens = lens.copy()
    lens[at] = lens_at
    size = np.clip(lens, 0, None)
    dst = np.concatenate([[0], np.cumsum(size)[:-1]])
    take = np.repeat(src - dst, size) + np.arange(int(size.sum()))
    return np.concatenate([flat, flat_at])[take], lens


class DuckDBTermCache:
    """Term lists by (tokenizer version, text hash) in the project's own database, as ids into ``term_vocab``
    (narratives/label.py ``cached_term_counts``). One connection per call."""

    def __init__(self, db_path: str | Path):
        self.db_path = db_path

    def term_ids(self, version: str, hashes: Sequence[str], terms_of: Callable[[list[int]], list[list[str]]]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """See narratives/label.py ``TermCache``: one connection, which also stores the texts the cache lacks."""
        with connect(self.db_path) as con:
            con.register("_want", _wanted(hashes))
            flat, lens = self._read(con, version, len(hashes))
            missing = np.flatnonzero(lens < 0)
            if len(missing):
                first: dict[str, int] = {}
                for i in missing.tolist():
                    first.setdefault(hashes[i], i)
                self._put(con, version, list(first), terms_of(list(first.values())))
                con.register("_want", _wanted([hashes[i] for i in missing.tolist()]))  # only those read again
                flat, lens = _fill(flat, lens, missing, *self._read(con, version, len(missing)))
            # byte order, the order of Python's sorted() for the ASCII terms of narratives/label.py
            got = con.execute(f'SELECT term_id, term FROM "{TERM_VOCAB.name}" ORDER BY term').to_arrow_table()
        return (flat, lens, got.column("term_id").to_numpy(),
                got.column("term").to_numpy(zero_copy_only=False).astype(object))

    @staticmethod
    def _read(con: duckdb.DuckDBPyConnection, version: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        got = con.execute(f'SELECT w.i, c.term_ids FROM _want w JOIN "{TERM_CACHE.name}" c USING (text_hash) '
                          "WHERE c.tokenizer = ? ORDER BY w.i", [version]).to_arrow_table()
        lists = got.column("term_ids").combine_chunks()
        lens = np.full(n, -1, dtype=np.int64)
        lens[got.column("i").to_numpy()] = np.diff(lists.offsets.to_numpy())
        return lists.flatten().to_numpy(zero_copy_only=False).astype(np.int64, copy=False), lens

    @staticmethod
    def _put(con: duckdb.DuckDBPyConnection, version: str, hashes: list[str], terms: list[list[str]]) -> None:
        """Store the term lists of ``hashes`` in one transaction: new terms get the next ids, then the lists."""
        flat = [t for ts in terms for t in ts]
        distinct = list(dict.fromkeys(flat))
        con.execute("BEGIN TRANSACTION")
        try:
            con.register("_terms", pa.table({"term": pa.array(distinct, pa.string()),
                                             "k": pa.array(np.arange(len(distinct), dtype=np.int64))}))
            top = con.execute(f'SELECT coalesce(max(term_id), -1) FROM "{TERM_VOCAB.name}"').fetchone()[0]
            con.execute(  # new terms get the next ids, in order of first appearance
                f'INSERT INTO "{TERM_VOCAB.name}" SELECT ? + row_number() OVER (ORDER BY n.k), n.term FROM _terms n '
                f'WHERE NOT EXISTS (SELECT 1 FROM "{TERM_VOCAB.name}" v WHERE v.term = n.term)', [top])
            con.register("_flat", pa.table({"term": pa.array(flat, pa.string()),
                                            "k": pa.array(np.arange(len(flat), dtype=np.int64))}))
            ids = con.execute(f'SELECT v.term_id FROM _flat f JOIN "{TERM_VOCAB.name}" v USING (term) '
                              "ORDER BY f.k").fetchnumpy()["term_id"]
            if len(ids) != len(flat):  # one id per term occurrence, or the vocabulary holds a term twice
                raise NarrativesError(f"table {TERM_VOCAB.name} is inconsistent ({len(ids)} ids for {len(flat)} "
                                      f"terms); delete its rows and those of {TERM_CACHE.name}, a run rebuilds them")
            offsets = np.concatenate([[0], np.cumsum([len(ts) for ts in terms])]).astype(np.int32)
            con.register("_new", pa.table({
                "tokenizer": pa.array([version] * len(hashes), pa.string()),
                "text_hash": pa.array(hashes, pa.string()),
                "term_ids": pa.ListArray.from_arrays(pa.array(offsets), pa.array(np.asarray(ids, dtype=np.int64)))}))
            con.execute(f'INSERT INTO "{TERM_CACHE.name}" SELECT n.* FROM _new n ANTI JOIN "{TERM_CACHE.name}" c '
                        "ON c.tokenizer = n.tokenizer AND c.text_hash = n.text_hash")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
