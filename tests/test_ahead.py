"""The batch prepared ahead (narratives/ahead.py): a forked child, what the flow takes from it and when, and the run
lock staying the parent's. The child's own steps against the flow's are checked end to end in
tests/test_flow_incremental.py (the real model and Prefect)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from narratives import ahead, store
from narratives import caches
from narratives.caches import DuckDBEmbeddingCache
from narratives.config import Config
from narratives.embed import NewVectors, text_hashes, uncached_texts
from narratives.ingest import IngestResult

ROOT = Path(__file__).resolve().parent.parent


def _batch(input_path, db, cfg: Config, todo=("b", "a")) -> ahead.PreparedBatch:
    empty = pd.DataFrame()
    vectors = NewVectors.of("m", list(todo), np.arange(2 * len(todo), dtype=np.float32).reshape(len(todo), 2))
    return ahead.PreparedBatch(ahead._path(input_path), ahead._path(db), cfg, IngestResult(empty, n_read=7), [], 0,
                               empty, empty, empty, empty, list(todo), vectors if todo else None)


@pytest.fixture
def run_files(tmp_path):
    db, batch = tmp_path / "n.duckdb", tmp_path / "today.jsonl"
    store.start_run(db, "r0", "h", None)  # an existing database (a first run prepares nothing ahead)
    batch.write_text("{}\n")
    return batch, db


def test_the_flow_takes_the_batch_prepared_for_its_run_once(run_files, monkeypatch):
    batch, db = run_files
    cfg = Config()
    monkeypatch.setattr(ahead, "prepare_batch", lambda i, d, c, n, done: done() or _batch(i, d, c))
    released = ahead.start(batch, db, cfg)  # forks: the child runs the (patched) prepare_batch
    assert released is not None
    released()  # the child no longer reads the database
    prepared, why = ahead.take(batch, db, cfg)
    assert why == "" and prepared.ingested.n_read == 7 and prepared.todo == ["b", "a"]
    assert ahead.take(batch, db, cfg) == (None, "")  # once
    ahead.start(batch, db, cfg)
    assert ahead.take(batch, db, cfg.with_overrides(ingest={"unit": "claim"})) == (
        None, "it was prepared with other settings")
    ahead.start(batch, db, cfg)
    assert ahead.take(batch.with_name("other.jsonl"), db, cfg) == (None, "")  # another run's input
    ahead.discard()  # (the one started for the first input)
    assert not ahead._AHEAD


def test_nothing_is_started_for_a_first_run_a_dask_runner_or_when_turned_off(tmp_path, run_files):
    batch, db = run_files
    cfg = Config()
    assert ahead.start(batch, tmp_path / "new.duckdb", cfg) is None
    assert ahead.start(batch, db, cfg.with_overrides(runner={"kind": "dask"})) is None
    assert ahead.start(batch, db, cfg.with_overrides(runner={"ahead_max_records": 0})) is None
    assert not ahead._AHEAD
    with pytest.raises(Exception, match="ahead_max_records"):
        cfg.with_overrides(runner={"ahead_max_records": -1})


@pytest.mark.parametrize("case", ["fails", "too large", "dies"])
def test_a_child_without_a_result_leaves_the_steps_to_the_flow_and_says_why(run_files, monkeypatch, case):
    batch, db = run_files

    def prepare(i, d, c, n, done):
        if case == "fails":
            raise RuntimeError("no disk")
        if case == "dies":
            os._exit(3)
        return None

    monkeypatch.setattr(ahead, "prepare_batch", prepare)
    ahead.start(batch, db, Config())
    prepared, why = ahead.take(batch, db, Config())
    assert prepared is None
    assert why == {"fails": "RuntimeError: no disk", "too large": "the batch is larger than runner.ahead_max_records",
                   "dies": "the process ended without a result"}[case]


def test_a_child_that_does_not_answer_in_time_is_stopped(run_files, monkeypatch):
    batch, db = run_files
    monkeypatch.setattr(ahead, "prepare_batch", lambda *a: time.sleep(60))
    started = ahead.BatchAhead(batch, db, Config())
    pid = started.pid
    t0 = time.monotonic()
    assert started.result(timeout=0.5) == (None, "not ready after 0.5 s")
    assert time.monotonic() - t0 < 5
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # stopped and reaped


def test_vectors_are_taken_only_for_the_exact_list_the_child_embedded(run_files):
    batch, db = run_files
    prepared = _batch(batch, db, Config(), todo=("b", "a"))
    got = prepared.vectors_for(["b", "a"])
    assert got.hashes.tolist() == text_hashes(["b", "a"]).tolist()
    assert got.vectors.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert prepared.vectors_for(["a", "b"]) is None  # other chunks could give other vectors
    assert prepared.vectors_for(["b"]) is None
    assert _batch(batch, db, Config(), todo=()).vectors_for([]) is None


def test_the_texts_to_embed_are_listed_from_a_read_only_cache(tmp_path, monkeypatch):
    db = tmp_path / "n.duckdb"
    store.start_run(db, "r0", "h", None)
    DuckDBEmbeddingCache(db).put("m", text_hashes(["old", "mine"]).tolist(), np.ones((2, 3), dtype=np.float32))
    DuckDBEmbeddingCache(db).put("other", text_hashes(["new"]).tolist(), np.ones((1, 3), dtype=np.float32))
    modes = []
    real = store.connect
    monkeypatch.setattr(caches, "connect", lambda p, read_only=False: modes.append(read_only) or real(p, read_only))
    got = uncached_texts(["new", "old", "z", "new", "mine", "a"], "m", DuckDBEmbeddingCache(db, read_only=True))
    assert got == ["new", "z", "a"] and modes == [True]


def test_a_killed_run_leaves_no_lock_and_no_child_behind(tmp_path):
    """The child closes its copy of the run lock, so a run killed while its child works releases the lock at once
    (the next run is not refused), and the child dies with it."""
    db = tmp_path / "n.duckdb"
    batch = tmp_path / "today.jsonl"
    batch.write_text("{}\n")
    store.start_run(db, "r0", "h", None)
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        from narratives import ahead, store
        from narratives.config import Config
        ahead.prepare_batch = lambda *a: time.sleep(60)
        with store.reserved_run({str(db)!r}, beside=lambda: ahead.start({str(batch)!r}, {str(db)!r}, Config())):
            print(next(iter(ahead._AHEAD.values())).pid, flush=True)
            time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    child = int(proc.stdout.split()[0])
    with store.run_lock(db):  # not refused: the lock went with the parent
        pass
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"  # a zombie waits for init to reap it: gone
    except FileNotFoundError:
        return False


def test_another_run_is_still_refused_while_the_child_works(run_files, monkeypatch):
    """The child's closing its copy of the lock file leaves the lock held by the parent."""
    batch, db = run_files
    monkeypatch.setattr(ahead, "prepare_batch", lambda *a: time.sleep(60))
    other = f"from narratives import store\nwith store.run_lock({str(db)!r}):\n    pass"
    with store.reserved_run(db, beside=lambda: ahead.start(batch, db, Config())):
        time.sleep(0.3)  # the child has closed its copy by now
        proc = subprocess.run([sys.executable, "-c", other], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1 and "in use by another narratives run" in proc.stderr
        ahead.discard()


def test_a_batch_over_the_limit_is_left_to_the_flow_before_it_is_read_whole(tmp_path, run_files):
    """prepare_batch counts the input's records no further than the limit: a large input (a backfill) costs the
    child little, and the flow does its steps."""
    batch, db = run_files
    batch.write_text("".join('{"id": "a%d", "text": "Some text."}\n' % i for i in range(3)))
    released = []
    assert ahead.prepare_batch(batch, db, Config(), 2, lambda: released.append(1)) is None
    assert released == [1]
    from narratives.ingest import holds_more_records

    assert holds_more_records(batch, Config().ingest, 2) and not holds_more_records(batch, Config().ingest, 3)
