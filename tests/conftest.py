"""Shared fixtures. Tests that need the real model, UMAP/HDBSCAN fits or Prefect are marked `slow`
(they run in CI; deselect locally with -m 'not slow')."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
DATA = SHARED / "data"

# Keep Prefect, numba and temp files inside the project's cache folder (the Makefile sets the same).
for _key, _sub in (("PREFECT_HOME", "prefect"), ("NUMBA_CACHE_DIR", "numba")):
    os.environ.setdefault(_key, str(ROOT / ".cache" / _sub))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"raw seed pages not found at {SEEDS} (they live in ../shared/seeds beside the checkout)")
    return SEEDS


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"dev corpora not found at {DATA} (they live in ../shared/data beside the checkout)")
    return DATA


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def prefect_server(tmp_path):
    """A real Prefect server on a free loopback port (tests/prefect_server.py); its home is in tmp_path."""
    from flows.local_server import running_server

    with running_server(tmp_path) as server:
        yield server


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory):
    from narratives.demo import write_demo_corpus

    out = tmp_path_factory.mktemp("demo")
    return write_demo_corpus(out, seed=7)


@pytest.fixture(scope="session")
def demo_run(prefect_harness, demo_corpus, tmp_path_factory):
    from flows.pipeline import narratives_flow
    from narratives import store

    out = tmp_path_factory.mktemp("run")
    kwargs = dict(input_path=str(demo_corpus["articles"]), db=str(out / "n.duckdb"),
                  report=str(out / "report.html"), tables_dir=str(out / "tables"))
    first = narratives_flow(**kwargs)
    tables = store.read_tables(out / "n.duckdb")
    second = narratives_flow(**kwargs)  # the same input again
    tables2 = store.read_tables(out / "n.duckdb")
    return {"out": out, "first": first, "second": second, "tables": tables, "tables2": tables2}
