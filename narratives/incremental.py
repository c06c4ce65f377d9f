"""Narrative ids that last: incremental assignment of new claims, and id matching after a full re-fit.

A narrative's id is given once and never reused. Each run is one of:

* ``full`` - every claim is clustered from scratch (first run, ``--recluster``, every ``update.recluster_every``
  runs, or when the unassigned share passes ``update.recluster_unassigned_share``). The new clusters are matched
  to the previous narratives by the Hungarian method on the Jaccard overlap of their claims; a pair that shares
  at least ``update.min_overlap`` keeps the old id. Unmatched clusters are born with new ids ('split' when most of
  their claims came from one earlier narrative, else 'birth'); unmatched old narratives end ('merge' into the
  narrative that took most of their claims, else 'death'). Events go to ``narrative_lineage``.
* ``incremental`` - existing assignments stay except in the neighbourhood of the claims without a narrative
  (new ones and those left unassigned before); see :func:`local_refit`. A claim joins an established narrative
  directly when average linkage would put it there; the others are clustered again with their nearest small
  narratives, whose ids are kept by matching; claims still alone are reassigned and paired as in a full run.
  The novelty threshold is the clusterer's own cut (``cluster.distance_threshold``): a claim farther than that
  from every narrative starts a new one (or stays unassigned). Re-using the clusterer's rules is what makes
  incremental results agree with a run over everything (ARI 0.99 for the demo fed as 10 daily batches; a plain
  "join the nearest centroid within a threshold" rule reached 0.81 because its result depends on arrival
  order). The work grows with the new claims (a budget of nearby claims per new one), not with the database.
* ``unchanged`` - the run brought no new claims: nothing is re-assigned.

Themes follow the same rule: narrative centroids are grouped again each run and each group keeps the theme id
that most of its claims had (Hungarian matching), new groups get new ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from narratives.cluster import AgglomerativeClusterer, NarrativeClusterer, group_themes, link_leftovers
from narratives.scale import centroids, cluster_sums, row_dots
from narratives.config import ClusterConfig, UpdateConfig
from narratives.schemas import NARRATIVE_LINEAGE

L = NARRATIVE_LINEAGE.c
MODES = ("full", "incremental", "unchanged")
NEIGHBOUR_NARRATIVES = 2  # per unassigned claim, the nearest narratives (within the cut) that are re-clustered
ESTABLISHED = 100  # narratives this large take a claim directly when its average similarity is within the cut
LOCAL_BUDGET = 10  # claims of nearby narratives clustered again, per unassigned claim (the nearest narratives first)


@dataclass
class Partition:
    """Narrative assignment of the clustered (unique) claims with persistent ids."""

    ids: np.ndarray  # narrative id per claim, -1 = unassigned
    membership: np.ndarray  # cosine similarity to its narrative centroid; NaN when unassigned
    narrative_ids: np.ndarray  # ids present, ascending
    centroids: np.ndarray  # unit-length rows aligned with narrative_ids
    theme_ids: np.ndarray  # theme id per narrative, aligned with narrative_ids
    mode: str
    lineage: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[c for c in NARRATIVE_LINEAGE.columns if c != "run_id"]))
    n_assigned_existing: int = 0

    @property
    def theme_of(self) -> dict[int, int]:
        return dict(zip(self.narrative_ids.tolist(), self.theme_ids.tolist()))


def choose_mode(n_new_claims: int, n_previous_narratives: int, prev_unassigned_share: float,
                runs_since_full: int, cfg: UpdateConfig, force_full: bool = False) -> str:
    """Which kind of run to do (see the module doc)."""
    if force_full or n_previous_narratives == 0:
        return "full" if (force_full or n_new_claims) else "unchanged"
    if n_new_claims == 0:
        return "unchanged"
    if cfg.recluster_every and runs_since_full + 1 >= cfg.recluster_every:
        return "full"
    if prev_unassigned_share > cfg.recluster_unassigned_share:
        return "full"
    return "incremental"


def centroids_of(X: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ids present ascending, unit-length mean embedding of each)."""
    nids = np.unique(ids[ids >= 0])
    pos = np.where(ids >= 0, np.searchsorted(nids, ids), -1)
    return nids, centroids(X, pos, len(nids))


def _membership(X: np.ndarray, ids: np.ndarray, nids: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Cosine of each claim to its narrative's centroid (NaN when unassigned)."""
    out = np.full(len(ids), np.nan)
    ok = np.flatnonzero(ids >= 0)
    out[ok] = row_dots(X, ok, C, np.searchsorted(nids, ids[ok]))
    return out


def _by_size(labels: np.ndarray) -> list[int]:
    """Cluster labels (>= 0) from largest to smallest, ties by first member."""
    labels = np.asarray(labels)
    ok = np.flatnonzero(labels >= 0)
    ids, first, counts = np.unique(labels[ok], return_index=True, return_counts=True)
    return ids[np.lexsort((ok[first], -counts))].astype(int).tolist()


def _match(overlap: np.ndarray, min_overlap: float) -> list[tuple[int, int]]:
    """Rows matched to columns so that the total ``overlap`` is largest (the assignment problem the Hungarian
    method solves); pairs below ``min_overlap`` are dropped.

    Only positive overlaps can pair, so it is solved on the sparse graph of those (with scipy's LAPJVsp,
    ``min_weight_full_bipartite_matching``): an edge costs ``big - overlap``, and each row also has a column of
    its own at cost ``big``, so a full matching always exists and the cheapest one is the largest total overlap.
    The same optimum as ``scipy.optimize.linear_sum_assignment`` on the dense matrix (zero pairs there are
    filler), without importing scipy.optimize (0.28 s of every run) and without a dense problem for a re-fit
    of thousands of narratives."""
    r, c = np.nonzero(overlap > 0)
    if not len(r):
        return []
    n, m = overlap.shape
    w = overlap[r, c]
    big = float(w.max()) + 1.0
    graph = csr_matrix((np.concatenate([big - w, np.full(n, big)]),
                        (np.concatenate([r, np.arange(n)]), np.concatenate([c, m + np.arange(n)]))), shape=(n, m + n))
    rows, cols = min_weight_full_bipartite_matching(graph)
    return [(i, j) for i, j in zip(rows.tolist(), cols.tolist()) if j < m and overlap[i, j] >= min_overlap]


def _lineage(rows: list[tuple]) -> pd.DataFrame:
    cols = [c for c in NARRATIVE_LINEAGE.columns if c != L.run_id]
    df = pd.DataFrame(rows, columns=cols)
    df[L.narrative_id] = df[L.narrative_id].astype("int64")
    df[L.related_narrative_id] = df[L.related_narrative_id].astype("Int64")
    df[L.overlap] = df[L.overlap].astype("float64")
    return df


def match_ids(new_labels: np.ndarray, prev_ids: np.ndarray, next_id: int, min_overlap: float) -> tuple[np.ndarray, pd.DataFrame]:
    """Persistent ids for a fresh clustering ``new_labels`` (dense, -1 = none) given each claim's previous id
    (-1 = none), and the lineage events. New ids start at ``next_id``, largest new cluster first."""
    new_order = _by_size(new_labels)
    old = [int(i) for i in np.unique(prev_ids[prev_ids >= 0])]
    ov = np.zeros((len(new_order), len(old)))
    inter = np.zeros_like(ov)
    new_arr, old_arr = np.asarray(new_order, dtype=np.int64), np.asarray(old, dtype=np.int64)
    by_new = np.argsort(new_arr)
    new_pos = np.full(len(new_labels), -1, dtype=np.int64)  # row of each claim's new cluster in new_order
    got = new_labels >= 0
    new_pos[got] = by_new[np.searchsorted(new_arr[by_new], new_labels[got])] if len(new_arr) else -1
    old_pos = np.full(len(prev_ids), -1, dtype=np.int64)
    had = prev_ids >= 0
    old_pos[had] = np.searchsorted(old_arr, prev_ids[had])
    new_sizes = np.bincount(new_pos[got], minlength=len(new_order)).astype(float)
    old_sizes = np.bincount(old_pos[had], minlength=len(old)).astype(float)
    if len(new_order) and len(old):
        both = got & had
        flat = np.bincount(new_pos[both] * len(old) + old_pos[both], minlength=len(new_order) * len(old))
        inter = flat.reshape(len(new_order), len(old)).astype(float)
        ov = inter / (new_sizes[:, None] + old_sizes[None, :] - inter)
    pairs = dict(_match(ov, min_overlap))
    out = np.full(len(new_labels), -1, dtype=np.int64)
    events: list[tuple] = []
    kept_old = set()
    new_id_of: dict[int, int] = {}
    for i, c in enumerate(new_order):
        if i in pairs:
            new_id_of[i] = old[pairs[i]]
            kept_old.add(pairs[i])
        else:
            new_id_of[i] = next_id
            next_id += 1
    for i, c in enumerate(new_order):
        out[new_labels == c] = new_id_of[i]
        if i in pairs:
            continue
        j = int(inter[i].argmax()) if len(old) else -1
        share = inter[i, j] / new_sizes[i] if j >= 0 else 0.0
        if j >= 0 and share >= 0.5:
            events.append(("split", new_id_of[i], old[j], float(share)))
        else:
            events.append(("birth", new_id_of[i], None, None))
    for j, o in enumerate(old):
        if j in kept_old:
            continue
        i = int(inter[:, j].argmax()) if len(new_order) else -1
        share = inter[i, j] / old_sizes[j] if i >= 0 else 0.0
        if i >= 0 and share >= 0.5 and i in pairs:
            events.append(("merge", o, new_id_of[i], float(share)))
        else:
            events.append(("death", o, None, None))
    return out, _lineage(events)


def _within_budget(rank: np.ndarray, sim: np.ndarray, narrative: np.ndarray, sizes: np.ndarray, budget: int
                   ) -> np.ndarray:
    """Narrative positions to cluster again, while their claims fit in ``budget``: every claim's nearest first,
    then its second nearest..., each rank by the similarity that touched them."""
    order = np.lexsort((narrative, -sim, rank))
    _, first = np.unique(narrative[order], return_index=True)
    ranked = narrative[order][np.sort(first)]  # distinct, nearest first
    fits = np.cumsum(sizes[ranked]) <= budget
    return ranked[fits]


def _join_outside(X: np.ndarray, ids: np.ndarray, local: np.ndarray, events: pd.DataFrame, outside: np.ndarray,
                  nids: np.ndarray, means: np.ndarray, reach: float) -> tuple[np.ndarray, pd.DataFrame]:
    """A cluster born in the local step (its claims are among ``local``) joins the narrative left out of it
    (``outside``, by the budget or the neighbour limit) that average linkage would merge it with: the largest
    ``mean . mean`` within the cut."""
    born = events.loc[events[L.event] == "birth", L.narrative_id].to_numpy()
    if not len(born) or not outside.any():
        return ids, events
    M, out_ids = means[outside], nids[outside]
    joined = []
    for b in born.tolist():
        members = local[ids[local] == b]
        sim = M @ X[members].astype(np.float64).mean(axis=0)
        j = int(np.argmax(sim))
        if sim[j] >= reach:
            ids[members] = out_ids[j]
            joined.append(b)
    if joined:  # their ids stay unused (ids are never reused)
        events = events[~(events[L.event].eq("birth") & events[L.narrative_id].isin(joined))].reset_index(drop=True)
    return ids, events


def local_refit(X: np.ndarray, prev_ids: np.ndarray, cluster_cfg: ClusterConfig, update_cfg: UpdateConfig,
                next_id: int) -> tuple[np.ndarray, pd.DataFrame, int]:
    """Place the unassigned claims (new ones and those left unassigned before) by the rules a full run applies,
    touching only their neighbourhood. Returns (ids, lineage events, claims that joined narratives that existed).

    1. A claim whose average similarity to an established narrative (at least ``ESTABLISHED`` claims; with unit
       vectors this is the dot product with the narrative's mean vector) is within the cut joins it: average
       linkage would merge it there, and one claim does not change how a large group merges.
    2. The others are clustered again together with, for each, its ``NEIGHBOUR_NARRATIVES`` nearest smaller
       narratives whose centroid is within the cut (no claim can join a narrative farther away under average
       linkage); the clusters are matched to those narratives' ids (Hungarian on shared claims) so ids persist.
       At most ``LOCAL_BUDGET`` claims per unassigned claim are clustered again: every claim's nearest narrative
       first, then the second nearest (at 98k claims with 804 unassigned, 4.4k claims instead of 15k: 1.0 s
       instead of 3.4 s, and the unassigned claims' narratives agree at ARI 0.986 with the unbounded step; the
       demo's daily batches fit in the budget whole). A cluster of new claims born there that is within the cut
       of a narrative left out joins it (:func:`_join_outside`), as average linkage would merge them.
    3. Claims still alone join the nearest narrative centroid at cosine >= ``cluster.reassign_threshold``, then
       pair with their nearest neighbour within ``cluster.pair_distance`` (as in a full run).
    With ``umap_hdbscan`` step 2 uses that method and steps 1 and 3 are skipped."""
    X = np.asarray(X, dtype=np.float32)
    prev = np.asarray(prev_ids, dtype=np.int64)
    ids = prev.copy()
    free = np.flatnonzero(prev < 0)
    if not len(free):
        return ids, _lineage([]), 0
    reach = 1.0 - cluster_cfg.distance_threshold
    agglo = cluster_cfg.method == "agglomerative"
    nids = np.unique(prev[prev >= 0])
    pos = np.where(prev >= 0, np.searchsorted(nids, prev), -1)
    sizes = np.bincount(pos[pos >= 0], minlength=len(nids))
    means = cluster_sums(X, pos, len(nids)) / np.maximum(sizes, 1)[:, None]  # a claim's average similarity to a group is x . mean
    C = means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    rest = free
    if agglo and len(nids):
        A = X[free].astype(np.float64) @ means.T
        best = A.argmax(axis=1)
        direct = (A[np.arange(len(free)), best] >= reach) & (sizes[best] >= ESTABLISHED)
        ids[free[direct]] = nids[best[direct]]
        rest = free[~direct]
    small = sizes < ESTABLISHED if agglo else np.ones(len(nids), bool)
    # each claim's nearest small narratives: rank, similarity, position (an empty part first: nothing may be found)
    near_rank, near_sim, near_pos = [np.zeros(0, np.int64)], [np.zeros(0, np.float32)], [np.zeros(0, np.int64)]
    if len(rest) and small.any():
        Cs, ns = C[small].astype(np.float32), np.flatnonzero(small)
        for start in range(0, len(rest), 2048):
            S = X[rest[start:start + 2048]] @ Cs.T
            k = min(NEIGHBOUR_NARRATIVES, S.shape[1])
            top = np.argpartition(-S, k - 1, axis=1)[:, :k]
            sim = np.take_along_axis(S, top, axis=1)
            by = np.lexsort((top, -sim), axis=1)  # nearest first, ties by narrative
            top, sim = np.take_along_axis(top, by, axis=1), np.take_along_axis(sim, by, axis=1)
            ok = sim >= reach
            near_rank.append(np.broadcast_to(np.arange(k), sim.shape)[ok])
            near_sim.append(sim[ok])
            near_pos.append(ns[top[ok]])
    touched = _within_budget(np.concatenate(near_rank), np.concatenate(near_sim), np.concatenate(near_pos), sizes,
                             LOCAL_BUDGET * len(free))
    local = np.flatnonzero(np.isin(np.arange(len(X)), rest) | np.isin(pos, touched))
    events = _lineage([])
    if len(local) >= 2:
        if agglo:
            labels = AgglomerativeClusterer(cluster_cfg.distance_threshold, cluster_cfg.linkage,
                                            cluster_cfg.min_cluster_size or 2, cluster_cfg.max_exact,
                                            cluster_cfg.seed).fit_predict(X[local])
        else:
            labels = NarrativeClusterer(cluster_cfg).fit(X[local]).labels_
        local_ids, events = match_ids(labels, prev[local], next_id, update_cfg.min_overlap)
        ids[local] = local_ids
        next_id = max([next_id, *(events["narrative_id"] + 1)])
        if agglo and len(nids):
            ids, events = _join_outside(X, ids, local, events, ~np.isin(nids, prev[local]), nids, means, reach)
    if agglo:
        nids, C = centroids_of(X, ids)
        alone = np.flatnonzero(ids < 0)
        if len(nids) and len(alone):
            S = X[alone].astype(np.float64) @ C.T
            b = S.argmax(axis=1)
            ok = S[np.arange(len(alone)), b] >= cluster_cfg.reassign_threshold
            ids[alone[ok]] = nids[b[ok]]
        if cluster_cfg.pair_distance:
            linked = link_leftovers(X, np.where(ids >= 0, ids, -1), cluster_cfg.pair_distance)
            born = (ids < 0) & (linked >= 0) & ~np.isin(linked, ids[ids >= 0])  # claims in brand-new pairs
            new_pairs = np.unique(linked[born])
            linked[born] = next_id + np.searchsorted(new_pairs, linked[born])
            events = pd.concat([events, _lineage([("birth", next_id + i, None, None) for i in range(len(new_pairs))])],
                               ignore_index=True)
            next_id += len(new_pairs)
            ids = linked
    n_existing = int(((prev < 0) & np.isin(ids, prev[prev >= 0])).sum())
    return ids, events, n_existing


def match_themes(theme_labels: np.ndarray, narrative_ids: np.ndarray, sizes: np.ndarray,
                 prev_theme_of: dict[int, int]) -> np.ndarray:
    """Persistent theme ids for a fresh grouping of narratives (dense ``theme_labels``): each group keeps the
    previous theme id that most of its claims had (Hungarian on claim counts); new groups get new ids."""
    if not prev_theme_of:
        return theme_labels.astype(np.int64) + 1
    groups = _by_size(np.repeat(theme_labels, np.maximum(sizes, 1).astype(int)))
    old = sorted(set(prev_theme_of.values()))
    w = np.zeros((len(groups), len(old)))
    gi = {g: i for i, g in enumerate(groups)}
    oi = {o: j for j, o in enumerate(old)}
    for nid, g, s in zip(narrative_ids.tolist(), theme_labels.tolist(), sizes.tolist()):
        if nid in prev_theme_of:
            w[gi[g], oi[prev_theme_of[nid]]] += s
    pairs = dict(_match(w, 1e-9))
    next_id = max(old) + 1
    tid = {}
    for i, g in enumerate(groups):
        if i in pairs:
            tid[g] = old[pairs[i]]
        else:
            tid[g] = next_id
            next_id += 1
    return np.array([tid[g] for g in theme_labels.tolist()], dtype=np.int64)


def update(X: np.ndarray, prev_ids: np.ndarray, mode: str, cluster_cfg: ClusterConfig, update_cfg: UpdateConfig,
           next_id: int, prev_theme_of: dict[int, int] | None = None, on_progress=None) -> Partition:
    """The partition of the clustered claims after this run (see the module doc for ``mode``)."""
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} must be one of {MODES}")
    X = np.asarray(X, dtype=np.float32)
    prev_ids = np.asarray(prev_ids, dtype=np.int64)
    n_existing = 0
    first_fit = None  # a first run's ids are the clusterer's labels shifted: its centroids and themes hold as they are
    if mode == "full":
        fit = NarrativeClusterer(cluster_cfg).fit(X, on_progress=on_progress)
        if (prev_ids >= 0).any():
            ids, lineage = match_ids(fit.labels_, prev_ids, next_id, update_cfg.min_overlap)
        else:  # first run: ids 1.. by size, as the clusterer orders them
            ids = np.where(fit.labels_ >= 0, fit.labels_ + next_id, -1).astype(np.int64)
            lineage = _lineage([("birth", int(i), None, None) for i in np.unique(ids[ids >= 0])])
            first_fit = fit
    elif mode == "incremental":
        ids, lineage, n_existing = local_refit(X, prev_ids, cluster_cfg, update_cfg, next_id)
    else:
        ids, lineage = prev_ids.copy(), _lineage([])
    if first_fit is not None:
        nids, C = np.arange(first_fit.n_narratives_, dtype=np.int64) + next_id, first_fit.centroids_
    else:
        nids, C = centroids_of(X, ids)
    sizes = np.bincount(np.searchsorted(nids, ids[ids >= 0]), minlength=len(nids)).astype(np.int64)
    raw_themes = (first_fit.themes_ if first_fit is not None
                  else group_themes(C, sizes, cluster_cfg.theme_distance_threshold))
    themes = match_themes(raw_themes, nids, sizes, prev_theme_of or {}) if len(nids) else np.zeros(0, np.int64)
    return Partition(ids=ids, membership=_membership(X, ids, nids, C), narrative_ids=nids, centroids=C,
                     theme_ids=themes, mode=mode, lineage=lineage, n_assigned_existing=n_existing)
