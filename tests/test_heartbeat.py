"""Flow-run heartbeats (flows/heartbeat.py) reach a real Prefect server: a direct call of a BeatingFlow sends them
from its own thread (and the engine sends none), a run the engine starts itself keeps Prefect's, and a user who
turned them off gets none (slow: starts a server)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import json, threading
from prefect.context import FlowRunContext
from prefect.flow_engine import run_flow
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings
from flows.heartbeat import THREAD_NAME, BeatingFlow, beating

def body():
    with beating():
        beats = any(t.name == THREAD_NAME for t in threading.enumerate())
        return str(FlowRunContext.get().flow_run.id), beats

flow = BeatingFlow(body, name="heartbeat-check")
out = {}
out["direct"] = flow()
out["left_running"] = [t.name for t in threading.enumerate() if t.name == THREAD_NAME]
out["setting_after"] = get_current_settings().flows.heartbeat_frequency
out["engine"] = run_flow(flow)  # as a worker or a served deployment runs it
with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
    out["off"] = flow()
print("RESULT " + json.dumps(out))
"""


def _heartbeats(api: str, run_id: str) -> list[dict]:
    return httpx.post(f"{api}/events/filter", timeout=10, json={
        "filter": {"event": {"name": ["prefect.flow-run.heartbeat"]}, "resource": {"id": [f"prefect.flow-run.{run_id}"]}},
        "limit": 50}).json()["events"]


def test_heartbeats_reach_the_server_once_per_interval_from_one_sender(prefect_server):
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=prefect_server.env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT ", 1)[1])
    (direct, beat_direct), (engine, beat_engine), (off, beat_off) = out["direct"], out["engine"], out["off"]
    assert beat_direct and not beat_engine and not beat_off  # our thread runs only for a direct call that wants it
    assert out["left_running"] == [] and out["setting_after"] == 180  # stopped with the flow; setting restored
    deadline = time.time() + 60
    while not (_heartbeats(prefect_server.api, direct) and _heartbeats(prefect_server.api, engine)):
        assert time.time() < deadline, "no heartbeat reached the server"
        time.sleep(1)
    time.sleep(2)  # anything else sent by now has arrived too
    ours, prefects = _heartbeats(prefect_server.api, direct), _heartbeats(prefect_server.api, engine)
    assert len(ours) == 1 and len(prefects) == 1  # one at the start of each short run: no second sender
    assert _heartbeats(prefect_server.api, off) == []
    assert ours[0]["resource"]["prefect.resource.name"] and ours[0]["resource"]["prefect.version"]
    assert [r["prefect.resource.role"] for r in ours[0]["related"]] == ["flow"]
    assert ours[0]["related"] == prefects[0]["related"]  # the same flow, described as Prefect's engine does
    assert set(ours[0]["resource"]) == set(prefects[0]["resource"])
