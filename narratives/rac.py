"""Average linkage on cosine distance, cut at a threshold, exactly and in O(N x block) memory (no distance matrix).

For unit vectors the average-linkage distance of two clusters is ``1 - mean_A . mean_B``: the mean of the pairwise
cosine similarities is the dot product of the (unnormalised) mean vectors. So a cluster is fully described by its
mean vector and size, and merging two is a weighted mean.

Merges follow Reciprocal Agglomerative Clustering (Sumengen et al., 2021, "Scaling Hierarchical Agglomerative
Clustering to Billion-sized Datasets"): in each round every pair of clusters that are each other's nearest
neighbour merges at once. For a reducible linkage such as average linkage this gives the same clusters as
merging one closest pair at a time (scipy's ``linkage``), ties aside. A cluster whose nearest neighbour is farther
than the cut is final (its best similarity can only fall); after a round only the merged clusters and those whose
nearest neighbour was merged look for a new one (a merged cluster is never closer to a third cluster than the
nearer of its two parts), and not even those when each cluster's second-best similarity, an upper bound for
every cluster but its nearest, settles it: the merge is then their nearest neighbour, or nothing is within the cut.
The first search reads the upper triangle of the similarity matrix along both axes (half the products).

Nearest neighbours are searched in float32 blocks of ``block`` rows; means and the similarity that decides a merge
are float64. Memory: the mean vectors plus one block x clusters similarity block.
"""

from __future__ import annotations

import numpy as np


def _nearest(Vf: np.ndarray, rows: np.ndarray, alive: np.ndarray, block: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest alive cluster (by dot product of means) of each cluster in ``rows``, that similarity, and the
    second-best similarity (an upper bound for every other cluster)."""
    cand = np.flatnonzero(alive)
    nn = np.full(len(rows), -1, dtype=np.int64)
    sim = np.full(len(rows), -np.inf)
    second = np.full(len(rows), -np.inf)
    if len(cand) < 2:
        return nn, sim, second
    C = Vf[cand]
    pos = np.searchsorted(cand, rows)
    for start in range(0, len(rows), block):
        part = rows[start:start + block]
        S = Vf[part] @ C.T
        own = pos[start:start + block]
        hit = (own < len(cand)) & (cand[np.minimum(own, len(cand) - 1)] == part)
        S[np.flatnonzero(hit), own[hit]] = -np.inf  # a cluster is not its own neighbour
        j, sim[start:start + len(part)], second[start:start + len(part)] = _top2(S)
        nn[start:start + len(part)] = cand[j]
    return nn, sim, second


def _top2(S: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``S``: column of the largest entry (first on ties), its value and the second-largest value.
    Overwrites the largest entries of ``S``."""
    j = S.argmax(axis=1)
    at = np.arange(len(S))
    best = S[at, j].astype(np.float64)
    S[at, j] = -np.inf
    return j, best, S.max(axis=1).astype(np.float64)


def _merge_top2(nn, sim, second, rows, cand_nn, cand_sim, cand_second) -> None:
    """Fold candidates from a disjoint set of clusters into the running (nn, sim, second) of ``rows``; on ties the
    running (lower-indexed) neighbour stays."""
    b, b2 = sim[rows], second[rows]
    new = cand_sim > b
    nn[rows] = np.where(new, cand_nn, nn[rows])
    sim[rows] = np.where(new, cand_sim, b)
    second[rows] = np.where(new, np.maximum(cand_second, b), np.maximum(b2, cand_sim))


def _nearest_all(Vf: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_nearest` for every row against every row, from the upper triangle of the similarity matrix only
    (each block of rows against itself and the rows after it, read along both axes): half the products."""
    n = len(Vf)
    nn = np.full(n, -1, dtype=np.int64)
    sim = np.full(n, -np.inf)
    second = np.full(n, -np.inf)
    for start in range(0, n, block):
        stop = min(start + block, n)
        S = Vf[start:stop] @ Vf[start:].T  # rows start..stop against columns start..n
        S[np.arange(stop - start), np.arange(stop - start)] = -np.inf
        if stop < n:  # the columns after the block learn from its rows
            j, v, v2 = _top2(np.ascontiguousarray(S[:, stop - start:].T))  # as rows: fast reductions
            cols = np.arange(stop, n)
            _merge_top2(nn, sim, second, cols, j + start, v, v2)
        j, v, v2 = _top2(S)
        _merge_top2(nn, sim, second, np.arange(start, stop), j + start, v, v2)
    return nn, sim, second


def average_linkage_cut(X: np.ndarray, distance_threshold: float, block: int = 2048) -> np.ndarray:
    """Flat clusters of average linkage on cosine distance cut at ``distance_threshold`` (as scipy's
    ``fcluster(linkage(pdist(X, 'cosine'), 'average'), t, 'distance')``): a dense label 0..k-1 per row, numbered by
    first member. Rows are normalised to unit length first."""
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    V = X / np.where(norms == 0, 1.0, norms)
    Vf = V.astype(np.float32)
    size = np.ones(n, dtype=np.float64)
    parent = np.arange(n)
    alive = np.ones(n, dtype=bool)
    sim_min = 1.0 - distance_threshold
    slack = 1e-6  # float32 search; the similarity that decides a merge is float64
    nn, nnsim, second = _nearest_all(Vf, block)

    def search(rows: np.ndarray) -> None:
        nn[rows], nnsim[rows], second[rows] = _nearest(Vf, rows, alive, block)

    while True:
        alive &= nnsim >= sim_min - slack  # final: nothing within the cut (and merges never raise similarities)
        stale = np.flatnonzero(alive)
        stale = stale[~alive[nn[stale]]]  # nearest neighbour merged away or final: look again
        if len(stale):
            search(stale)
            continue
        rows = np.flatnonzero(alive)
        if len(rows) < 2:
            break
        partner = nn[rows]
        recip = (partner > rows) & (nn[partner] == rows)
        if not recip.any():  # float32 near-ties can form a cycle: take the single closest pair
            i = rows[int(np.argmax(nnsim[rows]))]
            a, b = np.array([min(i, nn[i])]), np.array([max(i, nn[i])])
        else:
            a, b = rows[recip], partner[recip]
        go = np.einsum("ij,ij->i", V[a], V[b]) >= sim_min
        alive[a[~go]] = alive[b[~go]] = False  # only just outside the cut in float64: final
        a, b = a[go], b[go]
        if not len(a):
            continue
        wa, wb = size[a][:, None], size[b][:, None]
        # every cluster but its partner was at most `second` from each part, so at most this from the merge
        bound = (wa[:, 0] * second[a] + wb[:, 0] * second[b]) / (wa[:, 0] + wb[:, 0])
        V[a] = (wa * V[a] + wb * V[b]) / (wa + wb)
        Vf[a] = V[a]
        size[a] += size[b]
        parent[b] = a
        alive[b] = False
        merged_into = np.full(n, -1, dtype=np.int64)
        merged_into[a], merged_into[b] = a, a
        # clusters whose nearest neighbour was a part: the merge is at most as close, every other cluster at most
        # `second`; so the merge is their nearest when it is at least `second`, and nothing is within the cut
        # when both are below it
        w = np.flatnonzero(alive & (merged_into[nn] >= 0))
        w = w[merged_into[w] < 0]
        target = merged_into[nn[w]]
        s_new = np.einsum("ij,ij->i", Vf[w], Vf[target]).astype(np.float64)
        take = s_new >= second[w]
        nn[w[take]], nnsim[w[take]] = target[take], s_new[take]
        done = ~take & (np.maximum(s_new, second[w]) < sim_min - slack)
        nnsim[w[done]] = -np.inf  # final
        lone = bound < sim_min - slack
        nnsim[a[lone]] = -np.inf  # final: nothing can be within the cut of the merge
        redo = np.concatenate([a[~lone], w[~take & ~done]])
        redo = np.unique(redo[alive[redo]])
        if len(redo):
            search(redo)
    root = parent.copy()
    while True:  # follow merges to each row's final cluster
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    _, first, dense = np.unique(root, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[dense.ravel()]
