"""The ONNX Runtime embedding backend (narratives/onnx_embed.py): configuration rules, the export's refusal of
pipelines it cannot reproduce, and (slow) the real export matching sentence-transformers fp32 on real claims."""

from __future__ import annotations

import json

import numpy as np
import pytest

from narratives.config import Config, ConfigError, EmbedConfig


def test_precision_must_fit_backend():
    assert EmbedConfig().backend == "onnx" and EmbedConfig().precision == "int8"
    EmbedConfig(backend="torch", precision="bf16")
    with pytest.raises(ValueError, match="int8 needs backend onnx"):
        EmbedConfig(backend="torch", precision="int8")
    with pytest.raises(ValueError, match="bf16 needs backend torch"):
        EmbedConfig(backend="onnx", precision="bf16")
    with pytest.raises(ConfigError, match="embed"):
        Config().with_overrides(embed={"backend": "onnx", "device": "cuda"})


def test_cache_keys_differ_by_backend_and_precision():
    from narratives.embed import cache_key

    keys = {cache_key(EmbedConfig(backend=b, precision=p))
            for b, p in (("onnx", "int8"), ("onnx", "fp32"), ("torch", "fp32"), ("torch", "bf16"))}
    assert len(keys) == 4
    assert cache_key(EmbedConfig(backend="torch", precision="fp32")) == EmbedConfig().model


def _fake_model(tmp_path, pooling: dict, modules: list[str]):
    tmp_path.mkdir()
    (tmp_path / "tokenizer.json").write_text("{}")
    (tmp_path / "modules.json").write_text(json.dumps(
        [{"idx": i, "name": str(i), "path": "1_Pooling" if m == "Pooling" else "", "type": f"sentence_transformers.models.{m}"}
         for i, m in enumerate(modules)]))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return tmp_path


def test_export_refuses_pipelines_it_cannot_reproduce(tmp_path):
    from narratives.onnx_embed import model_layout

    cls = _fake_model(tmp_path / "cls", {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False},
                      ["Transformer", "Pooling"])
    with pytest.raises(ConfigError, match="mean pooling only"):
        model_layout(cls)
    dense = _fake_model(tmp_path / "dense", {"pooling_mode_mean_tokens": True}, ["Transformer", "Pooling", "Dense"])
    with pytest.raises(ConfigError, match="Dense"):
        model_layout(dense)
    ok = _fake_model(tmp_path / "ok", {"pooling_mode_mean_tokens": True}, ["Transformer", "Pooling", "Normalize"])
    assert model_layout(ok) == {"max_seq_length": 256, "normalize": True}
    with pytest.raises(ConfigError, match="tokenizer"):
        model_layout(tmp_path)


def test_fingerprint_follows_the_weights(tmp_path):
    from narratives.onnx_embed import fingerprint

    (tmp_path / "model.safetensors").write_bytes(b"weights-1")
    a = fingerprint(tmp_path, "int8")
    assert fingerprint(tmp_path, "int8") == a and fingerprint(tmp_path, "fp32") != a
    (tmp_path / "model.safetensors").write_bytes(b"weights-2")
    assert fingerprint(tmp_path, "int8") != a


def test_fingerprint_memo_follows_size_time_and_inode(tmp_path):
    """The remembered fingerprint is reused only while every file keeps its size, modification time and inode;
    files modified in the last seconds are hashed every time."""
    import os
    import time

    from narratives.onnx_embed import fingerprint

    model, memo = tmp_path / "model", tmp_path / "memo"
    model.mkdir()
    w = model / "model.safetensors"
    w.write_bytes(b"weights-1")
    a = fingerprint(model, "int8", memo_dir=memo)
    assert a == fingerprint(model, "int8") and not list(memo.glob("*.txt"))  # just written: nothing remembered
    old = time.time_ns() - 10 * 10**9
    os.utime(w, ns=(old, old))
    assert fingerprint(model, "int8", memo_dir=memo) == a and len(list(memo.glob("*.txt"))) == 1
    # remembered: proven by a rewrite that keeps size, time and inode (the limit the docstring states)
    w.write_bytes(b"weights-2")
    os.utime(w, ns=(old, old))
    assert fingerprint(model, "int8", memo_dir=memo) == a != fingerprint(model, "int8")
    os.utime(w, ns=(old + 1, old + 1))  # a new time: hashed again
    b = fingerprint(model, "int8", memo_dir=memo)
    assert b == fingerprint(model, "int8") != a
    w.write_bytes(b"weights-22")  # a new size with the old time: hashed again
    os.utime(w, ns=(old + 1, old + 1))
    assert fingerprint(model, "int8", memo_dir=memo) == fingerprint(model, "int8") not in (a, b)
    assert fingerprint(model, "fp32", memo_dir=memo) == fingerprint(model, "fp32")  # precision is in the key
    for f in memo.glob("*.txt"):
        f.write_text("not a digest")
    assert fingerprint(model, "int8", memo_dir=memo) == fingerprint(model, "int8")  # a damaged memo: hashed


@pytest.mark.slow
def test_onnx_backends_match_torch_fp32(seeds_dir, tmp_path):
    """The default backend (ONNX int8) keeps mean cosine >= 0.99 to sentence-transformers fp32 on real claims
    from the seed pages; ONNX fp32 is the same model (cosine >= 0.9999); batches run in parallel change nothing."""
    from narratives.claims import extract_claims
    from narratives.clean import clean_articles
    from narratives.embed import SentenceTransformerEmbedder, make_embedder
    from narratives.ingest import ingest
    from narratives.outlets import OutletAliases

    cfg = Config()
    records = ingest(seeds_dir, cfg.ingest).records
    claims = extract_claims(clean_articles(records, OutletAliases.load(cfg.ingest.outlet_aliases)), cfg.claims)
    texts = claims["embed_text"].tolist()
    assert len(texts) >= 50
    ref = SentenceTransformerEmbedder(precision="fp32").encode(texts)
    for precision, mean_min, min_min in (("int8", 0.99, 0.97), ("fp32", 0.9999, 0.9995)):
        e = make_embedder(EmbedConfig(backend="onnx", precision=precision))
        X = e.encode(texts, batch_size=16)
        cos = (X * ref).sum(axis=1)
        print(f"onnx {precision} vs torch fp32 on {len(texts)} seed claims: mean cosine {cos.mean():.5f}, "
              f"min {cos.min():.5f}")
        assert X.shape == ref.shape and X.dtype == np.float32
        assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
        assert cos.mean() >= mean_min and cos.min() >= min_min
        # nearest neighbours mostly agree with fp32 (what clustering sees)
        S, R = X @ X.T, ref @ ref.T
        np.fill_diagonal(S, -2)
        np.fill_diagonal(R, -2)
        assert (S.argmax(axis=1) == R.argmax(axis=1)).mean() >= 0.8
    # batches run in parallel (one core each) give the same vectors, in input order, as one at a time
    one = make_embedder(EmbedConfig(backend="onnx", precision="int8", threads=1)).encode(texts, batch_size=16)
    two = make_embedder(EmbedConfig(backend="onnx", precision="int8", threads=2)).encode(texts, batch_size=16)
    assert np.allclose(one, two, atol=1e-6)
