"""Exact average linkage without a distance matrix (narratives/rac.py) and content-keyed samples (scale.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage

from narratives.cluster import AgglomerativeClusterer, condensed_cosine, threshold_components
from narratives.rac import average_linkage_cut
from narratives.scale import keyed_sample, row_keys


def _noisy(n: int, d: int, k: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d))
    X = centres[rng.integers(0, k, n)] + noise * rng.normal(size=(n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Same grouping, whatever the label values."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("threshold", [0.2, 0.45, 0.7])
@pytest.mark.parametrize("n,d,k,noise,seed", [(60, 8, 5, 0.6, 0), (800, 16, 30, 0.6, 1), (2500, 32, 80, 0.7, 2)])
def test_matches_scipy_average_linkage(n, d, k, noise, seed, threshold):
    X = _noisy(n, d, k, noise, seed)
    ours = average_linkage_cut(X, threshold, block=256)
    ref = fcluster(linkage(condensed_cosine(X), method="average"), t=threshold, criterion="distance")
    assert 1 < len(set(ref.tolist())) < n  # a real test: neither everything apart nor everything together
    assert _same_partition(ours, ref)
    assert ours[0] == 0 and set(ours.tolist()) == set(range(ours.max() + 1))  # dense labels by first member


def test_duplicates_and_degenerate_inputs():
    X = np.repeat(_noisy(30, 8, 3, 0.3, 4), 3, axis=0)  # every vector three times: ties everywhere
    ref = fcluster(linkage(condensed_cosine(X), method="average"), t=0.45, criterion="distance")
    assert _same_partition(average_linkage_cut(X, 0.45), ref)
    assert average_linkage_cut(np.zeros((0, 4)), 0.45).shape == (0,)
    assert average_linkage_cut(np.ones((1, 4)), 0.45).tolist() == [0]
    far = np.eye(4)
    assert average_linkage_cut(far, 0.45).tolist() == [0, 1, 2, 3]  # orthogonal: nothing merges


def test_large_components_are_exact_not_sampled():
    """A within-the-cut component above max_exact is clustered exactly (no sample), so the partition equals the
    one-pass exact partition."""
    X = _noisy(1500, 24, 60, 0.45, 5).astype(np.float32)
    sizes = np.bincount(threshold_components(X, 0.55))
    assert sizes.max() > 300  # the large-component path runs
    exact = AgglomerativeClusterer(0.45, "average", 2)._exact(X)  # scipy's linkage on the distance matrix
    large = AgglomerativeClusterer(0.45, "average", 2, max_exact=300).fit_predict(X)
    assert _same_partition(exact, large)
    assert len(np.unique(exact[exact >= 0])) >= 20


def test_keyed_sample_is_seeded_and_stable_when_rows_are_added():
    X = _noisy(3000, 16, 40, 0.5, 6).astype(np.float32)
    keys = row_keys(X, seed=42)
    assert np.array_equal(keys, row_keys(X.copy(), seed=42))  # same bytes, same key
    assert not np.array_equal(keys, row_keys(X, seed=43))
    base = keyed_sample(keys, np.arange(2970), 1000)  # before today's 30 rows
    grown = keyed_sample(keys, np.arange(3000), 1000)  # after
    assert len(base) == len(grown) == 1000 and np.all(np.diff(grown) > 0)
    assert len(np.setdiff1d(grown, base)) <= 30  # only new rows can displace old ones
    again = row_keys(X[::-1].copy(), seed=42)[::-1]  # keys follow the content, not the position
    assert np.array_equal(again, keys)
    assert np.array_equal(keyed_sample(keys, np.arange(10), 50), np.arange(10))
