"""The Prefect flow: each task calls one library function; the flow only connects them.

ingest -> (skip what the database already holds) -> clean -> claims -> embed (cached) -> UMAP + HDBSCAN
-> label -> track -> store (one transaction) -> Parquet export -> report.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import INPUTS, TASK_SOURCE

from narratives import assemble as assemble_mod
from narratives import dynamics
from narratives import claims as claims_mod
from narratives import clean as clean_mod
from narratives import ingest as ingest_mod
from narratives import report as report_mod
from narratives import store
from narratives.cluster import NarrativeClusterer
from narratives.config import ClusterConfig, Config, EmbedConfig, load_config
from narratives.outlets import OutletAliases
from narratives.embed import count_uncached, embed_texts, fill_cache, make_embedder
from narratives import schemas as S
from narratives.schemas import ARTICLES, CLAIMS
from narratives.syndication import find_reprints, link_copies
from narratives.track import narrative_timeseries


def _say(msg: str) -> None:
    get_run_logger().info(msg)


@task(name="start-run", retries=2, retry_delay_seconds=2)
def start_run_task(db: str, run_id: str, config_hash: str, input_path: str) -> None:
    store.start_run(db, run_id, config_hash, input_path)


@task(name="ingest", retries=2, retry_delay_seconds=2)
def ingest_task(input_path: str, cfg: Config) -> ingest_mod.IngestResult:
    return ingest_mod.ingest(input_path, cfg.ingest)


@task(name="load-state", retries=2, retry_delay_seconds=2)
def load_state_task(db: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    return store.load_state(db)


@task(name="split-new")
def split_new_task(records: pd.DataFrame, existing: pd.DataFrame):
    return ingest_mod.split_new(records, existing)


@task(name="clean")
def clean_task(records: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    return clean_mod.clean_articles(records, OutletAliases.load(cfg.ingest.outlet_aliases), unit=cfg.ingest.unit)


@task(name="extract-claims")
def claims_task(articles: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    return claims_mod.extract_claims(articles, cfg.claims, unit=cfg.ingest.unit, strip=cfg.embed.strip_attribution)


@task(name="merge-claims")
def merge_claims_task(existing: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    return claims_mod.merge_claims(existing, new)


@task(name="find-reprints")
def reprints_task(existing: pd.DataFrame, new: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    return find_reprints(pd.concat([existing, new], ignore_index=True), cfg.syndication)


@task(name="link-copies")
def link_copies_task(claims: pd.DataFrame, reprints: pd.DataFrame) -> pd.DataFrame:
    return link_copies(claims, reprints)


@task(
    name="embed", cache_policy=(INPUTS - "db") + TASK_SOURCE, persist_result=True,
    cache_expiration=timedelta(days=7), retries=1,
)
def embed_task(texts: list[str], cfg: EmbedConfig, db: str) -> np.ndarray:
    return embed_texts(
        texts, make_embedder(cfg), store.DuckDBEmbeddingCache(db), cfg.batch_size,
        progress=len(texts) > 256, on_progress=_say,
    )[0]


@task(name="fill-embedding-cache", retries=2, retry_delay_seconds=2)
def fill_cache_task(texts: list[str], X: np.ndarray, cfg: EmbedConfig, db: str) -> None:
    fill_cache(texts, X, cfg.model, store.DuckDBEmbeddingCache(db))


@task(name="count-uncached", retries=2, retry_delay_seconds=2)
def count_uncached_task(texts: list[str], cfg: EmbedConfig, db: str) -> int:
    return count_uncached(texts, cfg.model, store.DuckDBEmbeddingCache(db))


@task(name="cluster")
def cluster_task(X: np.ndarray, claims: pd.DataFrame, cfg: ClusterConfig) -> NarrativeClusterer:
    """Clusters the claims that are not copies of an original claim (reprints are clustered once)."""
    return NarrativeClusterer(cfg).fit(X[assemble_mod.unique_mask(claims)], on_progress=_say)


@task(name="label")
def assemble_task(claims: pd.DataFrame, X: np.ndarray, fit: NarrativeClusterer, cfg: Config) -> assemble_mod.Assembled:
    return assemble_mod.assemble(claims, X, fit, cfg.label)


@task(name="track")
def track_task(claims: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    return narrative_timeseries(claims, cfg.track.grains)


@task(name="outlets")
def outlets_task(claims: pd.DataFrame) -> pd.DataFrame:
    return dynamics.narrative_outlets(claims)


@task(name="spread")
def spread_task(outlets: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    return dynamics.narrative_spread(outlets, claims)


@task(name="bursts")
def bursts_task(claims: pd.DataFrame) -> pd.DataFrame:
    return dynamics.narrative_bursts(claims)


@task(name="drift")
def drift_task(claims: pd.DataFrame, X: np.ndarray) -> pd.DataFrame:
    return dynamics.narrative_drift(claims, X)


@task(name="store", retries=2, retry_delay_seconds=2)
def store_task(db: str, run_id: str, new_articles: pd.DataFrame, quarantine: list[dict],
               replaced: dict[str, pd.DataFrame]) -> None:
    store.commit_results(db, run_id, new_articles, quarantine, replaced)


@task(name="export-parquet", retries=2, retry_delay_seconds=2)
def export_task(db: str, tables_dir: str) -> list[Path]:
    return store.export_parquet(db, tables_dir)


@task(name="report", retries=1)
def report_task(db: str, path: str) -> Path:
    return report_mod.write_report(store.read_tables(db), path)


@task(name="finish-run", retries=2, retry_delay_seconds=2)
def finish_run_task(db: str, run_id: str, status: str, counts: dict | None = None, error: str | None = None) -> None:
    store.finish_run(db, run_id, status, counts, error)


@flow(name="narratives-run", log_prints=True)
def narratives_flow(
    input_path: str,
    config_path: str | None = None,
    db: str | None = None,
    report: str | None = None,
    tables_dir: str | None = None,
    unit: str | None = None,
) -> dict:
    """Run the whole pipeline once over ``input_path`` and return the run summary."""
    cfg = load_config(config_path)
    if unit:
        cfg = cfg.with_overrides(ingest={"unit": unit})
    db = db or cfg.output.db
    report = report or cfg.output.report
    tables_dir = tables_dir or cfg.output.tables_dir
    run_id = store.new_run_id()
    start_run_task(db, run_id, cfg.config_hash(), str(input_path))
    try:
        ingested = ingest_task(input_path, cfg)
        existing_articles, existing_claims = load_state_task(db)
        records, q_known, n_known = split_new_task(ingested.records, existing_articles)
        quarantine = ingested.quarantine + q_known
        cleaned = clean_task(records, cfg)
        new_articles = cleaned.assign(run_id=run_id)[ARTICLES.columns]
        new_claims = claims_task(cleaned, cfg)
        reprints = reprints_task(existing_articles, new_articles, cfg)
        claims = link_copies_task(merge_claims_task(existing_claims, new_claims), reprints)
        texts = claims[CLAIMS.c.embed_text].tolist()
        n_embedded = count_uncached_task(texts, cfg.embed, db)
        X = embed_task(texts, cfg.embed, db)
        if n_embedded:  # the vectors may have come from Prefect's task cache: keep the database cache whole
            fill_cache_task(texts, X, cfg.embed, db)
        fit = cluster_task(X, claims, cfg.cluster)
        result = assemble_task(claims, X, fit, cfg)
        timeseries = track_task(result.claims, cfg)
        outlets = outlets_task(result.claims)
        store_task(db, run_id, new_articles, quarantine, {
            S.CLAIMS.name: result.claims, S.REPRINTS.name: reprints, S.NARRATIVES.name: result.narratives,
            S.THEMES.name: result.themes, S.NARRATIVE_TIMESERIES.name: timeseries, S.NARRATIVE_OUTLETS.name: outlets,
            S.NARRATIVE_SPREAD.name: spread_task(outlets, result.claims),
            S.NARRATIVE_BURSTS.name: bursts_task(result.claims), S.NARRATIVE_DRIFT.name: drift_task(result.claims, X),
        })
        counts = {
            "n_input_records": ingested.n_read,
            "n_new_articles": len(new_articles),
            "n_articles": len(existing_articles) + len(new_articles),
            "n_claims": len(result.claims),
            "n_narratives": len(result.narratives),
            "n_themes": len(result.themes),
            "n_unassigned": int(result.claims[CLAIMS.c.narrative_id].isna().sum()),
            "n_undated": int(result.claims[CLAIMS.c.published_at].isna().sum()),
            "n_quarantined": len(quarantine),
            "n_embedded": n_embedded,
            "n_reprints": len(reprints),
        }
        finish_run_task(db, run_id, "succeeded", counts)
        export_task(db, tables_dir)
        report_path = report_task(db, report)
    except BaseException as err:
        finish_run_task(db, run_id, "failed", error=f"{type(err).__name__}: {err}"[:2000])
        raise
    return {"run_id": run_id, "db": str(db), "tables_dir": str(tables_dir), "report": str(report_path),
            "n_duplicates_skipped": ingested.n_duplicates + n_known, **counts}
