"""Persistent narrative ids: id matching after a re-fit, incremental updates, affected-period tracking, the run
lock. Library level with synthetic vectors (fast); the flow-level checks on the demo are in test_flow_incremental."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from narratives import store
from narratives.config import Config, UpdateConfig
from narratives.errors import NarrativesError
from narratives.evaluate import with_singletons
from narratives.incremental import choose_mode, match_ids, match_themes, update
from narratives.track import changed_claims, narrative_timeseries, update_timeseries
from synthetic import blobs


def test_match_ids_keeps_ids_and_records_split_merge_birth_death():
    prev = np.array([5] * 10 + [7] * 10 + [9] * 4 + [11] * 6 + [-1] * 3)
    # re-fit: 5 kept; 7 split into two halves; 9 merged into 11's cluster; three new claims form a new cluster
    new = np.array([0] * 10 + [1] * 5 + [2] * 5 + [3] * 10 + [4] * 3)
    ids, lin = match_ids(new, prev, next_id=12, min_overlap=0.2)
    assert (ids[:10] == 5).all()
    assert set(ids[10:20]) == {7, 12} or set(ids[10:20]) == {7, 13}
    assert (ids[20:30] == 11).all()
    ev = {(r.event, r.narrative_id, None if pd.isna(r.related_narrative_id) else int(r.related_narrative_id))
          for r in lin.itertuples()}
    split_child = (set(ids[10:20]) - {7}).pop()
    assert ("split", split_child, 7) in ev
    assert ("merge", 9, 11) in ev
    assert ("birth", int(ids[-1]), None) in ev
    assert int(ids[-1]) not in {5, 7, 9, 11}
    assert lin.loc[lin["event"] == "merge", "overlap"].iat[0] == 1.0


def test_match_ids_death_when_claims_scatter():
    prev = np.array([1] * 6 + [2] * 6)
    new = np.array([0] * 6 + [-1] * 6)
    ids, lin = match_ids(new, prev, next_id=3, min_overlap=0.2)
    assert (ids[:6] == 1).all() and (ids[6:] == -1).all()
    assert lin[["event", "narrative_id"]].values.tolist() == [["death", 2]]


def test_incremental_batches_agree_with_one_run_and_ids_persist():
    X, truth = blobs(k=10)
    cfg = Config()
    order = np.random.default_rng(1).permutation(len(X))
    one = update(X, np.full(len(X), -1), "full", cfg.cluster, cfg.update, 1)
    ids, nxt, seen = np.full(len(X), -1), 1, np.zeros(len(X), bool)
    history = []
    for k, batch in enumerate(np.array_split(order, 10)):
        seen[batch] = True
        idx = np.flatnonzero(seen)
        before = ids[idx].copy()
        p = update(X[idx], before, "full" if k == 0 else "incremental", cfg.cluster, cfg.update, nxt)
        ids[idx] = p.ids
        nxt = max(nxt, int(ids.max()) + 1)
        history.append((before, p.ids))
    assert adjusted_rand_score(with_singletons(one.ids), with_singletons(ids)) >= 0.95
    assert adjusted_rand_score(truth, with_singletons(ids)) >= 0.9
    # once a blob has an id it keeps it in later runs
    for before, after in history[3:]:
        kept = before >= 0
        assert (after[kept] == before[kept]).mean() >= 0.98
    # a forced re-fit keeps nearly every id
    refit = update(X, ids, "full", cfg.cluster, cfg.update, nxt)
    assert ((refit.ids == ids) | (ids < 0)).mean() >= 0.95


def test_same_seed_same_partition_and_unchanged_mode_changes_nothing():
    X, _ = blobs()
    cfg = Config()
    a = update(X, np.full(len(X), -1), "full", cfg.cluster, cfg.update, 1)
    b = update(X, np.full(len(X), -1), "full", cfg.cluster, cfg.update, 1)
    assert (a.ids == b.ids).all()
    c = update(X, a.ids, "unchanged", cfg.cluster, cfg.update, 100)
    assert (c.ids == a.ids).all() and c.lineage.empty


def test_new_topic_in_a_batch_is_born_with_a_new_id():
    X, truth = blobs(k=6)
    cfg = Config()
    old = truth < 5
    first = update(X[old], np.full(old.sum(), -1), "full", cfg.cluster, cfg.update, 1)
    prev = np.full(len(X), -1)
    prev[old] = first.ids
    nxt = int(first.ids.max()) + 1
    p = update(X, prev, "incremental", cfg.cluster, cfg.update, nxt)
    new_ids = set(p.ids[~old].tolist())
    assert len(new_ids) == 1 and new_ids.pop() >= nxt
    assert (p.ids[old] == prev[old]).all()
    assert (p.lineage["event"] == "birth").sum() == 1


def test_choose_mode():
    cfg = UpdateConfig(recluster_every=3, recluster_unassigned_share=0.5)
    assert choose_mode(10, 0, 0.0, 0, cfg) == "full"
    assert choose_mode(0, 5, 0.0, 0, cfg) == "unchanged"
    assert choose_mode(10, 5, 0.1, 0, cfg) == "incremental"
    assert choose_mode(10, 5, 0.1, 2, cfg) == "full"  # every 3rd run
    assert choose_mode(10, 5, 0.6, 0, cfg) == "full"  # too much left unassigned
    assert choose_mode(0, 5, 0.1, 0, cfg, force_full=True) == "full"


def test_match_themes_keeps_theme_ids():
    theme_labels = np.array([0, 0, 1, 2])
    tids = match_themes(theme_labels, np.array([1, 2, 3, 4]), np.array([10, 5, 8, 2]), {1: 7, 2: 7, 3: 9})
    assert tids.tolist() == [7, 7, 9, 10]


def _claims(n=60, seed=0):
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 40, n), unit="D")
    return pd.DataFrame({
        "claim_id": [f"c{i}" for i in range(n)], "article_id": [f"a{i // 3}" for i in range(n)],
        "outlet": rng.choice(["RT", "Sputnik", "TASS"], n), "published_at": days.astype("datetime64[us]"),
        "narrative_id": pd.array(rng.choice([1, 2, 3, -1], n), dtype="Int64").map(lambda v: pd.NA if v == -1 else v),
    })


def test_update_timeseries_equals_a_full_recompute():
    old = _claims()
    prev = narrative_timeseries(old, ["day", "week", "month"])
    extra = _claims(n=6, seed=5).assign(claim_id=[f"n{i}" for i in range(6)], narrative_id=pd.array([2] * 6, dtype="Int64"))
    extra["published_at"] = pd.Timestamp("2026-01-05")
    new = pd.concat([old, extra], ignore_index=True)
    new["published_at"] = new["published_at"].astype("datetime64[us]")
    was = old.loc[3, "narrative_id"]
    new.loc[3, "narrative_id"] = 1 if was == 3 else 3  # one stored claim changed narrative
    changed = changed_claims(new, old)
    assert changed.sum() == 7 and changed.iloc[3] and changed.iloc[60:].all()
    got = update_timeseries(prev, new, changed, ["day", "week", "month"])
    want = narrative_timeseries(new, ["day", "week", "month"])
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))


def test_run_lock_refuses_a_second_run_and_marks_killed_runs(tmp_path):
    db = tmp_path / "n.duckdb"
    store.start_run(db, "r1", "h", None)  # a run that was killed: still 'running'
    with store.run_lock(db):
        runs = store.read_tables(db, ["runs"])["runs"]
        assert runs.set_index("run_id").at["r1", "status"] == "interrupted"
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        p = ctx.Process(target=_try_lock, args=(str(db), q))
        p.start()
        p.join(60)
        msg = q.get(timeout=5)
    assert "in use by another narratives run" in msg and "--wait" in msg and "pid" in msg
    with store.run_lock(db, wait_seconds=1):  # free again
        pass


def _try_lock(db, q):
    try:
        with store.run_lock(db, wait_seconds=0.5):
            q.put("acquired")
    except NarrativesError as err:
        q.put(str(err))


def _full_claims(n, seed, start_id=0):
    rng = np.random.default_rng(seed)
    words = ["nato", "border", "troops", "sanctions", "economy", "gas", "junta", "regime", "kiev", "biolabs"]
    nid = rng.integers(1, 6, n)
    return pd.DataFrame({
        "claim_id": [f"c{start_id + i}" for i in range(n)], "article_id": [f"a{(start_id + i) // 2}" for i in range(n)],
        "sentence_index": np.zeros(n, dtype=np.int32), "text": "x", "is_quote": False, "speaker": None,
        "embed_text": [" ".join(rng.choice(words, 6)) for _ in range(n)],
        "outlet": rng.choice(["RT", "Sputnik", "TASS", "News Front"], n),
        "published_at": (pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D")).astype("datetime64[us]"),
        "narrative_id": pd.array(nid, dtype="Int64"), "theme_id": pd.array(nid, dtype="Int64"), "membership": 0.9,
        "source": "s", "original_claim_id": None,
    })


def test_update_dynamics_equals_a_full_recompute():
    from narratives.dynamics import narrative_outlets, update_dynamics
    from narratives.label import term_counts

    rng = np.random.default_rng(3)
    old = _full_claims(300, 1)
    X_old = rng.normal(size=(300, 16))
    prev = update_dynamics(old, X_old, narrative_outlets(old))
    new_rows = _full_claims(20, 2, start_id=1000)
    new_rows["narrative_id"] = pd.array([2] * 10 + [6] * 10, dtype="Int64")  # an old narrative grows, one is born
    new_rows["published_at"] = pd.Timestamp("2026-03-05")
    new = pd.concat([old, new_rows], ignore_index=True)
    new["published_at"] = new["published_at"].astype("datetime64[us]")
    new.loc[5, "narrative_id"] = 4 if new.loc[5, "narrative_id"] != 4 else 3  # a stored claim moves
    X = np.vstack([X_old, rng.normal(size=(20, 16))])
    changed = changed_claims(new, old)
    got = update_dynamics(new, X, narrative_outlets(new), old, prev, changed)
    want = update_dynamics(new, X, narrative_outlets(new))
    # the flow counts the terms of all claims once and shares them: the same tables
    shared = update_dynamics(new, X, narrative_outlets(new), old, prev, changed, term_counts(new["embed_text"].tolist()))
    assert len(got["narrative_bursts"]) and len(got["narrative_drift"])
    for name in want:
        key = ["narrative_id"] + (["grain", "period_start"] if name != "narrative_spread" else [])
        for tables, how in ((got, "incremental"), (shared, "incremental, shared term counts")):
            pd.testing.assert_frame_equal(tables[name].sort_values(key).reset_index(drop=True),
                                          want[name].sort_values(key).reset_index(drop=True), obj=f"{name} ({how})")


def test_local_budget_caps_the_reclustered_neighbourhood(monkeypatch):
    """With a binding LOCAL_BUDGET fewer claims are clustered again (nearest narratives first), yet every new claim
    still reaches its blob's narrative (step 3 reassigns it) and narratives outside the budget keep their claims."""
    import narratives.incremental as inc

    X, truth = blobs(k=8, n_per=30)
    cfg = Config()
    order = np.random.default_rng(2).permutation(len(X))
    old, new = order[:192], order[192:]
    first = update(X[old], np.full(len(old), -1), "full", cfg.cluster, cfg.update, 1)
    prev = np.full(len(X), -1)
    prev[old] = first.ids
    seen: list[int] = []
    fit = inc.AgglomerativeClusterer.fit_predict
    monkeypatch.setattr(inc.AgglomerativeClusterer, "fit_predict", lambda self, Y: seen.append(len(Y)) or fit(self, Y))
    results = {}
    for budget in (10**9, 1, 1):
        monkeypatch.setattr(inc, "LOCAL_BUDGET", budget)
        results.setdefault(budget, []).append(update(X, prev, "incremental", cfg.cluster, cfg.update, 100).ids)
    unbounded, tight = seen[0], seen[1]
    assert tight < unbounded and tight <= 2 * len(new)  # the new claims plus at most one claim each of neighbours
    a, b = results[1]
    assert (a == b).all()  # deterministic
    assert adjusted_rand_score(truth, with_singletons(a)) >= 0.95
    assert adjusted_rand_score(with_singletons(results[10**9][0]), with_singletons(a)) >= 0.95
    untouched = ~np.isin(prev, np.unique(a[new]))  # old claims of narratives no new claim joined
    assert (a[untouched & (prev >= 0)] == prev[untouched & (prev >= 0)]).all()


@pytest.mark.parametrize("seed", range(6))
def test_match_is_the_hungarian_optimum(seed):
    """_match (sparse, scipy.sparse.csgraph) keeps the same pairs as linear_sum_assignment on the dense matrix, on
    sparse random overlaps with a unique optimum, in wide, tall and square shapes."""
    from scipy.optimize import linear_sum_assignment

    from narratives.incremental import _match

    rng = np.random.default_rng(seed)
    n, m = [(30, 45), (45, 30), (40, 40), (1, 7), (7, 1), (200, 180)][seed]
    ov = rng.random((n, m)) * (rng.random((n, m)) < 0.15)
    rows, cols = linear_sum_assignment(-ov)
    for min_overlap in (1e-9, 0.2, 0.6):
        want = {(int(r), int(c)) for r, c in zip(rows, cols) if ov[r, c] >= min_overlap}
        got = _match(ov, min_overlap)
        assert set(got) == want and len(got) == len(want)
        assert len({c for _, c in got}) == len(got)  # each column at most once
    assert _match(np.zeros((3, 4)), 0.1) == [] and _match(np.zeros((0, 0)), 0.1) == []
