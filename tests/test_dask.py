"""Scale-out: the flow with `runner.kind: dask` on a 2-worker Dask cluster gives the tables of a local run, and its
claim-extraction and embedding chunks really run on the Dask workers (slow: a Prefect server, a Dask cluster and
the real model in three processes)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml

from narratives import store
from narratives.schemas import ALL_TABLES, EXPORTED_TABLES

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
CHUNK = 60  # 40 demo articles -> 1 extraction chunk of 40; ~300 claim texts -> 5-6 embedding chunks
RUN_COLUMNS = {"run_id", "born_run_id", "updated_run_id"}
COMPARED = [n for n in EXPORTED_TABLES if n not in ("runs", "quarantine")]


def _run(tmp_path: Path, name: str, corpus: Path, runner: dict, env: dict) -> Path:
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
    return out / "n.duckdb"


def _stable(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """A table without the columns that name a run, in its key order."""
    df = df.drop(columns=[c for c in df.columns if c in RUN_COLUMNS])
    keys = [c for c in ALL_TABLES[name].key if c in df.columns] or list(df.columns[:1])
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def _task_runs(api: str, flow_run_id: str) -> list[dict]:
    body = {"task_runs": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 200}
    return httpx.post(f"{api}/task_runs/filter", json=body, timeout=10).json()


def _flow_run_id(api: str, db: Path) -> str:
    """The Prefect flow run of the (single) run in ``db``: the flow run whose parameters name that database."""
    runs = httpx.post(f"{api}/flow_runs/filter", json={"limit": 50}, timeout=10).json()
    mine = [r for r in runs if (r["parameters"].get("db") or "") == str(db) or
            str(db.parent) in str(r["parameters"].get("config_path") or "")]
    assert len(mine) == 1, [r["parameters"] for r in runs]
    return mine[0]["id"]


def test_dask_runner_gives_the_local_tables(tmp_path, prefect_server):
    from distributed import Client, LocalCluster

    from narratives.demo import write_demo_corpus

    corpus = write_demo_corpus(tmp_path / "demo", seed=3, n_articles=40)["articles"]
    env = prefect_server.env
    local_db = _run(tmp_path, "local", corpus, {"kind": "local"}, env)

    # An existing 2-worker cluster (worker processes, configured like remote workers would be); the flow connects
    # to it by address and the test asks its workers afterwards what they ran.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      env={k: env[k] for k in ("PREFECT_API_URL", "PREFECT_HOME")}) as cluster, \
            Client(cluster) as client:
        dask_db = _run(tmp_path, "dask", corpus, {"kind": "dask", "address": cluster.scheduler_address,
                                                  "chunk_size": CHUNK}, env)
        ran = client.run(lambda dask_worker: [str(entry[0]) for entry in dask_worker.state.log])
        prefixes = client.run_on_scheduler(
            lambda dask_scheduler: {k: dict(v.state_counts) for k, v in dask_scheduler.task_prefixes.items()})
    print("worker logs:", {w: sorted({k.rsplit("-", 1)[0] for k in keys}) for w, keys in ran.items()})
    print("scheduler task prefixes:", prefixes)

    local, dask = store.read_tables(local_db), store.read_tables(dask_db)
    for name in COMPARED:
        pd.testing.assert_frame_equal(_stable(dask[name], name), _stable(local[name], name), obj=name)
