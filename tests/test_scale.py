"""Large N (narratives/scale.py): fit on a sample, assign the rest in batches; vectorised relabelling and themes."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score

from narratives.cluster import NarrativeClusterer, _relabel_by_size, group_themes
from narratives.config import ClusterConfig
from narratives.scale import assign_nearest, centroids, sampled_fit
from synthetic import blobs


def test_sampled_fit_recovers_groups_and_is_seeded():
    X, truth = blobs(60, 40, dim=48)  # 2,400 claims
    cfg = ClusterConfig(max_fit=1_000)
    exact = NarrativeClusterer(ClusterConfig()).fit(X).labels_
    fit = NarrativeClusterer(cfg).fit(X)
    assert adjusted_rand_score(truth, exact) > 0.95
    assert adjusted_rand_score(truth, fit.labels_) > 0.95
    assert adjusted_rand_score(exact, fit.labels_) > 0.95
    assert (fit.labels_ >= 0).mean() > 0.98
    again = NarrativeClusterer(cfg).fit(X)
    assert np.array_equal(again.labels_, fit.labels_)
    assert len(fit.centroids_) == fit.n_narratives_ and np.isfinite(fit.membership_[fit.labels_ >= 0]).all()


def test_later_rounds_find_groups_the_first_sample_missed():
    X, truth = blobs(40, 30, dim=48, seed=1)
    rare, rare_truth = blobs(12, 1, dim=48, seed=99)  # a small group, unlikely to be sampled twice in round 1
    X2 = np.vstack([X, rare])
    calls = []

    def fit(S):
        calls.append(len(S))
        return NarrativeClusterer(ClusterConfig()).fit(S).labels_

    labels = sampled_fit(X2, fit, max_fit=200, sim_min=0.55, seed=3)
    assert len(calls) >= 2 and max(calls) <= 200
    tail = labels[len(X):]
    assert (tail >= 0).mean() >= 0.9 and len(set(tail[tail >= 0])) == 1
    assert not set(tail[tail >= 0]) & set(labels[:len(X)][labels[:len(X)] >= 0])


def test_assign_nearest_respects_cut_and_batches():
    X, _ = blobs(20, 5, dim=48)
    C = centroids(X, np.repeat(np.arange(5), 20), 5).astype(np.float32)
    rows = np.arange(len(X))
    a, s = assign_nearest(X, rows, C, 0.5, batch=7)
    b, t = assign_nearest(X, rows, C, 0.5, batch=1000)
    assert np.array_equal(a, b) and np.allclose(s, t)
    assert np.array_equal(a, np.repeat(np.arange(5), 20))
    none, _ = assign_nearest(X, rows, C, 1.01)
    assert (none == -1).all()


def test_relabel_by_size_orders_by_size_then_first_member():
    labels = np.array([5, 5, -1, 2, 2, 2, 9, 9, 7, -1])
    assert _relabel_by_size(labels).tolist() == [1, 1, -1, 0, 0, 0, 2, 2, 3, -1]
    assert _relabel_by_size(np.array([-1, -1])).tolist() == [-1, -1]


def test_group_themes_equals_scipy_average_linkage_and_orders_by_weight():
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    X, truth = blobs(30, 6, dim=48, spread=0.15, seed=4)
    sizes = np.arange(1, len(X) + 1)
    exact = group_themes(X, sizes, 0.5)
    ref = fcluster(linkage(pdist(X, "cosine"), "average"), t=0.5, criterion="distance")
    assert adjusted_rand_score(truth, exact) == 1.0 and adjusted_rand_score(ref, exact) == 1.0
    weight = np.bincount(exact, weights=sizes)
    assert list(weight) == sorted(weight, reverse=True)
