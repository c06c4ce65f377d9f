"""The scheduled deployment against a real Prefect server on loopback: `narratives serve` with a schedule a few
seconds apart, and a scheduled run completes and writes the database (slow: starts a server)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from flows.local_server import stop

from narratives import store

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def test_scheduled_run_completes_on_a_real_server(tmp_path, prefect_server):
    from narratives.demo import write_demo_corpus

    api, env = prefect_server.api, prefect_server.env
    serve = None
    try:
        demo = write_demo_corpus(tmp_path / "demo", seed=3, n_articles=40)
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        (inbox / "batch-2026-01-01.jsonl").write_bytes(Path(demo["articles"]).read_bytes())
        out = tmp_path / "out"
        cfg = {"schedule": {"name": "every-5s", "inbox": str(inbox), "interval_seconds": 5},
               "output": {"db": str(out / "n.duckdb"), "tables_dir": str(out / "tables"), "report": str(out / "r.html")}}
        (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
        serve = subprocess.Popen([sys.executable, "-m", "flows.cli", "serve", "--config", str(tmp_path / "cfg.yaml")],
                                 env={**env, "PREFECT_API_URL": api}, cwd=ROOT, start_new_session=True,
                                 stdout=open(tmp_path / "serve.log", "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 240
        completed = []
        while not completed:
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.time() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(3)
            runs = httpx.post(f"{api}/flow_runs/filter", json={
                "flow_runs": {"state": {"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}}}}, timeout=10).json()
            assert not [r for r in runs if r["state_type"] != "COMPLETED"], (tmp_path / "serve.log").read_text()[-3000:]
            completed = runs
        deployments = httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()
        assert [d["name"] for d in deployments] == ["every-5s"]
        schedule = deployments[0]["schedules"][0]["schedule"]
        assert schedule["interval"] == 5.0
        run = completed[0]
        assert run["deployment_id"] == deployments[0]["id"]
        assert run["auto_scheduled"] is True  # fired by the server's scheduler, not started by hand

        # prefect.yaml deploys the same flow on the configured cron through a work pool
        cli = [sys.executable, "-m", "prefect"]
        denv = {**env, "PREFECT_API_URL": api, "NARRATIVES_HOME": str(ROOT)}
        subprocess.run([*cli, "work-pool", "create", "narratives", "--type", "process"], env=denv, cwd=ROOT,
                       check=True, capture_output=True, timeout=120)
        done = subprocess.run([*cli, "--no-prompt", "deploy", "--all"], env=denv, cwd=ROOT, capture_output=True,
                              text=True, timeout=180)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        daily = {d["name"]: d for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()}["daily"]
        assert daily["schedules"][0]["schedule"]["cron"] == "0 6 * * *"
        assert daily["entrypoint"] == "flows/pipeline.py:narratives_flow" and daily["work_pool_name"] == "narratives"
    finally:
        if serve is not None:
            stop(serve)
    # Prefect's runner starts each flow run in a process group of its own, so a scheduled run in flight can outlive
    # `narratives serve`: wait until no run holds the database (the run lock is released after it is closed)
    with store.run_lock(out / "n.duckdb", wait_seconds=180):
        pass
    runs = store.read_tables(out / "n.duckdb", ["runs"])["runs"].sort_values("started_at").reset_index(drop=True)
    first = runs.iloc[0]
    assert first["status"] == "succeeded"
    assert first["n_new_articles"] == 40 and first["input"] == str(inbox.resolve())
    # a scheduled run may be cut by stopping `narratives serve` above: only the last one, and it wrote no counts
    cut = runs.index[runs["status"] != "succeeded"].tolist()
    assert cut in ([], [len(runs) - 1]), runs[["status", "error"]].to_string()
    assert runs.loc[cut, "n_new_articles"].isna().all()
    later = runs.iloc[1:].drop(index=cut)
    assert (later["n_new_articles"] == 0).all()  # later scheduled runs find nothing new
