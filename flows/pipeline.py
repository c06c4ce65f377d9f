"""The Prefect flow: each task calls one library function; the flow only connects them.

lock the database -> ingest -> (skip what the database already holds) -> clean -> claims -> reprints -> embed the
new texts (cached) -> cluster: full, incremental or unchanged (narratives/incremental.py) -> label -> track the
affected periods -> store (one transaction, with the runs row) -> Parquet export -> report.

Claim extraction and embedding are mapped over chunks (``runner.chunk_size``) through the flow's task runner: one
chunk after another in this process by default, or on a Dask cluster (flows/runners.py picks it from the config).
When `narratives run` prepared a small batch ahead in a forked process (narratives/ahead.py), the flow takes its
results (ingest to embedding) instead of running those steps.
"""

from __future__ import annotations

import gc
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import get_run_logger, task, unmapped
from functools import lru_cache, partial

from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.heartbeat import BeatingFlow, beating
from narratives import ahead
from narratives import assemble as assemble_mod
from narratives import caches
from narratives import chunks
from narratives import dynamics
from narratives import claims as claims_mod
from narratives import clean as clean_mod
from narratives import ingest as ingest_mod
from narratives import report as report_mod
from narratives import incremental
from narratives import store
from narratives.config import Config, EmbedConfig, load_config
from narratives.outlets import OutletAliases
from narratives.label import cached_term_counts
from narratives.embed import (NewVectors, cache_key, embed_new, embed_texts, fill_cache, make_embedder,
                              token_lengths, uncached_texts)
from narratives import schemas as S
from narratives.schemas import ARTICLES, CLAIMS
from narratives.syndication import link_copies, update_reprints
from narratives.track import changed_claims, update_timeseries


# Steps are not cached by Prefect (the database is the state between runs; hashing every step's inputs would
# cost seconds on large frames); only embedding is, by its inputs.
step = partial(task, cache_policy=NO_CACHE)


def _say(msg: str) -> None:
    get_run_logger().info(msg)


@step(name="start-run", retries=2, retry_delay_seconds=2)
def start_run_task(db: str, run_id: str, config_hash: str, input_path: str) -> None:
    store.start_run(db, run_id, config_hash, input_path)


@step(name="take-prepared-batch")
def prepared_task(input_path: str, db: str, cfg: Config) -> ahead.PreparedBatch | None:
    """The batch's own steps, done ahead by `narratives run` in a forked process (narratives/ahead.py); None
    when there are none (a served run, a first run, a large batch) or they cannot be used."""
    prepared, why = ahead.take(input_path, db, cfg)
    if why:
        _say(f"the batch prepared ahead is not used ({why}): the flow does its steps")
    elif prepared is not None:
        _say(f"the batch was prepared ahead: {prepared.ingested.n_read:,} records read, {len(prepared.cleaned):,} new "
             f"articles, {len(prepared.new_claims):,} claims, {len(prepared.todo):,} new texts embedded")
    return prepared


@step(name="ingest", retries=2, retry_delay_seconds=2)
def ingest_task(input_path: str, cfg: Config) -> ingest_mod.IngestResult:
    return ingest_mod.ingest(input_path, cfg.ingest)


@step(name="load-state", retries=2, retry_delay_seconds=2)
def load_state_task(db: str) -> store.State:
    return store.load_state(db)


@step(name="split-new")
def split_new_task(records: pd.DataFrame, existing: pd.DataFrame):
    return ingest_mod.split_new(records, existing)


@step(name="clean")
def clean_task(records: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    return clean_mod.clean_articles(records, OutletAliases.load(cfg.ingest.outlet_aliases), unit=cfg.ingest.unit)


@step(name="extract-claims")
def claims_task(articles: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Claims of one chunk of articles (mapped: runs where the task runner puts it)."""
    return claims_mod.extract_claims(articles, cfg.claims, unit=cfg.ingest.unit, strip=cfg.embed.strip_attribution)


@step(name="merge-claims")
def merge_claims_task(existing: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    return claims_mod.merge_claims(existing, new)


@step(name="find-reprints")
def reprints_task(state: store.State, new: pd.DataFrame, cfg: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(reprints of all articles, signature rows to store): only the new articles are fingerprinted."""
    return update_reprints(state.articles, new, state.reprints, state.signatures, cfg.syndication)


@step(name="link-copies")
def link_copies_task(claims: pd.DataFrame, reprints: pd.DataFrame) -> pd.DataFrame:
    return link_copies(claims, reprints)


# The claims' texts travel to tasks inside their DataFrame: Prefect walks list arguments item by item (to find
# futures in them), which costs about a second per 100k texts; a DataFrame it passes as one object.
def _texts(claims: pd.DataFrame) -> list[str]:
    return claims[CLAIMS.c.embed_text].tolist()


@step(name="hash-texts")
def hashes_task(claims: pd.DataFrame, state: store.State) -> np.ndarray:
    """The claims' text hashes, once per run: the embedding and term caches are keyed by them (the stored claims'
    come with the state when the CLI read them ahead)."""
    return caches.claim_text_hashes(claims, state)


@step(name="find-uncached", retries=2, retry_delay_seconds=2)
def uncached_task(claims: pd.DataFrame, hashes: np.ndarray, cfg: EmbedConfig, db: str,
                  known: caches.KnownVectors | None = None) -> list[str]:
    return uncached_texts(_texts(claims), cache_key(cfg), caches.DuckDBEmbeddingCache(db, known), hashes)


@task(
    name="embed", cache_policy=INPUTS + TASK_SOURCE, persist_result=True,
    cache_expiration=timedelta(days=7), retries=1,
)
def embed_task(texts: list[str], cfg: EmbedConfig) -> NewVectors:
    """Embeds one chunk of the texts the database cache lacks, one model call per batch (mapped; Prefect caches
    each chunk by its inputs). Batches are fixed before chunking, so the vectors do not depend on the chunking."""
    embedder = _embedder(cfg)
    _say(f"embedding {len(texts):,} new texts with {embedder.name}")
    return embed_new(texts, embedder, cache_key(cfg), cfg.batch_size)


@step(name="load-model")
def load_model_task(cfg: EmbedConfig) -> None:
    """Loads the embedding model into this process ahead of the embed step (submitted to the task runner while the
    flow goes on). Best effort: a model that fails to load here is loaded again by the embed step, which stops the
    run with the loader's own message when there is something to embed, and a run with nothing to embed does not
    need it."""
    try:
        _embedder(cfg).load()
    except Exception as err:  # noqa: BLE001 - reported by the embed step, where the model is needed
        _say(f"the embedding model did not load ahead of the embed step ({type(err).__name__}: {err})")


@lru_cache(maxsize=1)
def _embedder(cfg: EmbedConfig):
    """One loaded model per process (a Dask worker embeds many chunks)."""
    return make_embedder(cfg)


@step(name="fill-embedding-cache", retries=2, retry_delay_seconds=2)
def fill_cache_task(new: NewVectors, db: str) -> None:
    fill_cache(new, caches.DuckDBEmbeddingCache(db))


@step(name="load-vectors", retries=2, retry_delay_seconds=2)
def vectors_task(claims: pd.DataFrame, hashes: np.ndarray, cfg: EmbedConfig, db: str,
                 known: caches.KnownVectors | None = None, new: NewVectors | None = None) -> np.ndarray:
    return embed_texts(_texts(claims), make_embedder(cfg), caches.DuckDBEmbeddingCache(db, known, new),
                       cfg.batch_size, hashes=hashes)[0]


@step(name="choose-mode")
def choose_mode_task(claims: pd.DataFrame, state: store.State, cfg: Config, force_full: bool) -> str:
    n_prev = len(state.claims)
    share = float(state.claims[CLAIMS.c.narrative_id].isna().mean()) if n_prev else 0.0
    return incremental.choose_mode(len(claims) - n_prev, len(state.narratives), share, state.runs_since_full,
                                   cfg.update, force_full)


@step(name="cluster")
def cluster_task(X: np.ndarray, claims: pd.DataFrame, state: store.State, mode: str, cfg: Config) -> incremental.Partition:
    """Clusters the claims that are not copies of an original claim (reprints are clustered once)."""
    unique = assemble_mod.unique_mask(claims)
    prev_theme_of = dict(zip(state.narratives[S.NARRATIVES.c.narrative_id], state.narratives[S.NARRATIVES.c.theme_id]))
    return incremental.update(
        X[unique], assemble_mod.previous_ids(claims, state.claims), mode, cfg.cluster, cfg.update,
        state.next_narrative_id, {int(k): int(v) for k, v in prev_theme_of.items() if pd.notna(v)}, on_progress=_say)


@step(name="count-terms", retries=2, retry_delay_seconds=2)
def term_counts_task(claims: pd.DataFrame, hashes: np.ndarray, db: str):
    """Term counts of every claim, shared by the keywords (label) and the wording drift (dynamics); only texts
    the database's term cache lacks are tokenised."""
    return cached_term_counts(_texts(claims), hashes, caches.DuckDBTermCache(db))


@step(name="label")
def assemble_task(claims: pd.DataFrame, X: np.ndarray, part: incremental.Partition, cfg: Config, run_id: str,
                  previous: pd.DataFrame, counted, stored: pd.DataFrame) -> assemble_mod.Assembled:
    return assemble_mod.assemble(claims, X, part, cfg.label, run_id, previous, counted, stored)


@step(name="changed-claims")
def changed_task(claims: pd.DataFrame, stored: pd.DataFrame) -> pd.Series:
    return changed_claims(claims, stored)


@step(name="track")
def track_task(previous: pd.DataFrame, claims: pd.DataFrame, changed: pd.Series, cfg: Config) -> pd.DataFrame:
    return update_timeseries(previous, claims, changed, cfg.track.grains)


@step(name="outlets")
def outlets_task(claims: pd.DataFrame) -> pd.DataFrame:
    return dynamics.narrative_outlets(claims)


@step(name="dynamics")
def dynamics_task(claims: pd.DataFrame, X: np.ndarray, outlets: pd.DataFrame, state: store.State,
                  changed: pd.Series, counted) -> dict[str, pd.DataFrame]:
    previous = {S.NARRATIVE_SPREAD.name: state.spread, S.NARRATIVE_BURSTS.name: state.bursts,
                S.NARRATIVE_DRIFT.name: state.drift}
    return dynamics.update_dynamics(claims, X, outlets, state.claims, previous, changed, counted)


@step(name="store", retries=2, retry_delay_seconds=2)
def store_task(db: str, run_id: str, new_articles: pd.DataFrame, quarantine: list[dict],
               replaced: dict[str, pd.DataFrame], lineage: pd.DataFrame, counts: dict, signatures: pd.DataFrame,
               stored_claims: pd.DataFrame) -> dict:
    return store.commit_results(db, run_id, new_articles, quarantine, replaced, lineage, counts, signatures,
                                stored_claims)


@step(name="export-parquet", retries=2, retry_delay_seconds=2)
def export_task(db: str, tables_dir: str) -> list[Path]:
    return store.export_parquet(db, tables_dir)


@step(name="report", retries=1)
def report_task(db: str, path: str, written: dict | None = None) -> Path:
    return report_mod.write_report_from_db(db, path, written=written)


@step(name="finish-run", retries=2, retry_delay_seconds=2)
def finish_run_task(db: str, run_id: str, status: str, counts: dict | None = None, error: str | None = None) -> None:
    store.finish_run(db, run_id, status, counts, error)


class PlainParametersFlow(BeatingFlow):
    """Prefect's ``Flow`` (its heartbeats sent as flows/heartbeat.py says), whose run parameters go to the API as
    they are when they are plain JSON values (the flow's are: paths, a unit, a flag, seconds). Prefect's own
    ``serialize_parameters`` passes every value through FastAPI's ``jsonable_encoder``, which returns such values
    unchanged but imports FastAPI (0.1-0.25 s of every `narratives run`, where nothing else needs it); any other
    value still goes through Prefect's."""

    def serialize_parameters(self, parameters: dict) -> dict:
        if all(v is None or type(v) in (str, int, float, bool) for v in parameters.values()):
            return dict(parameters)
        return super().serialize_parameters(parameters)


def _flow(**options):
    """``@flow(**options)`` making a :class:`PlainParametersFlow`."""
    return lambda fn: PlainParametersFlow(fn, **options)


# Locally the chunks run one after another (the model already uses every core; each thread would hold a copy).
@_flow(name="narratives-run", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=1))
def narratives_flow(
    input_path: str,
    config_path: str | None = None,
    db: str | None = None,
    report: str | None = None,
    tables_dir: str | None = None,
    unit: str | None = None,
    recluster: bool = False,
    wait_seconds: float = 0.0,
) -> dict:
    """Run the pipeline once over ``input_path`` (only what the database does not hold yet is processed) and
    return the run summary. ``recluster`` forces a full re-fit; ``wait_seconds`` queues behind a running run."""
    cfg = load_config(config_path)
    if unit:
        cfg = cfg.with_overrides(ingest={"unit": unit})
    db = db or cfg.output.db
    report = report or cfg.output.report
    tables_dir = tables_dir or cfg.output.tables_dir
    run_id = store.new_run_id()
    with beating(), store.run_lock(db, wait_seconds), _fewer_collections():
        start_run_task(db, run_id, cfg.config_hash(), str(input_path))
        exporting = None
        try:
            with ExitStack() as tail:  # the commit, export and report hold the database open (store.held_open)
                summary, written = _run(run_id, input_path, cfg, db, recluster, tail)
                # The Parquet export (DuckDB's own threads, the GIL released) runs in the task runner's thread
                # while the report (Python) is built here: both only read the committed database. A failed
                # export still fails the run, after the report.
                exporting = export_task.submit(db, tables_dir) if _in_process_runner() else None
                report_path = report_task(db, report, written)  # the tables the commit wrote, from memory
                exporting.result() if exporting else export_task(db, tables_dir)
        except BaseException as err:
            if exporting is not None:  # its read-only connection closed before the runs row is written
                exporting.wait()
            finish_run_task(db, run_id, "failed", error=f"{type(err).__name__}: {err}"[:2000])
            raise
    return {"run_id": run_id, "db": str(db), "tables_dir": str(tables_dir), "report": str(report_path), **summary}


def _in_process_runner() -> bool:
    """True when the flow's task runner runs tasks in this process (threads), so a submitted step that reads or
    writes local files (the database, the Parquet folder) does it here and not on a remote worker."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return ctx is not None and isinstance(ctx.task_runner, ThreadPoolTaskRunner)


@contextmanager
def _fewer_collections():
    """Python's cyclic garbage collector, tuned for the run and restored after it: the objects alive at its start
    (Prefect, the libraries) are frozen out of the collections, and a young-generation collection waits for
    100,000 new container objects instead of 700. The steps build millions of short-lived lists, dicts and
    tuples (report items, term lists), and each full collection walked everything alive: a third of the report's
    time on a 30k-claim database. Memory is still freed by reference counting as soon as an object is unused."""
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def _run(run_id: str, input_path: str, cfg: Config, db: str, recluster: bool, tail: ExitStack) -> tuple[dict, dict]:
    """The steps between ingest and the one-transaction commit (the flow's body): the run's summary and the tables
    the commit replaced, as written. The database is held open from the commit until ``tail`` closes
    (store.held_open: its checkpoint runs beside the export and the report)."""
    prepared = prepared_task(input_path, db, cfg)  # the batch's own steps, when the CLI did them ahead
    size = cfg.runner.chunk_size
    if prepared is None:
        ingested = ingest_task(input_path, cfg)
        state = load_state_task(db)
        records, q_known, n_known = split_new_task(ingested.records, state.articles)
        cleaned = clean_task(records, cfg)
        new_claims = chunks.concat_frames(claims_task.map(chunks.split_rows(cleaned, size), cfg=unmapped(cfg)).result())
        new_articles = cleaned.assign(run_id=run_id)[ARTICLES.columns]
        loading = load_model_task.submit(cfg.embed) if len(new_claims) else None  # new claims: likely new texts
        reprints, signatures = reprints_task(state, new_articles, cfg)
    else:  # (its new texts were embedded there too: no model to load here)
        ingested, state = prepared.ingested, load_state_task(db)
        q_known, n_known = prepared.quarantine_known, prepared.n_known
        cleaned, new_claims = prepared.cleaned, prepared.new_claims
        new_articles = cleaned.assign(run_id=run_id)[ARTICLES.columns]
        loading, reprints, signatures = None, prepared.reprints, prepared.signatures
    quarantine = ingested.quarantine + q_known
    claims = link_copies_task(merge_claims_task(state.claims, new_claims), reprints)
    known = state.known_vectors  # the stored claims' text hashes and cached vectors, when the CLI read them ahead
    hashes = hashes_task(claims, state)
    todo = uncached_task(claims, hashes, cfg.embed, db, known)
    new = prepared.vectors_for(todo) if prepared is not None and todo else None  # the same chunks: the same vectors
    parts = [] if new is not None or not todo else chunks.embedding_chunks(
        todo, cfg.embed.batch_size, size, token_lengths(todo, cfg.embed))
    # The new texts are embedded in the task runner's threads (the model's own threads, the GIL released) while
    # the terms are counted here.
    embedding = embed_task.map(parts, cfg=unmapped(cfg.embed), wait_for=[loading] if loading else None) if parts else None
    counted = term_counts_task(claims, hashes, db)
    if embedding is not None:
        new = NewVectors.concat(embedding.result())
    # The new vectors are written to the cache in the task runner's thread (DuckDB, the GIL released) while the run
    # goes on with them in memory; the commit waits for that write, and so does a failed run's runs row (tail).
    filling = None
    if new is not None and _in_process_runner():
        filling = fill_cache_task.submit(new, db)
        tail.callback(filling.wait)
    elif new is not None:
        fill_cache_task(new, db)
    X = vectors_task(claims, hashes, cfg.embed, db, known, new)
    mode = choose_mode_task(claims, state, cfg, recluster)
    part = cluster_task(X, claims, state, mode, cfg)
    result = assemble_task(claims, X, part, cfg, run_id, state.narratives, counted, state.claims)
    changed = changed_task(result.claims, state.claims)
    outlets = outlets_task(result.claims)
    events = part.lineage
    counts = {
        "n_input_records": ingested.n_read,
        "n_new_articles": len(new_articles),
        "n_articles": len(state.articles) + len(new_articles),
        "n_claims": len(result.claims),
        "n_new_claims": len(result.claims) - len(state.claims),
        "n_narratives": len(result.narratives),
        "n_themes": len(result.themes),
        "n_unassigned": int(result.claims[CLAIMS.c.narrative_id].isna().sum()),
        "n_undated": int(result.claims[CLAIMS.c.published_at].isna().sum()),
        "n_quarantined": len(quarantine),
        "n_embedded": len(todo),
        "n_reprints": len(reprints),
        "mode": mode,
        "n_assigned_existing": part.n_assigned_existing,
        "n_new_narratives": int(events["event"].isin(["birth", "split"]).sum()),
        "n_ended_narratives": int(events["event"].isin(["merge", "death"]).sum()),
    }
    timeseries = track_task(state.timeseries, result.claims, changed, cfg)
    dyn = dynamics_task(result.claims, X, outlets, state, changed, counted)
    if filling is not None:
        filling.result()  # (a failed cache write fails the run, as before)
    tail.enter_context(store.held_open(db))
    written = store_task(db, run_id, new_articles, quarantine, {
        S.CLAIMS.name: result.claims, S.REPRINTS.name: reprints, S.NARRATIVES.name: result.narratives,
        S.THEMES.name: result.themes, S.NARRATIVE_TIMESERIES.name: timeseries, S.NARRATIVE_OUTLETS.name: outlets,
        **dyn}, events, counts, signatures, state.claims)
    if loading is not None:  # done long ago when there was something to embed
        loading.wait()
    return {"n_duplicates_skipped": ingested.n_duplicates + n_known, "n_changed_claims": int(changed.sum()),
            **counts}, written
