"""How far any single cut of a clustering tree can go on each dev set: an upper bound, not a method.

For each dev set in ../shared/data (see narratives/devsets.py) and each of several item representations, it builds
the average-linkage tree of all items (cosine distance) and cuts it at 40 heights; each cut is scored against the
gold on the scored items (unassigned = singletons, as in bench/accuracy.py) and the **best** cut is printed. That
cut is chosen by looking at the gold, so no method that picks its cut without the gold can beat it on that tree:
it tells whether a target such as "ARI 0.15 above the best reference" is within reach of a representation at all.
Also printed: how often a scored item's nearest scored neighbour shares its gold group (nn) and its coarse group.

Representations:
  product      - what the product embeds (claim-record cleaning, attribution stripped, MiniLM; the first 256
                 tokens of a long text)
  mean-sent    - the mean of the MiniLM vectors of the item's sentences (narratives.claims.split_sentences)
  tfidf        - word TF-IDF (sublinear tf, English stop words, min_df 2)
  product+tfidf - the mean of the two cosine similarities

    .venv/bin/python bench/ceiling.py [--sets euvsdisinfo,clef,semeval]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.feature_extraction.text import TfidfVectorizer

from narratives.claims import split_sentences
from narratives.config import EmbedConfig
from narratives.devsets import LOADERS
from narratives.embed import embed_texts, make_embedder
from narratives.evaluate import score
from narratives.caches import DuckDBEmbeddingCache

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import DATA, ROOT, product_texts  # noqa: E402  (the same texts accuracy.py embeds)


def _unit(M: np.ndarray) -> np.ndarray:
    return M / np.maximum(np.linalg.norm(M, axis=1, keepdims=True), 1e-12)


def mean_sentence_vectors(texts: list[str], fallback: np.ndarray, embed) -> np.ndarray:
    sents, owner = [], []
    for i, t in enumerate(texts):
        for s in split_sentences(t):
            sents.append(s.text)
            owner.append(i)
    V = embed(sents)
    out = fallback.astype(np.float64).copy()
    owner = np.asarray(owner)
    if len(owner):
        sums = np.zeros_like(out)
        np.add.at(sums, owner, V)
        has = np.bincount(owner, minlength=len(texts)) > 0
        out[has] = sums[has]
    return _unit(out)


def best_cut(sim: np.ndarray, gold: np.ndarray, scored: np.ndarray, heights: int = 40) -> tuple[float, float, int]:
    """(best ARI, its cut distance, k among the scored items) over ``heights`` cuts of the average-linkage tree."""
    D = np.clip(1.0 - sim, 0.0, 2.0)
    np.fill_diagonal(D, 0.0)
    Z = linkage(squareform(D, checks=False), method="average")
    best = (-1.0, 0.0, 0)
    for t in np.unique(np.quantile(Z[:, 2], np.linspace(0.02, 0.98, heights))):
        labels = fcluster(Z, t=t, criterion="distance")
        s = score(gold, labels[scored])
        if s.ari > best[0]:
            best = (s.ari, float(t), s.k_pred)
    return best


def nn_share(sim: np.ndarray, labels: np.ndarray, scored: np.ndarray) -> float:
    S = sim[np.ix_(scored, scored)].copy()
    np.fill_diagonal(S, -np.inf)
    lab = labels[scored]
    return float((lab[S.argmax(axis=1)] == lab).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="euvsdisinfo,clef,semeval")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"dev sets not found at {DATA}: they live in ../shared/data beside the checkout")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    embedder = make_embedder(EmbedConfig())
    cache = DuckDBEmbeddingCache(ROOT / ".cache" / "bench_embeddings.duckdb")

    def embed(texts: list[str]) -> np.ndarray:
        return embed_texts(texts, embedder, cache, batch_size=64)[0].astype(np.float64)

    print(f"# embeddings: {embedder.name}; best of 40 cuts of the average-linkage tree, chosen with the gold")
    print(f"{'set':12s} {'representation':14s} {'nn':>5s} {'nn-coarse':>9s} {'best ARI':>8s} {'at cut':>6s} {'k':>4s}")
    for name in args.sets.split(","):
        items = LOADERS[name](DATA)
        texts = product_texts(items["text"])
        scored = np.flatnonzero(items["scored"].to_numpy())
        gold = items["gold"].to_numpy()
        coarse = items["coarse_gold"].to_numpy()
        P = _unit(embed(texts))
        M = mean_sentence_vectors(texts, P, embed)
        T = _unit(TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2)
                  .fit_transform(items["text"]).toarray())
        reps = {"product": P @ P.T, "mean-sent": M @ M.T, "tfidf": T @ T.T}
        reps["product+tfidf"] = (reps["product"] + reps["tfidf"]) / 2
        for rep, sim in reps.items():
            ari, cut, k = best_cut(sim, gold[scored], scored)
            nc = f"{nn_share(sim, coarse, scored):9.2f}" if items["coarse_gold"].notna().any() else f"{'':>9s}"
            print(f"{name:12s} {rep:14s} {nn_share(sim, gold, scored):5.2f} {nc} {ari:8.3f} {cut:6.3f} {k:4d}",
                  flush=True)


if __name__ == "__main__":
    main()
