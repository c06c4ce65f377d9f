"""Accuracy on the labelled dev sets, side by side with the reference methods, in one process.

For each dev set in ../shared/data (EUvsDisinfo, CLEF 2020, SemEval-2025 EN; see narratives/devsets.py) all items
are embedded once with the product's path (claim-record cleaning, attribution stripped, MiniLM) and clustered by:
  narratives   - the product's defaults (narratives and themes)
  umap+hdbscan - plain UMAP + HDBSCAN, min_cluster_size=3 (the issue's reference)
  bertopic     - BERTopic defaults, and min_topic_size=5, on the same embeddings (bench-only extra:
                 pip install -c constraints.txt '.[bench]')
Unassigned items count as singletons for everyone. Prints k, coverage, ARI, NMI and pairwise F1, and the seed
agreement (ARI between seeds 1 and 2) of the product.

    .venv/bin/python bench/accuracy.py [--sets euvsdisinfo,clef,semeval] [--no-bertopic]
                                       [--backend onnx|torch] [--precision int8|fp32|bf16]

Embeddings come from the configured backend (default: the product's default, ONNX int8); BERTopic gets the
same vectors.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from narratives.claims import strip_attribution
from narratives.clean import clean_claim_text
from narratives.cluster import HDBSCANClusterer, NarrativeClusterer, UMAPReducer
from narratives.config import Config, EmbedConfig
from narratives.devsets import LOADERS
from narratives.embed import SentenceTransformerEmbedder, embed_texts, make_embedder
from narratives.evaluate import score, with_singletons
from narratives.caches import DuckDBEmbeddingCache

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def product_texts(texts: pd.Series) -> list[str]:
    return [strip_attribution(clean_claim_text(t).text) or t for t in texts]


def run_narratives(X: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    cfg = Config().cluster.model_copy(update={"seed": seed})
    fit = NarrativeClusterer(cfg).fit(X)
    themes = np.where(fit.labels_ >= 0, fit.themes_[np.maximum(fit.labels_, 0)] if fit.n_narratives_ else -1, -1)
    return fit.labels_, themes


def run_plain(X: np.ndarray, seed: int, mcs: int = 3) -> np.ndarray:
    Z = UMAPReducer(5, 15, 0.0, "cosine", seed).fit_transform(X)
    return HDBSCANClusterer(mcs, None, "eom").fit_predict(Z)


def run_bertopic(docs: list[str], X: np.ndarray, model, **kw) -> np.ndarray:
    from bertopic import BERTopic

    topics, _ = BERTopic(embedding_model=model, **kw).fit_transform(docs, embeddings=X)
    return np.asarray(topics)


def row(name: str, level: str, gold, pred) -> dict:
    s = score(gold, pred)
    return {"set": name, "method": level, "k": s.k_pred, "coverage": s.coverage, "ARI": s.ari, "NMI": s.nmi,
            "pairF1": s.pairwise_f1}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="euvsdisinfo,clef,semeval")
    ap.add_argument("--no-bertopic", action="store_true")
    ap.add_argument("--backend", default=EmbedConfig().backend, choices=["onnx", "torch"], help="embedding backend")
    ap.add_argument("--precision", default=None, choices=["int8", "fp32", "bf16", "auto"],
                    help="embedding precision (default: the backend's default)")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"dev sets not found at {DATA}: they live in ../shared/data beside the checkout")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    precision = args.precision or ("int8" if args.backend == "onnx" else "fp32")
    embedder = make_embedder(EmbedConfig(backend=args.backend, precision=precision))
    st_model = SentenceTransformerEmbedder()  # BERTopic's embedding_model argument (it gets our vectors)
    print(f"# embeddings: {embedder.name}", flush=True)
    cache = DuckDBEmbeddingCache(ROOT / ".cache" / "bench_embeddings.duckdb")
    rows, agreement = [], {}
    for name in args.sets.split(","):
        items = LOADERS[name](DATA)
        docs = product_texts(items["text"])
        X, _ = embed_texts(docs, embedder, cache, batch_size=64)
        sc = items["scored"].to_numpy()
        gold, coarse = items["gold"].to_numpy()[sc], items["coarse_gold"].to_numpy()[sc]
        t0 = time.time()
        labels, themes = run_narratives(X, seed=1)
        took = time.time() - t0
        labels2, _ = run_narratives(X, seed=2)
        agreement[name] = adjusted_rand_score(with_singletons(labels), with_singletons(labels2))
        rows.append(row(name, "narratives", gold, labels[sc]) | {"s": took})
        if items["coarse_gold"].notna().any():
            rows.append(row(name, "narratives:themes vs coarse", coarse, themes[sc]))
        rows.append(row(name, "umap+hdbscan mcs=3", gold, run_plain(X, seed=1)[sc]))
        if not args.no_bertopic:
            try:
                rows.append(row(name, "bertopic defaults", gold, run_bertopic(docs, X, st_model._load())[sc]))
                rows.append(row(name, "bertopic min_topic_size=5", gold,
                                run_bertopic(docs, X, st_model._load(), min_topic_size=5)[sc]))
            except ImportError:
                print("bertopic not installed: pip install -c constraints.txt '.[bench]'", file=sys.stderr)
        print(f"# {name}: {len(items)} items clustered, {sc.sum()} scored in {len(set(gold))} groups", flush=True)
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for name, a in agreement.items():
        print(f"seed agreement {name}: ARI(seed 1, seed 2) = {a:.3f}")
    for name in agreement:
        t = table[table["set"] == name].set_index("method")["ARI"]
        refs = t.drop(index=[m for m in t.index if m.startswith("narratives")])
        if len(refs):
            print(f"margin {name}: narratives ARI {t['narratives']:.3f} - best reference {refs.max():.3f} "
                  f"= {t['narratives'] - refs.max():+.3f}")


if __name__ == "__main__":
    main()
