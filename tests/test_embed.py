import numpy as np
import pytest

from narratives.embed import HashingEmbedder, SentenceTransformerEmbedder, embed_texts, text_hash
from narratives.errors import ConfigError


class DictCache:
    def __init__(self):
        self.data = {}

    def rows(self, model, hashes):
        found = np.array([(model, h) in self.data for h in hashes], dtype=bool)
        if not found.any():
            return None, found
        dim = len(next(v for (m, h), v in self.data.items() if (m, h) == (model, hashes[int(found.argmax())])))
        M = np.zeros((len(hashes), dim), dtype=np.float32)
        for i, h in enumerate(hashes):
            if found[i]:
                M[i] = self.data[(model, h)]
        return M, found

    def put(self, model, hashes, vectors):
        for h, v in zip(hashes, vectors):
            self.data.setdefault((model, h), v)

    def has(self, model, hashes):
        return {h for h in hashes if (model, h) in self.data}


class CountingEmbedder(HashingEmbedder):
    def __init__(self):
        super().__init__(64)
        self.seen = []

    def encode(self, texts, batch_size=64, progress=False):
        self.seen.extend(texts)
        return super().encode(texts, batch_size, progress)


def test_hashing_embedder_is_deterministic_and_normalised():
    e = HashingEmbedder(128)
    a = e.encode(["NATO expands east", "NATO expands east", "weather is sunny"])
    assert np.allclose(a[0], a[1])
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0)
    assert a[0] @ a[1] > a[0] @ a[2]


def test_cache_means_no_text_is_embedded_twice():
    cache, e = DictCache(), CountingEmbedder()
    X1, n1 = embed_texts(["a claim here", "another claim", "a claim here"], e, cache)
    assert n1 == 2 and e.seen == ["a claim here", "another claim"]
    X2, n2 = embed_texts(["another claim", "third claim"], e, cache)
    assert n2 == 1 and e.seen[-1] == "third claim"
    assert np.allclose(X2[0], X1[1])
    assert text_hash("x") != text_hash("y")


def test_unloadable_model_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot load a sentence-transformers model"):
        SentenceTransformerEmbedder(str(tmp_path / "no-model")).encode(["x"])


@pytest.mark.slow
def test_real_minilm_offline():
    e = SentenceTransformerEmbedder()
    X = e.encode(["NATO moves its military infrastructure to Russia's borders.",
                  "The alliance keeps bringing its bases closer to the Russian frontier.",
                  "The zoo welcomed two snow leopard cubs this spring."])
    assert X.shape == (3, 384) and X.dtype == np.float32
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    assert X[0] @ X[1] > 0.5 > X[0] @ X[2]


def test_uncached_texts():
    from narratives.embed import uncached_texts

    cache = DictCache()
    assert uncached_texts(["a", "b", "a"], "m", cache) == ["a", "b"]
    embed_texts(["a"], CountingEmbedder(), cache)
    assert len(uncached_texts(["a", "b", "a"], "hashing-64", cache)) == 1
    assert uncached_texts(["a"], "other", cache) == ["a"]


def test_fill_cache_adds_only_missing():
    from narratives.embed import NewVectors, fill_cache

    cache, e = DictCache(), CountingEmbedder()
    X, _ = embed_texts(["a b c", "d e f"], e, cache)
    fresh = DictCache()
    fill_cache(NewVectors.of("m", ["a b c", "d e f", "a b c"], X[[0, 1, 0]]), fresh)
    assert len(fresh.data) == 2 and np.allclose(fresh.data[("m", text_hash("d e f"))], X[1])


def test_fill_cache_writes_once_and_reads_nothing():
    from narratives.embed import NewVectors, fill_cache, uncached_texts

    class CountingCache(DictCache):
        gets = hass = 0

        def rows(self, model, hashes):
            CountingCache.gets += 1
            return super().rows(model, hashes)

        def has(self, model, hashes):
            CountingCache.hass += 1
            return super().has(model, hashes)

        def put(self, model, hashes, vectors):
            CountingCache.puts += 1
            return super().put(model, hashes, vectors)

    CountingCache.puts = 0
    cache = CountingCache()
    texts = [f"text number {i}" for i in range(50)]
    fill_cache(NewVectors.of("m", texts, HashingEmbedder(8).encode(texts)), cache)
    assert (CountingCache.gets, CountingCache.hass, CountingCache.puts) == (0, 0, 1) and len(cache.data) == 50
    assert uncached_texts(texts + ["a new one"], "m", cache) == ["a new one"]
    assert (CountingCache.gets, CountingCache.hass) == (0, 1)


@pytest.mark.slow
def test_bf16_backend_matches_fp32(seeds_dir):
    """embed.precision=bf16: mean cosine >= 0.99 to fp32 on real claims (the seed pages), and a separate cache key."""
    from narratives.claims import extract_claims
    from narratives.clean import clean_articles
    from narratives.config import Config
    from narratives.ingest import ingest
    from narratives.outlets import OutletAliases

    cfg = Config()
    records = ingest(seeds_dir, cfg.ingest).records
    claims = extract_claims(clean_articles(records, OutletAliases.load(cfg.ingest.outlet_aliases)), cfg.claims)
    texts = claims["embed_text"].tolist()
    assert len(texts) >= 50
    fp32 = SentenceTransformerEmbedder(precision="fp32")
    bf16 = SentenceTransformerEmbedder(precision="bf16")
    A, B = fp32.encode(texts), bf16.encode(texts)
    cos = (A * B).sum(axis=1)
    print(f"bf16 vs fp32 on {len(texts)} seed claims: mean cosine {cos.mean():.5f}, min {cos.min():.5f}")
    assert B.dtype == np.float32 and np.allclose(np.linalg.norm(B, axis=1), 1.0, atol=1e-5)
    assert cos.mean() >= 0.99 and cos.min() >= 0.98
    assert bf16.name == fp32.name + "@bf16"


def test_precision_auto_and_validation(monkeypatch):
    from narratives import embed

    monkeypatch.setattr(embed, "cpu_has_bf16", lambda: True)
    assert embed.resolve_precision("auto") == "bf16" and embed.resolve_precision("auto", "cuda") == "fp32"
    monkeypatch.setattr(embed, "cpu_has_bf16", lambda: False)
    assert embed.resolve_precision("auto") == "fp32" and embed.resolve_precision("bf16") == "bf16"
    with pytest.raises(ConfigError, match="embed.precision"):
        embed.resolve_precision("int4")
