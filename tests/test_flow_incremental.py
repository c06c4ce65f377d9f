"""Daily batches through the real flow (Prefect harness, MiniLM, DuckDB): incremental runs agree with one run
over everything, ids persist across a forced re-fit, the same batch twice adds nothing, and a run killed with
SIGKILL at any stage then run again gives the same tables as an uninterrupted run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from narratives import store
from narratives.batches import write_batches
from narratives.evaluate import with_singletons
from narratives.schemas import ALL_TABLES, ARTICLE_SIGNATURES, EXPORTED_TABLES

READ = [*EXPORTED_TABLES, ARTICLE_SIGNATURES.name]  # the outputs and the stored signatures

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def _run(db: Path, batch: Path, **kw) -> dict:
    from flows.pipeline import narratives_flow

    return narratives_flow(input_path=str(batch), db=str(db), report=str(db.parent / "report.html"),
                           tables_dir=str(db.parent / "tables"), **kw)


@pytest.fixture(scope="module")
def daily(prefect_harness, demo_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("daily")
    batches = write_batches(demo_corpus["articles"], out / "batches", 10)
    db = out / "n.duckdb"
    summaries = []
    for i, b in enumerate(batches):
        summaries.append(_run(db, b))
        if i == 1:
            shutil.copy(db, out / "after2.duckdb")
    return {"out": out, "db": db, "batches": batches, "summaries": summaries, "tables": store.read_tables(db, READ)}


def _ids(tables: dict) -> pd.Series:
    return tables["claims"].set_index("claim_id")["narrative_id"].sort_index()


def test_ten_daily_batches_agree_with_one_run(daily, demo_run):
    modes = [s["mode"] for s in daily["summaries"]]
    assert modes == ["full"] + ["incremental"] * 9
    inc, one = _ids(daily["tables"]), _ids(demo_run["tables"])
    assert inc.index.equals(one.index)
    ari = adjusted_rand_score(with_singletons(one.fillna(-1).to_numpy()), with_singletons(inc.fillna(-1).to_numpy()))
    print(f"ARI(10 daily batches, one run) = {ari:.3f}")
    assert ari >= 0.9
    # later batches embed only their own claims
    for s in daily["summaries"][1:]:
        assert s["n_embedded"] <= s["n_new_claims"]
    runs = daily["tables"]["runs"]
    assert (runs["status"] == "succeeded").sum() == 10 and runs["mode"].notna().all()
    # reprints found batch by batch against stored signatures are those of one run over everything
    rep = daily["tables"]["reprints"]
    assert len(rep) > 20
    pd.testing.assert_frame_equal(rep, demo_run["tables"]["reprints"], check_dtype=False)
    sigs = daily["tables"]["article_signatures"]
    assert sigs["article_id"].is_unique and set(sigs["article_id"]) == set(daily["tables"]["articles"]["article_id"])


def test_run_report_equals_the_report_rebuilt_from_the_database(daily, tmp_path):
    """A run builds its report from the tables its commit wrote, in memory; the page is the one the database gives."""
    from narratives.report import write_report_from_db

    page = (daily["out"] / "report.html").read_text(encoding="utf-8")
    assert page == write_report_from_db(daily["db"], tmp_path / "r.html").read_text(encoding="utf-8")
    assert '"narratives":[{"id":' in page


def test_ids_are_never_reused_and_lineage_explains_them(daily):
    lin = daily["tables"]["narrative_lineage"]
    born = lin[lin["event"].isin(["birth", "split"])]["narrative_id"]
    assert born.is_unique
    live = set(daily["tables"]["narratives"]["narrative_id"])
    assert live <= set(born)  # every narrative was born in some run
    ended = set(lin[lin["event"].isin(["merge", "death"])]["narrative_id"])
    assert not (live & ended)
    nar = daily["tables"]["narratives"]
    assert nar["centroid"].map(len).eq(384).all() and nar["born_run_id"].notna().all()


def test_forced_recluster_keeps_ids_and_same_batch_adds_nothing(daily):
    db = daily["out"] / "recluster.duckdb"
    shutil.copy(daily["db"], db)
    before = _ids(daily["tables"])
    s = _run(db, daily["batches"][-1], recluster=True)
    assert s["mode"] == "full"
    after = _ids(store.read_tables(db, ["claims"]))
    kept = ((after == before) & before.notna()).sum() / before.notna().sum()
    print(f"claims keeping their narrative_id across a forced re-cluster: {kept:.3f}")
    assert kept >= 0.95
    t1 = store.read_tables(db)
    again = _run(db, daily["batches"][-1])
    assert again["mode"] == "unchanged" and again["n_new_articles"] == 0 and again["n_embedded"] == 0
    t2 = store.read_tables(db)
    for name in ("claims", "narratives", "themes", "narrative_timeseries", "narrative_lineage"):
        pd.testing.assert_frame_equal(_stable(t1[name], name), _stable(t2[name], name))


RUN_COLUMNS = {"run_id", "born_run_id", "updated_run_id"}


def _stable(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """A table without the columns that name a run, in a canonical order."""
    df = df.drop(columns=[c for c in df.columns if c in RUN_COLUMNS])
    keys = [c for c in ALL_KEYS.get(name, []) if c in df.columns] or list(df.columns[:1])
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


ALL_KEYS = {n: list(ALL_TABLES[n].key) for n in ALL_TABLES}
COMPARED = [n for n in READ if n not in ("runs", "quarantine")]


@pytest.fixture(scope="module")
def uninterrupted(daily):
    """Batch 3 run without interruption on the database as it was after batches 1-2."""
    reference = daily["out"] / "ref" / "n.duckdb"
    reference.parent.mkdir()
    shutil.copy(daily["out"] / "after2.duckdb", reference)
    _run(reference, daily["batches"][2])
    return store.read_tables(reference, READ)


def test_cli_run_with_the_batch_prepared_ahead_equals_the_flow_doing_every_step(daily, uninterrupted, tmp_path):
    """`narratives run` does a small batch's own steps in a process it forks before importing Prefect
    (narratives/ahead.py): the same tables, and the same vectors bit for bit, as the flow doing every step itself
    (the uninterrupted run of the same batch on the same database, in this process)."""
    db = tmp_path / "cli" / "n.duckdb"
    db.parent.mkdir()
    shutil.copy(daily["out"] / "after2.duckdb", db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", str(daily["batches"][2]), "--db", str(db),
         "--report", str(db.parent / "report.html"), "--tables-dir", str(db.parent / "tables")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "the batch was prepared ahead: " in proc.stdout and "not used" not in proc.stdout, proc.stdout[-3000:]
    for step in ("ingest", "clean", "extract-claims", "find-reprints", "load-model", "embed"):  # done ahead
        assert f"Task run '{step}-" not in proc.stdout
    got = store.read_tables(db, [*READ, "embedding_cache"])
    for name in COMPARED:
        pd.testing.assert_frame_equal(_stable(got[name], name), _stable(uninterrupted[name], name), check_dtype=False,
                                      obj=name)
    want = store.read_tables(daily["out"] / "ref" / "n.duckdb", ["embedding_cache"])["embedding_cache"]
    vectors = [t.set_index("text_hash")["embedding"].sort_index() for t in (got["embedding_cache"], want)]
    assert vectors[0].index.equals(vectors[1].index)
    assert np.array_equal(np.stack(vectors[0].to_numpy()), np.stack(vectors[1].to_numpy()))  # bit for bit


# (CLI runs take the batch's own steps from the process forked ahead: there is no ingest step to kill it at)
@pytest.mark.parametrize("stage", ["take-prepared-batch", "load-vectors", "label", "store", "export-parquet"])
def test_killed_run_then_rerun_gives_the_same_tables(daily, uninterrupted, stage, tmp_path):
    want = uninterrupted

    db = tmp_path / "killed" / "n.duckdb"
    db.parent.mkdir()
    shutil.copy(daily["out"] / "after2.duckdb", db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", str(daily["batches"][2]), "--db", str(db),
         "--report", str(db.parent / "report.html"), "--tables-dir", str(db.parent / "tables")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if f"Task run '{stage}-" in line and "Finished in state" in line:
            # the run and what it started (Prefect's temporary server, which SIGKILL on the run alone would leave
            # running for good), as a crash of the machine or container would
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, "".join(seen[-20:])

    summary = _run(db, daily["batches"][2])
    got = store.read_tables(db, READ)
    runs = got["runs"].set_index("run_id")
    assert runs.at[summary["run_id"], "status"] == "succeeded"
    if stage in ("store", "export-parquet"):  # killed after its one-transaction commit: its results stand
        assert summary["mode"] == "unchanged" and (runs["status"] == "interrupted").sum() == 0
    else:  # killed before the commit: nothing of it was written; the attempt is recorded as interrupted
        assert summary["mode"] == "incremental" and (runs["status"] == "interrupted").sum() == 1
    assert (runs["status"] == "succeeded").sum() == 2 + 1 + (stage in ("store", "export-parquet"))
    assert (db.parent / "tables" / "claims.parquet").exists() and (db.parent / "report.html").exists()
    for name in COMPARED:
        pd.testing.assert_frame_equal(_stable(got[name], name), _stable(want[name], name), check_dtype=False,
                                      obj=f"{name} after a kill at {stage!r}")


def test_empty_inbox_is_an_unchanged_run(daily, tmp_path):
    """A scheduled run that finds no new files records an 'unchanged' run and leaves every table as it was."""
    db = tmp_path / "n.duckdb"
    shutil.copy(daily["db"], db)
    before = store.read_tables(db, READ)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    s = _run(db, inbox)
    assert s["mode"] == "unchanged" and s["n_input_records"] == 0 and s["n_embedded"] == 0
    after = store.read_tables(db, READ)
    for name in COMPARED:
        pd.testing.assert_frame_equal(_stable(after[name], name), _stable(before[name], name), check_dtype=False)
