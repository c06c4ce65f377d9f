"""Synthetic embeddings shared by the clustering tests."""

from __future__ import annotations

import numpy as np


def blobs(n_per: int = 30, k: int = 8, dim: int = 32, spread: float = 0.25, seed: int = 0):
    """``k`` groups of ``n_per`` unit vectors around random centres (float32), and each row's group."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    X = np.repeat(centres, n_per, axis=0) + spread * rng.normal(size=(k * n_per, dim))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), np.repeat(np.arange(k), n_per)
