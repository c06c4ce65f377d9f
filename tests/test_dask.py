"""Scale-out: the flow with `runner.kind: dask` on a 2-worker Dask cluster, in small chunks, gives the tables of a
local run in one chunk, and its claim-extraction and embedding chunks really run on the Dask workers (slow: a
Prefect server, a Dask cluster of 2 worker processes and the real model)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml

from narratives import store
from narratives.schemas import ALL_TABLES, EXPORTED_TABLES

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
CHUNK = 16  # 40 demo articles -> 3 extraction chunks; ~300 texts -> 5 embedding chunks (whole batches of 64)
RUN_COLUMNS = {"run_id", "born_run_id", "updated_run_id"}
COMPARED = [n for n in EXPORTED_TABLES if n not in ("runs", "quarantine")]


def _run(tmp_path: Path, name: str, corpus: Path, runner: dict, env: dict) -> tuple[Path, str]:
    """`narratives run` in its own process with this runner config; the database and the run's output."""
    out = tmp_path / name
    out.mkdir()
    cfg = {"runner": runner, "output": {"db": str(out / "n.duckdb"), "tables_dir": str(out / "tables"),
                                        "report": str(out / "report.html")}}
    (out / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    started = time.time()
    done = subprocess.run([sys.executable, "-m", "flows.cli", "run", str(corpus), "--config", str(out / "cfg.yaml")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    print(f"{name} run: {time.time() - started:.1f}s")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out / "n.duckdb", done.stdout + done.stderr


def _stable(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """A table without the columns that name a run, in its key order."""
    df = df.drop(columns=[c for c in df.columns if c in RUN_COLUMNS])
    keys = [c for c in ALL_TABLES[name].key if c in df.columns] or list(df.columns[:1])
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def _chunk_task_runs(api: str, out: Path, n_claims_chunks: int) -> dict[str, list[str]]:
    """State of each extraction and embedding task run of the flow run that used ``out/cfg.yaml`` (polled: the
    server records task runs from the events the run sent, a moment after the run ends)."""
    deadline = time.time() + 30
    while True:
        runs = httpx.post(f"{api}/flow_runs/filter", json={"limit": 50}, timeout=10).json()
        mine = [r for r in runs if r["parameters"].get("config_path") == str(out / "cfg.yaml")]
        assert len(mine) == 1 and mine[0]["state_type"] == "COMPLETED", [r["parameters"] for r in runs]
        body = {"task_runs": {"flow_run_id": {"any_": [mine[0]["id"]]}}, "limit": 200}
        tasks = httpx.post(f"{api}/task_runs/filter", json=body, timeout=10).json()
        found = {name: [t["state_type"] for t in tasks if t["name"].rsplit("-", 1)[0] == name]
                 for name in ("extract-claims", "embed")}
        done = set(found["extract-claims"] + found["embed"]) == {"COMPLETED"}
        if (len(found["extract-claims"]) == n_claims_chunks and done) or time.time() > deadline:
            return found
        time.sleep(1)


def _keys_run_by_workers(client) -> dict[str, set[str]]:
    """Per Dask worker, the keys of the task calls it computed (from the worker's own state log)."""
    def computed(dask_worker) -> list[str]:
        return sorted({str(e[0]) for e in dask_worker.state.log if len(e) > 2 and e[2] == "memory"})

    return {w: set(keys) for w, keys in client.run(computed).items()}


def test_dask_runner_gives_the_local_tables(tmp_path, prefect_server):
    from distributed import Client, LocalCluster

    from narratives.demo import write_demo_corpus

    corpus = write_demo_corpus(tmp_path / "demo", seed=3, n_articles=40)["articles"]
    env = prefect_server.env
    local_db, _ = _run(tmp_path, "local", corpus, {"kind": "local"}, env)

    # An existing 2-worker cluster (worker processes, configured like remote workers would be); the flow connects
    # to it by address and the test asks its workers afterwards what they ran.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      env={k: env[k] for k in ("PREFECT_API_URL", "PREFECT_HOME")}) as cluster, \
            Client(cluster) as client:
        dask_db, said = _run(tmp_path, "dask", corpus, {"kind": "dask", "address": cluster.scheduler_address,
                                                        "chunk_size": CHUNK}, env)
        assert f"Connecting to an existing Dask cluster at {cluster.scheduler_address}" in said
        by_worker = _keys_run_by_workers(client)

    # the chunks were mapped: one Prefect task run each, all completed ...
    local_tasks = _chunk_task_runs(prefect_server.api, local_db.parent, 1)
    dask_tasks = _chunk_task_runs(prefect_server.api, dask_db.parent, 3)
    print("task runs, local:", local_tasks, "dask:", dask_tasks)
    assert {k: len(v) for k, v in local_tasks.items()} == {"extract-claims": 1, "embed": 1}
    assert len(dask_tasks["extract-claims"]) == 3 and len(dask_tasks["embed"]) >= 4
    assert set(dask_tasks["extract-claims"] + dask_tasks["embed"]) == {"COMPLETED"}
    # ... and each was computed by a Dask worker (prefect-dask names the Dask key after the task function)
    print("computed by the Dask workers:", {w: sorted(k.rsplit("-", 1)[0] for k in keys) for w, keys in by_worker.items()})
    computed = [k.rsplit("-", 1)[0] for keys in by_worker.values() for k in keys]
    assert computed.count("claims_task") == len(dask_tasks["extract-claims"])
    assert computed.count("embed_task") == len(dask_tasks["embed"])

    # address null: the run starts (and closes) a LocalCluster of its own with 2 worker processes
    own_db, said = _run(tmp_path, "own-cluster", corpus, {"kind": "dask", "n_workers": 2, "chunk_size": CHUNK}, env)
    assert "Creating a new Dask cluster with `distributed.deploy.local.LocalCluster`" in said
    own_tasks = _chunk_task_runs(prefect_server.api, own_db.parent, 3)
    assert {k: len(v) for k, v in own_tasks.items()} == {k: len(v) for k, v in dask_tasks.items()}

    local = store.read_tables(local_db)
    assert len(local["claims"]) > 250 and local["narratives"]["narrative_id"].nunique() > 10
    for db in (dask_db, own_db):
        other = store.read_tables(db)
        for name in COMPARED:  # identical: no float tolerance
            pd.testing.assert_frame_equal(_stable(other[name], name), _stable(local[name], name), check_exact=True,
                                          obj=f"{name} ({db.parent.name})")
