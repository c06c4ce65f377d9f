"""Chunking for the mapped tasks (narratives/chunks.py) and the runner config (flows/runners.py): chunked work
gives what one call gives; the Dask runner is built from the config and refuses to run without a Prefect server."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from narratives import chunks
from narratives.claims import extract_claims
from narratives.clean import clean_articles
from narratives.config import Config, load_config
from narratives.errors import ConfigError, NarrativesError
from narratives.ingest import ingest
from narratives.outlets import OutletAliases


def test_bounds_and_splits_cover_everything_in_order():
    assert chunks.bounds(0, 3) == []
    assert chunks.bounds(7, 3) == [(0, 3), (3, 6), (6, 7)]
    assert chunks.split_list(list("abcdefg"), 3) == [["a", "b", "c"], ["d", "e", "f"], ["g"]]
    assert chunks.flatten(chunks.split_list(list("abcdefg"), 2)) == list("abcdefg")
    with pytest.raises(ValueError):
        chunks.bounds(5, 0)
    empty = pd.DataFrame({"a": pd.Series([], dtype="int32")})
    assert len(chunks.split_rows(empty, 10)) == 1  # keeps the columns and dtypes of an empty input
    assert chunks.concat_frames(chunks.split_rows(empty, 10)).dtypes.equals(empty.dtypes)


def test_chunked_extraction_equals_one_call(tmp_path):
    from narratives.demo import write_demo_corpus

    cfg = Config()
    corpus = write_demo_corpus(tmp_path, seed=5, n_articles=30)
    articles = clean_articles(ingest(corpus["articles"], cfg.ingest).records, OutletAliases.load(cfg.ingest.outlet_aliases))
    whole = extract_claims(articles, cfg.claims)
    for size in (1, 7, 30, 1000):
        parts = [extract_claims(p, cfg.claims) for p in chunks.split_rows(articles, size)]
        pd.testing.assert_frame_equal(chunks.concat_frames(parts), whole, check_exact=True)


class BatchDependentEmbedder:
    """A fake whose vectors depend on the other texts of the call (like int8 dynamic quantisation or padding)."""

    def encode(self, texts, batch_size=64, progress=False):
        base = np.array([[len(t), sum(map(ord, t)) % 97] for t in texts], dtype=np.float32)
        return base - base.mean(axis=0) * 1e-3


def test_embedding_chunks_are_whole_batches_and_vectors_do_not_depend_on_the_chunk_size():
    texts = [f"text {'x' * (i % 13)} number {i}" for i in range(203)]
    fake, batch = BatchDependentEmbedder(), 16

    def run(chunk_size):
        parts = chunks.embedding_chunks(texts, batch, chunk_size)
        assert all(len(p) % batch == 0 for p in parts[:-1])
        order = chunks.flatten(parts)
        assert sorted(order) == sorted(texts) and [len(t) for t in order] == sorted(map(len, texts), reverse=True)
        X = chunks.concat_rows([chunks.map_batches(fake.encode, p, batch) for p in parts])
        return dict(zip(order, map(tuple, X)))

    reference = run(10_000)  # one chunk
    for size in (1, 16, 40, 64, 100):
        assert run(size) == reference
    assert len(chunks.embedding_chunks(texts, batch, 40)) == len(chunks.bounds(len(texts), 32))
    # what chunking would break without fixed batches:
    assert not np.array_equal(fake.encode(texts[:16]), fake.encode(texts[:32])[:16])


def test_runner_config_validation(tmp_path):
    assert Config().runner.kind == "local" and Config().runner.chunk_size == 2000
    ok = Config().with_overrides(runner={"kind": "dask", "address": "tls://10.0.0.5:8786"})
    assert ok.runner.address == "tls://10.0.0.5:8786"
    for bad in ("10.0.0.5:8786", "http://10.0.0.5:8786", "tcp://10.0.0.5", "tcp://:8786"):
        with pytest.raises(ConfigError, match="runner.address.*tcp://HOST:PORT"):
            Config().with_overrides(runner={"kind": "dask", "address": bad})
    with pytest.raises(ConfigError, match="set kind: dask"):
        Config().with_overrides(runner={"address": "tcp://10.0.0.5:8786"})
    p = tmp_path / "c.yaml"
    p.write_text("runner:\n  kind: spark\n")
    with pytest.raises(ConfigError, match="runner.kind"):
        load_config(p)
    with pytest.raises(ConfigError, match="runner.chunk_size"):
        Config().with_overrides(runner={"chunk_size": 0})


def _no_server(monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    return temporary_settings(restore_defaults={PREFECT_API_URL})


def test_configured_flow_picks_the_task_runner(monkeypatch):
    from prefect_dask import DaskTaskRunner

    from flows.pipeline import narratives_flow
    from flows.runners import configured_flow

    assert configured_flow(Config()) is narratives_flow
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    local = configured_flow(Config().with_overrides(runner={"kind": "dask", "n_workers": 3}))
    assert isinstance(local.task_runner, DaskTaskRunner) and local.name == narratives_flow.name
    assert local.task_runner.address is None and local.task_runner.cluster_class == "distributed.LocalCluster"
    assert local.task_runner.cluster_kwargs == {"n_workers": 3, "threads_per_worker": 1, "processes": True}
    remote = configured_flow(Config().with_overrides(runner={"kind": "dask", "address": "tcp://10.0.0.5:8786"}))
    assert remote.task_runner.address == "tcp://10.0.0.5:8786" and not remote.task_runner.cluster_kwargs


def test_dask_without_a_prefect_server_is_refused(monkeypatch, tmp_path, capsys):
    from flows.cli import main
    from flows.runners import configured_flow

    cfg = Config().with_overrides(runner={"kind": "dask"})
    with _no_server(monkeypatch):
        with pytest.raises(NarrativesError, match="prefect server start --host 127.0.0.1.*PREFECT_API_URL"):
            configured_flow(cfg)
        p = tmp_path / "c.yaml"
        p.write_text("runner:\n  kind: dask\n")
        (tmp_path / "a.jsonl").write_text('{"id": "1", "text": "x"}\n')
        code = main(["run", str(tmp_path / "a.jsonl"), "--config", str(p), "--db", str(tmp_path / "n.duckdb")])
    err = capsys.readouterr().err
    assert code == 2 and "needs a real Prefect server" in err and "prefect server start" in err
    assert not (tmp_path / "n.duckdb").exists()


def test_embedding_chunks_follow_token_lengths():
    from narratives.config import EmbedConfig
    from narratives.embed import token_lengths

    texts = ["NATO NATO NATO NATO", "Antidisestablishmentarianism", "a b c d e f g h i j k", "short"]
    lengths = token_lengths(texts, EmbedConfig())
    assert lengths == [6, 10, 13, 3]  # wordpieces with [CLS] and [SEP], not characters (19, 28, 21, 5)
    order = chunks.flatten(chunks.embedding_chunks(texts, 2, 4, lengths))
    assert order == ["a b c d e f g h i j k", "Antidisestablishmentarianism", "NATO NATO NATO NATO", "short"]
    assert chunks.flatten(chunks.embedding_chunks(texts, 2, 4))[0] == "Antidisestablishmentarianism"  # by characters
    with pytest.raises(ValueError, match="lengths has 3 values for 4 texts"):
        chunks.embedding_chunks(texts, 2, 4, lengths[:3])
