"""End to end: the real Prefect flow (under prefect_test_harness), the real MiniLM model, real UMAP/HDBSCAN
and DuckDB, on the generated demo corpus with planted narratives."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from narratives import store
from narratives.evaluate import planted_scores
from narratives.schemas import ALL_TABLES, EXPORTED_TABLES, SCHEMA_VERSION

pytestmark = pytest.mark.slow


def test_planted_narratives_are_recovered(demo_run, demo_corpus):
    truth = pd.read_csv(demo_corpus["truth"])
    s = planted_scores(demo_run["tables"]["claims"], truth)
    print("demo scores:", s)
    assert s["planted_recall"] >= 0.98  # planted sentences survive cleaning and claim selection
    assert s["ari"] >= 0.8
    assert s["coverage"] >= 0.9
    assert s["k"] >= len(truth["narrative_key"].unique()) * 0.8


def test_every_table_matches_its_declared_schema(demo_run):
    db = demo_run["out"] / "n.duckdb"
    with store.connect(db, read_only=True) as con:
        for name in EXPORTED_TABLES:
            tbl = con.execute(f'SELECT * FROM "{name}"').to_arrow_table()
            assert [(f.name, f.type) for f in tbl.schema] == [(f.name, f.type) for f in ALL_TABLES[name].schema], name
    for name in EXPORTED_TABLES:
        pt = pq.read_table(demo_run["out"] / "tables" / f"{name}.parquet")
        assert pt.schema.names == ALL_TABLES[name].columns
    t = demo_run["tables"]
    assert len(t["claims"]) == demo_run["first"]["n_claims"] > 1000
    assert t["narratives"]["size"].sum() == t["claims"]["narrative_id"].notna().sum()
    assert set(t["claims"]["narrative_id"].dropna()) == set(t["narratives"]["narrative_id"])
    assert t["narratives"]["keywords"].map(len).min() >= 3
    assert t["narratives"]["representative_claim_ids"].map(len).min() >= 1
    assert len(t["themes"]) >= 2 and t["themes"]["n_narratives"].sum() == len(t["narratives"])
    ts = t["narrative_timeseries"]
    assert set(ts["grain"]) == {"day", "week", "month"}
    overall_week = ts[(ts.grain == "week") & ts.outlet.isna()]
    assert overall_week["n_claims"].sum() == t["claims"]["narrative_id"].notna().sum()


def test_runs_rows_and_report(demo_run):
    runs = demo_run["tables2"]["runs"].sort_values("started_at")
    assert list(runs["status"]) == ["succeeded", "succeeded"]
    assert (runs["schema_version"] == SCHEMA_VERSION).all()
    assert runs["config_hash"].nunique() == 1
    first = runs.iloc[0]
    assert first.n_claims == demo_run["first"]["n_claims"] and first.n_quarantined == 0
    html = (demo_run["out"] / "report.html").read_text()
    top = demo_run["tables"]["narratives"].iloc[0]
    assert "<html" in html.lower() and str(top["keywords"][0]) in html


def test_same_input_twice_adds_nothing(demo_run):
    s2 = demo_run["second"]
    assert s2["n_new_articles"] == 0 and s2["n_embedded"] == 0
    a, b = demo_run["tables"], demo_run["tables2"]
    assert len(b["articles"]) == len(a["articles"]) and len(b["claims"]) == len(a["claims"])
    pd.testing.assert_series_equal(
        a["claims"].set_index("claim_id")["narrative_id"].sort_index(),
        b["claims"].set_index("claim_id")["narrative_id"].sort_index(),
    )


def test_syndicated_copies_are_found_and_clustered_once(demo_run, demo_corpus):
    planted = pd.read_csv(demo_corpus["reprints"])
    found = demo_run["tables"]["reprints"]
    pairs = set(zip(found["article_id"], found["original_article_id"]))
    recall = sum((a, o) in pairs for a, o in zip(planted["article_id"], planted["original_article_id"])) / len(planted)
    print(f"reprints: {len(found)} found, recall of planted copies {recall:.2f}")
    assert recall >= 0.9 and len(found) <= len(planted) * 1.2
    claims = demo_run["tables"]["claims"]
    copies = claims[claims["original_claim_id"].notna()]
    assert len(copies) > 0 and copies["article_id"].isin(found["article_id"]).all()
    by_id = claims.set_index("claim_id")
    orig_nid = by_id.loc[copies["original_claim_id"], "narrative_id"].to_numpy()
    assert (copies["narrative_id"].fillna(-1).to_numpy() == pd.Series(orig_nid).fillna(-1).to_numpy()).all()
    assert demo_run["first"]["n_reprints"] == len(found)


def _planted_narrative_id(demo_run, demo_corpus, key):
    from narratives.evaluate import match_truth

    m = match_truth(demo_run["tables"]["claims"], pd.read_csv(demo_corpus["truth"]))
    ids = m.loc[m["narrative_key"] == key, "narrative_id"].dropna()
    return int(ids.mode().iloc[0]), ids


def test_planted_spread_is_recovered(demo_run, demo_corpus):
    import json

    plan = json.loads(demo_corpus["dynamics"].read_text())["spread"]
    nid, _ = _planted_narrative_id(demo_run, demo_corpus, plan["narrative_key"])
    spread = demo_run["tables"]["narrative_spread"].set_index("narrative_id").loc[nid]
    assert spread["first_outlet"] == plan["first_outlet"]
    assert spread["first_seen"] == pd.Timestamp(plan["start"])
    outlets = demo_run["tables"]["narrative_outlets"]
    lags = outlets[outlets["narrative_id"] == nid].set_index("outlet")["lag_days"]
    for join in plan["joins"]:
        assert lags[join["outlet"]] == join["lag_days"], join
    print("spread:", spread["first_outlet"], spread["first_seen"].date(), dict(lags))


def test_planted_burst_is_recovered(demo_run, demo_corpus):
    import json

    plan = json.loads(demo_corpus["dynamics"].read_text())["burst"]
    nid, _ = _planted_narrative_id(demo_run, demo_corpus, plan["narrative_key"])
    bursts = demo_run["tables"]["narrative_bursts"]
    mine = bursts[(bursts["narrative_id"] == nid) & (bursts["grain"] == "day")]
    start, end = pd.Timestamp(plan["start"]), pd.Timestamp(plan["end"])
    overlap = mine[(mine["period_start"] <= end) & (mine["period_end"] >= start)]
    assert len(overlap) >= 1, mine
    assert overlap["period_start"].min() >= start - pd.Timedelta(days=1)
    assert overlap["period_end"].max() <= end + pd.Timedelta(days=1)
    weekly = bursts[(bursts["narrative_id"] == nid) & (bursts["grain"] == "week")]
    assert ((weekly["period_start"] <= end) & (weekly["period_end"] >= start)).any()
    print("burst:", overlap[["period_start", "period_end", "score", "baseline"]].to_dict("records"))


def test_planted_wording_change_is_recovered(demo_run, demo_corpus):
    import json

    plan = json.loads(demo_corpus["dynamics"].read_text())["wording"]
    nid, _ = _planted_narrative_id(demo_run, demo_corpus, plan["narrative_key"])
    drift = demo_run["tables"]["narrative_drift"]
    weeks = drift[(drift["narrative_id"] == nid) & (drift["grain"] == "week")].sort_values("period_start")
    change = pd.Timestamp(plan["from"])
    week_of_change = change - pd.Timedelta(days=change.weekday())
    row = weeks[weeks["period_start"] == week_of_change].iloc[0]
    old, new = plan["old_term"].lower(), plan["new_term"].lower()
    assert any(new in t for t in row["rising_terms"]) and any(old in t for t in row["falling_terms"]), row
    before = weeks[weeks["period_start"] < week_of_change]
    assert not any(new in t for terms in before["rising_terms"] for t in terms)
    print("wording:", row["period_start"].date(), list(row["rising_terms"]), list(row["falling_terms"]))


def test_readme_example_queries_run_on_a_real_database(demo_run):
    """Every example query in outputs/README.md runs against the demo run's database and returns rows."""
    import re

    import duckdb

    from narratives.tables_doc import SQL

    block = re.search(r"```sql\n(.*?)```", SQL, re.S).group(1)
    statements = [s for s in block.split(";") if re.search(r"\b(SELECT|WITH)\b", s)]
    assert len(statements) == 8
    con = duckdb.connect(str(demo_run["out"] / "n.duckdb"), read_only=True)
    try:
        empty = [s for s in statements if not con.execute(s).fetchall()]
    finally:
        con.close()
    assert len(empty) <= 1 and all("narrative_bursts" in s for s in empty), empty  # recent bursts may be none


def _blocked_run(demo_run, demo_corpus, tmp_path, blocked: str):
    """The flow on a copy of the demo run's database, with a file where the ``blocked`` output's folder ('tables'
    or 'reports') should be: it must fail. Returns the database and its last runs row."""
    import shutil

    from flows.pipeline import narratives_flow

    db = tmp_path / "n.duckdb"
    shutil.copy(demo_run["out"] / "n.duckdb", db)
    (tmp_path / blocked).write_text("a file where a folder should be")
    report = tmp_path / "reports" / "report.html"
    with pytest.raises(Exception, match=f"{blocked}|File exists|directory"):
        narratives_flow(input_path=str(demo_corpus["articles"]), db=str(db), report=str(report),
                        tables_dir=str(tmp_path / "tables"))
    return db, store.read_tables(db, ["runs"])["runs"].sort_values("started_at").iloc[-1]


def test_a_failed_export_fails_the_run_and_keeps_the_committed_tables(demo_run, demo_corpus, tmp_path):
    """An error after the commit (here the Parquet export) fails the run, with the error in its runs row; the
    tables committed before it stay as they were."""
    db, last = _blocked_run(demo_run, demo_corpus, tmp_path, "tables")
    assert last["status"] == "failed" and "FileExistsError" in last["error"], last["error"]
    assert len(store.read_tables(db, ["claims"])["claims"]) == len(demo_run["tables2"]["claims"])


def test_a_failed_report_fails_the_run_while_the_export_runs_beside_it(demo_run, demo_corpus, tmp_path):
    """The report fails at once while the Parquet export runs in the task runner's thread: the run fails with
    the report's error in its runs row, and the export still completes."""
    _, last = _blocked_run(demo_run, demo_corpus, tmp_path, "reports")
    assert last["status"] == "failed" and "report" in last["error"], last["error"]
    assert sorted(p.stem for p in (tmp_path / "tables").glob("*.parquet")) == sorted(EXPORTED_TABLES)


def test_a_model_that_does_not_load_stops_the_run_with_the_loaders_message(prefect_harness, tmp_path):
    """The model loads ahead of the embed step in the task runner (best effort); a model folder that cannot load
    still fails the run with the loader's own message, as when the embed step loaded it, and the runs row says so."""
    from flows.pipeline import narratives_flow
    from narratives.demo import write_demo_corpus

    corpus = write_demo_corpus(tmp_path / "demo", seed=5, n_articles=30)
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(f"embed:\n  model: {tmp_path / 'no_model_here'}\n", encoding="utf-8")
    db = tmp_path / "n.duckdb"
    with pytest.raises(Exception, match="tokenizer file .*no_model_here"):
        narratives_flow(input_path=str(corpus["articles"]), config_path=str(cfg), db=str(db),
                        report=str(tmp_path / "report.html"), tables_dir=str(tmp_path / "tables"))
    last = store.read_tables(db, ["runs"])["runs"].iloc[-1]
    assert last["status"] == "failed" and "no_model_here" in last["error"], last["error"]


def test_flow_parameters_go_to_the_api_as_prefects_serializer_would_send_them():
    """The flow skips Prefect's FastAPI-based serializer for plain values: same result, and anything else still
    goes through Prefect's."""
    from pathlib import Path

    from prefect import Flow

    from flows.pipeline import PlainParametersFlow, narratives_flow

    assert isinstance(narratives_flow, PlainParametersFlow)
    plain = {"input_path": "in.jsonl", "config_path": None, "db": "x.duckdb", "report": "r.html", "tables_dir": None,
             "unit": "claim", "recluster": True, "wait_seconds": 600.0}
    assert narratives_flow.serialize_parameters(plain) == Flow.serialize_parameters(narratives_flow, plain) == plain
    other = {"input_path": Path("in.jsonl"), "wait_seconds": 1}
    assert narratives_flow.serialize_parameters(other) == Flow.serialize_parameters(narratives_flow, other) \
        == {"input_path": "in.jsonl", "wait_seconds": 1}
