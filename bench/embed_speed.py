"""Embedding backends side by side on the same real claim texts, in one process: sentences per second and
fidelity to sentence-transformers fp32 (mean / min cosine, share of nearest neighbours kept).

    .venv/bin/python bench/embed_speed.py [--n 2000] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import DATA, claim_pool  # noqa: E402

from narratives.config import EmbedConfig  # noqa: E402
from narratives.embed import make_embedder  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    pool = claim_pool(DATA)
    texts = pool["text"].iloc[np.random.default_rng(1).permutation(len(pool))[:args.n]].tolist()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    rows, ref = [], None
    for backend, precision in (("torch", "fp32"), ("torch", "bf16"), ("onnx", "fp32"), ("onnx", "int8")):
        e = make_embedder(EmbedConfig(backend=backend, precision=precision, threads=args.threads))
        e.encode(texts[:64])  # load (and export on first use) outside the timing
        t0 = time.perf_counter()
        X = e.encode(texts, batch_size=64)
        dt = time.perf_counter() - t0
        if ref is None:
            ref, base = X, dt
        cos = (X * ref).sum(axis=1)
        S, R = X @ X.T, ref @ ref.T
        np.fill_diagonal(S, -2)
        np.fill_diagonal(R, -2)
        nn_s, nn_r = np.argsort(-S, axis=1)[:, :10], np.argsort(-R, axis=1)[:, :10]
        kept = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(nn_s, nn_r)])
        rows.append((f"{backend} {precision}", len(texts) / dt, base / dt, cos.mean(), cos.min(), kept))
        print(f"{rows[-1][0]:<11} {rows[-1][1]:7.0f} sentences/s  x{rows[-1][2]:.2f} vs torch fp32  "
              f"cosine mean {rows[-1][3]:.5f} min {rows[-1][4]:.4f}  10-NN kept {rows[-1][5]:.3f}", flush=True)


if __name__ == "__main__":
    main()
