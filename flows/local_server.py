"""A real Prefect server on a free loopback port, started and stopped by the caller: for the slow tests that need
one (scheduled runs, Dask; the ``prefect_server`` fixture in tests/conftest.py) and for benches that time runs
the way a served deployment makes them (bench/incremental.py --server). ``stop`` ends a process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx


@dataclass(frozen=True)
class Server:
    api: str  # http://127.0.0.1:PORT/api
    env: dict[str, str]  # environment for processes that talk to it (PREFECT_API_URL and PREFECT_HOME set)
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    """SIGINT the process group (started with start_new_session=True), SIGKILL it after 30 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def running_server(workdir: Path, timeout: float = 180) -> Iterator[Server]:
    """Start `prefect server start` on loopback with its home in ``workdir``; stop it on exit."""
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(workdir / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONUNBUFFERED="1")
    log = workdir / "server.log"
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, cwd=workdir, stdout=open(log, "w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + timeout
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"prefect server did not start (log {log}):\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield Server(api=api, env={**env, "PREFECT_API_URL": api}, log=log)
    finally:
        stop(server)
