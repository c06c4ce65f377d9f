"""Clustering at large N: time and peak RSS of the default clusterer at 100k and 1M claims, each in a cold process.

Claims: the real short texts of ../shared/data (see bench/throughput.py, about 64k distinct), embedded once with
the default backend (cached in .cache/bench_embeddings.duckdb). Past that count, each further claim is a
paraphrase-like copy of a random real claim: its vector plus Gaussian noise scaled so that its cosine to the
source is about 0.9 (the similarity of a close rewording under MiniLM), unit length. Above
``cluster.max_fit`` (100k) the clusterer fits a 100k sample and assigns the rest in batches
(narratives/scale.py); at or below it, it runs the exact fit.

Measures NarrativeClusterer(Config().cluster).fit (narratives, themes, centroids, memberships): the stage
whose cost grows fastest with N. Prints N, seconds, peak RSS, narratives, coverage, and (for the synthetic
copies) the share that landed in their source's narrative.

    .venv/bin/python bench/scale.py [--sizes 100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def real_vectors() -> np.ndarray:
    from throughput import DATA, claim_pool

    from narratives.config import EmbedConfig
    from narratives.embed import embed_texts, make_embedder
    from narratives.caches import DuckDBEmbeddingCache

    texts = claim_pool(DATA)["text"].tolist()
    cache = DuckDBEmbeddingCache(ROOT / ".cache" / "bench_embeddings.duckdb")
    X, n_new = embed_texts(texts, make_embedder(EmbedConfig()), cache, batch_size=64, progress=True)
    print(f"# {len(texts):,} real claims ({n_new:,} embedded now, the rest from the cache)", flush=True)
    return X


def grow(X: np.ndarray, n: int, seed: int = 0, cosine: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """The first n rows: the real ones, then noisy copies; also each row's source row."""
    rng = np.random.default_rng(seed)
    src = np.concatenate([np.arange(min(n, len(X))), rng.integers(0, len(X), size=max(0, n - len(X)))])
    out = np.empty((n, X.shape[1]), dtype=np.float32)
    sigma = np.sqrt((1 / cosine**2 - 1) / X.shape[1])  # E|noise|^2 = tan^2(angle)
    for start in range(0, n, 100_000):
        s = src[start:start + 100_000]
        block = X[s].astype(np.float32)
        if start + len(s) > len(X):
            fake = np.arange(start, start + len(s)) >= len(X)
            block[fake] += rng.normal(scale=sigma, size=(int(fake.sum()), X.shape[1])).astype(np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:start + len(s)] = block
    return out, src


def child(path: str, n: int) -> None:
    from narratives.cluster import NarrativeClusterer
    from narratives.config import Config

    X, src = grow(np.load(path), n)
    t0 = time.perf_counter()
    fit = NarrativeClusterer(Config().cluster).fit(X, on_progress=lambda m: print("  ", m, flush=True))
    took = time.perf_counter() - t0
    labels = fit.labels_
    fake = np.arange(n) >= len(np.load(path, mmap_mode="r"))
    same = float((labels[fake] == labels[src[fake]])[labels[src[fake]] >= 0].mean()) if fake.any() else float("nan")
    print(json.dumps({"N": n, "cluster_s": round(took, 1), "narratives": int(fit.n_narratives_),
                      "themes": int(len(set(fit.themes_.tolist()))), "coverage": round(float((labels >= 0).mean()), 3),
                      "copies_with_source": round(same, 3),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child[0], int(args.child[1]))
    X = real_vectors()
    with tempfile.TemporaryDirectory(dir=ROOT / ".cache") as tmp:
        path = Path(tmp) / "real.npy"
        np.save(path, X)
        for n in [int(s) for s in args.sizes.split(",")]:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--child", str(path), str(n)], check=True, cwd=ROOT,
                           env={**os.environ, "PYTHONUNBUFFERED": "1"})
            print(f"# N={n:,}: process wall {time.perf_counter() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()
