"""Clustering past what one fit holds: fit on a seeded sample, assign the rest in streaming batches.

Above ``cluster.max_fit`` claims (default 100,000) a full fit would need O(N^2) similarity work (the
within-the-cut graph, leftover pairing) and, for UMAP + HDBSCAN, a reduction of every point. Instead:

1. a seeded, content-keyed sample of ``max_fit`` claims (:func:`keyed_sample`) is clustered with the configured
   method (the whole ordinary fit: narratives, outlier reassignment, leftover pairing);
2. every other claim is compared, in batches of ``batch`` rows, with the narrative centroids and joins the
   nearest one when it is within the novelty cut (the same cut incremental runs use: cosine similarity
   ``>= 1 - distance_threshold`` for ``agglomerative``, ``>= reassign_threshold`` for ``umap_hdbscan``);
3. the claims no narrative took are a new pool: while it is larger than ``min_cluster_size``, steps 1-2 run
   again on it (at most ``rounds`` times), so narratives the first sample missed are still found; what is
   left stays unassigned.

Memory beyond the embedding matrix is bounded by the fit sample and one batch x centroids block (float32):
it does not grow with N. Same seed -> same result.

The sample is chosen by content, not by position: each vector gets a seeded hash of its bytes and the rows with
the smallest hashes are taken. Adding 1% new claims therefore changes about 1% of the sample (a draw by position
changes almost all of it), so a re-fit of a grown database draws nearly the same sample and reproduces the
narratives it had. (Below ``max_fit``, average linkage needs no sample at all: :mod:`narratives.rac`.)
"""

from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np


def novelty_similarity(method: str, distance_threshold: float, reassign_threshold: float) -> float:
    """The cosine similarity a claim needs to join an existing narrative (see module doc, step 2)."""
    return 1.0 - distance_threshold if method == "agglomerative" else reassign_threshold


def row_keys(X: np.ndarray, seed: int) -> np.ndarray:
    """A seeded 64-bit hash of each row's float32 bytes: the same vector gets the same key in every run."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    salt = int(seed).to_bytes(8, "little", signed=True)
    return np.fromiter((int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8, key=salt).digest(), "little")
                        for row in X), dtype=np.uint64, count=len(X))


def keyed_sample(keys: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` rows of ``rows`` with the smallest ``keys`` (ties by row), in ascending row order."""
    rows = np.asarray(rows)
    if size >= len(rows):
        return np.sort(rows)
    order = np.lexsort((rows, keys[rows]))
    return np.sort(rows[order[:size]])


BLOCK = 8192  # rows per block: temporaries of a few MB, which the allocator reuses (large fresh arrays cost page faults)


def cluster_sums(X: np.ndarray, labels: np.ndarray, k: int, rows: np.ndarray | None = None,
                 block: int = BLOCK) -> np.ndarray:
    """Sum of the rows of each cluster 0..k-1 (float64; rows labelled < 0 are left out). ``labels[i]`` is the
    label of ``X[rows[i]]`` (of ``X[i]`` without ``rows``). A block of rows at a time: no float64 copy of X."""
    from scipy import sparse

    C = np.zeros((k, X.shape[1]), dtype=np.float64)
    labels = np.asarray(labels)
    rows = None if rows is None else np.asarray(rows)
    for start in range(0, len(labels), block):
        lab = labels[start:start + block]
        ok = np.flatnonzero(lab >= 0)
        if len(ok):
            idx = start + ok if rows is None else rows[start + ok]
            G = sparse.csr_matrix((np.ones(len(ok)), (lab[ok], np.arange(len(ok)))), shape=(k, len(ok)))
            C += G @ np.asarray(X[idx], dtype=np.float64)
    return C


def row_dots(X: np.ndarray, rows: np.ndarray, C: np.ndarray, which: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """``X[rows[i]] . C[which[i]]`` for every i, in float64, a block at a time (no float64 copy of X, no
    len(rows) x dim gather of C)."""
    out = np.empty(len(rows), dtype=np.float64)
    for start in range(0, len(rows), block):
        r = rows[start:start + block]
        out[start:start + len(r)] = np.einsum("ij,ij->i", np.asarray(X[r], dtype=np.float64), C[which[start:start + len(r)]])
    return out


def centroids(X: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Unit-length mean of each cluster 0..k-1 (float64; a zero row for an empty id), one pass over the
    assigned rows."""
    C = cluster_sums(X, labels, k)
    norms = np.linalg.norm(C, axis=1, keepdims=True)
    return C / np.where(norms == 0, 1.0, norms)


def assign_nearest(X: np.ndarray, rows: np.ndarray, C: np.ndarray, sim_min: float,
                   batch: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid of each row in ``rows`` (index into ``C``, -1 when its similarity is below
    ``sim_min``) and that similarity; computed ``batch`` rows at a time."""
    best = np.full(len(rows), -1, dtype=np.int64)
    sim = np.full(len(rows), -np.inf, dtype=np.float32)
    if not len(C):
        return best, sim
    for start in range(0, len(rows), batch):
        part = rows[start:start + batch]
        S = X[part] @ C.T
        j = S.argmax(axis=1)
        s = S[np.arange(len(part)), j]
        best[start:start + len(part)] = np.where(s >= sim_min, j, -1)
        sim[start:start + len(part)] = s
    return best, sim


def sampled_fit(X: np.ndarray, fit: Callable[[np.ndarray], np.ndarray], max_fit: int, sim_min: float,
                min_cluster_size: int = 2, seed: int = 42, rounds: int = 3, batch: int = 4096,
                on_progress: Callable[[str], None] | None = None) -> np.ndarray:
    """Labels (-1 = unassigned) for every row of ``X``; ``fit`` clusters one sample (at most ``max_fit``
    rows) and returns its labels. See the module doc."""
    say = on_progress or (lambda _m: None)
    X = np.asarray(X, dtype=np.float32)
    n = len(X)
    labels = np.full(n, -1, dtype=np.int64)
    keys = row_keys(X, seed)
    pool = np.arange(n)
    k = 0
    for r in range(rounds):
        if len(pool) < max(2, min_cluster_size):
            break
        sample = keyed_sample(keys, pool, max_fit)
        sub = np.asarray(fit(X[sample]), dtype=np.int64)
        found = np.unique(sub[sub >= 0])
        if not len(found):
            break
        labels[sample[sub >= 0]] = k + np.searchsorted(found, sub[sub >= 0])
        k += len(found)
        rest = np.setdiff1d(pool, sample, assume_unique=True)
        C = centroids(X, labels, k).astype(np.float32)
        best, _ = assign_nearest(X, rest, C, sim_min, batch)
        labels[rest[best >= 0]] = best[best >= 0]
        pool = np.concatenate([sample[sub < 0], rest[best < 0]])
        pool.sort()
        say(f"round {r + 1}: fitted {len(sample):,} claims ({len(found):,} narratives), assigned "
            f"{int((best >= 0).sum()):,} of {len(rest):,} others; {len(pool):,} left")
        if len(rest) == 0:
            break
    return labels
