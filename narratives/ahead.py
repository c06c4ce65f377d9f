"""A small batch's own steps, done in a second process while `narratives run` imports Prefect.

A daily run adds a small batch to a large database. Before its flow starts, the command spends about two seconds
importing Prefect and the pipeline on one core. The other core is mostly idle meanwhile. The steps that need only
the batch and the stored articles can run there:
- ingest, the split against the stored articles, cleaning and claim extraction;
- the reprint search against the stored articles' signatures;
- the embedding of the texts the cache lacks, with the model loaded in that process.

A thread cannot do this: the batch's Python work would take the GIL from the imports. So the command forks a
process before any thread exists (:class:`BatchAhead`), and the flow takes the result (:func:`take`).

The child calls the same library functions on the same inputs as the flow's steps: the same input file, the same
configuration, and the database under the run's lock, which no other run can change. It reads the database
read-only, as the parent's read ahead of the state does meanwhile. The embedding gets the same vectors as in the
flow only from the same chunks: the flow computes its own list of texts to embed, and takes the child's vectors
only when that list is exactly the child's (:meth:`PreparedBatch.vectors_for`); otherwise it embeds them itself.

Runs that Prefect starts (``narratives serve``), runs with a Dask runner, first runs on an empty database and
batches larger than ``runner.ahead_max_records`` do every step in the flow.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import pandas as pd

from narratives.config import Config
from narratives.embed import NewVectors
from narratives.ingest import IngestResult

# seconds the flow waits for the child's result before it does the steps itself (the child's work is bounded by
# runner.ahead_max_records: about a second for a day's batch)
WAIT_SECONDS = 120.0
NICENESS = 10


@dataclass(frozen=True)
class PreparedBatch:
    """The results of the batch's own steps, as the flow's steps would compute them."""

    input_path: str
    db: str
    config: Config
    ingested: IngestResult
    quarantine_known: list[dict]  # records whose id the database holds with other content
    n_known: int  # records the database already holds
    cleaned: pd.DataFrame
    new_claims: pd.DataFrame
    reprints: pd.DataFrame
    signatures: pd.DataFrame
    todo: list[str]  # the texts the run embeds when every stored claim's text is cached (the usual case)
    vectors: NewVectors | None = None  # theirs, embedded in the flow's chunks

    def matches(self, input_path: str | Path, db: str | Path, config: Config) -> bool:
        return (self.input_path, self.db, self.config) == (_path(input_path), _path(db), config)

    def vectors_for(self, todo: list[str]) -> NewVectors | None:
        """The vectors of ``todo`` (the run's own list of texts to embed), only when it is the list this batch
        embedded: the same texts in the same order give the same chunks, hence the same vectors as the flow's
        embed step. None otherwise."""
        return self.vectors if todo and todo == self.todo else None


def _path(p: str | Path) -> str:
    return str(Path(p).resolve())


# the stored articles' columns the split against them and the reprint search read (not their texts as scraped)
_ARTICLE_COLUMNS = ("article_id", "content_hash", "outlet", "published_at", "clean_text")


def prepare_batch(input_path: str | Path, db: str | Path, cfg: Config, max_records: int,
                  database_done: Callable[[], None] | None = None) -> PreparedBatch | None:
    """The batch's own steps for a run of ``input_path`` on ``db`` (the flow's ingest, split-new, clean,
    extract-claims, find-reprints and embed steps); None when the input has more than ``max_records`` records.
    ``database_done`` is called once the database is no longer read."""
    from narratives import caches, chunks, store
    from narratives.claims import extract_claims
    from narratives.clean import clean_articles
    from narratives.embed import cache_key, embed_new, make_embedder, token_lengths, uncached_texts
    from narratives.ingest import holds_more_records, ingest, split_new
    from narratives.outlets import OutletAliases
    from narratives.schemas import ARTICLE_SIGNATURES, ARTICLES, CLAIMS, REPRINTS
    from narratives.syndication import update_reprints

    done = database_done or (lambda: None)
    try:
        if holds_more_records(input_path, cfg.ingest, max_records):
            return None
        ingested = ingest(input_path, cfg.ingest)
        stored = store.read_tables(db, [ARTICLES.name, REPRINTS.name, ARTICLE_SIGNATURES.name],
                                   columns={ARTICLES.name: _ARTICLE_COLUMNS})
        records, quarantine_known, n_known = split_new(ingested.records, stored[ARTICLES.name])
        cleaned = clean_articles(records, OutletAliases.load(cfg.ingest.outlet_aliases), unit=cfg.ingest.unit)
        new_claims = chunks.concat_frames([
            extract_claims(part, cfg.claims, unit=cfg.ingest.unit, strip=cfg.embed.strip_attribution)
            for part in chunks.split_rows(cleaned, cfg.runner.chunk_size)])
        new_articles = cleaned[list(_ARTICLE_COLUMNS)]
        reprints, signatures = update_reprints(stored[ARTICLES.name], new_articles, stored[REPRINTS.name],
                                               stored[ARTICLE_SIGNATURES.name], cfg.syndication)
        # what the flow embeds when every stored claim's text is cached (the usual case; else it embeds them itself)
        cache = caches.DuckDBEmbeddingCache(db, read_only=True)
        todo = uncached_texts(new_claims[CLAIMS.c.embed_text].tolist(), cache_key(cfg.embed), cache)
    finally:
        done()
    prepared = PreparedBatch(_path(input_path), _path(db), cfg, ingested, quarantine_known, n_known, cleaned,
                             new_claims, reprints, signatures, todo)
    if not todo:
        return prepared
    parts = chunks.embedding_chunks(todo, cfg.embed.batch_size, cfg.runner.chunk_size, token_lengths(todo, cfg.embed))
    # one batch at a time (the vectors do not depend on it: narratives/onnx_embed.py), leaving the other core to
    # the parent's imports
    embedder, key = make_embedder(cfg.embed.model_copy(update={"threads": 1})), cache_key(cfg.embed)
    vectors = NewVectors.concat([embed_new(part, embedder, key, cfg.embed.batch_size) for part in parts])
    return replace(prepared, vectors=vectors)


class BatchAhead:
    """:func:`prepare_batch` in a child process forked now (call it before the process starts any thread). The
    child reads the database read-only; :meth:`database_released` waits until it no longer does (before the
    parent opens the database read-write). :meth:`result` waits for its result."""

    def __init__(self, input_path: str | Path, db: str | Path, cfg: Config):
        self.pid: int | None = None
        self._result_fd = self._released_fd = -1
        result_r, result_w = os.pipe()
        released_r, released_w = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns (no cleanup of the parent's, e.g. its run lock, runs here)
            try:
                os.close(result_r)
                os.close(released_r)
                _child(parent, result_w, released_w, input_path, db, cfg)
            finally:
                os._exit(0)
        os.close(result_w)
        os.close(released_w)
        self.pid, self._result_fd, self._released_fd = pid, result_r, released_r

    def database_released(self) -> None:
        """Returns once the child no longer reads the database (or has ended)."""
        if self._released_fd >= 0:
            os.read(self._released_fd, 1)  # end of file when the child closes its end
            os.close(self._released_fd)
            self._released_fd = -1

    def result(self, timeout: float = WAIT_SECONDS) -> tuple[PreparedBatch | None, str]:
        """(the prepared batch or None, why not). Waits up to ``timeout`` seconds, then stops the child."""
        if self.pid is None:
            return None, "already taken"
        chunks, deadline = [], time.monotonic() + timeout
        try:
            while True:
                ready, _, _ = select.select([self._result_fd], [], [], max(deadline - time.monotonic(), 0.0))
                if not ready:
                    return None, f"not ready after {timeout:g} s"
                got = os.read(self._result_fd, 1 << 20)
                if not got:
                    break
                chunks.append(got)
        finally:
            self.close()
        if not chunks:
            return None, "the process ended without a result"
        status, value = pickle.loads(b"".join(chunks))
        if status != "ok":
            return None, value
        return value, "" if value is not None else "the batch is larger than runner.ahead_max_records"

    def close(self) -> None:
        """Stop the child (when still running) and reap it."""
        for fd in (self._result_fd, self._released_fd):
            if fd >= 0:
                os.close(fd)
        self._result_fd = self._released_fd = -1
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = None


def _child(parent: int, result_w: int, released_w: int, input_path: str | Path, db: str | Path, cfg: Config) -> None:
    from narratives import store

    _die_with(parent)
    os.nice(NICENESS)  # the parent's imports first where the two compete for a core
    store.close_inherited_locks()  # the run lock stays the parent's alone (a killed parent releases it at once)

    def released() -> None:
        os.close(released_w)

    try:
        payload = pickle.dumps(("ok", prepare_batch(input_path, db, cfg, cfg.runner.ahead_max_records, released)),
                               protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as err:  # noqa: BLE001 - the flow does the steps itself, and says why
        payload = pickle.dumps(("error", f"{type(err).__name__}: {err}"[:2000]))
    view = memoryview(payload)
    while view:
        view = view[os.write(result_w, view):]


def _die_with(parent: int) -> None:
    """The child is killed when the parent dies (Linux); it ends at once if the parent is already gone."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(0)


# ---- the batch this process prepares ahead for the run it starts next (`narratives run`) -------------------

_AHEAD: dict[tuple[str, str], BatchAhead] = {}


def start(input_path: str | Path, db: str | Path, cfg: Config) -> Callable[[], None] | None:
    """Fork a :class:`BatchAhead` for the run of ``input_path`` on ``db`` when it applies (an existing database,
    the local runner, ``runner.ahead_max_records`` > 0, a system with ``fork``); call it while this process has no
    thread yet. Returns what to wait for before the run opens the database read-write (None when nothing was
    started)."""
    if (cfg.runner.kind != "local" or cfg.runner.ahead_max_records < 1 or not Path(db).exists()
            or not hasattr(os, "fork")):
        return None
    ahead = BatchAhead(input_path, db, cfg)
    _AHEAD[(_path(input_path), _path(db))] = ahead
    return ahead.database_released


def take(input_path: str | Path, db: str | Path, cfg: Config) -> tuple[PreparedBatch | None, str]:
    """The batch prepared ahead for this run (once), or (None, why not): none was started, the child failed, or
    it was prepared for other settings."""
    ahead = _AHEAD.pop((_path(input_path), _path(db)), None)
    if ahead is None:
        return None, ""
    prepared, why = ahead.result()
    if prepared is not None and not prepared.matches(input_path, db, cfg):
        return None, "it was prepared with other settings"
    return prepared, why


def discard() -> None:
    """Stop every child not taken (the command's exit)."""
    while _AHEAD:
        _AHEAD.popitem()[1].close()
