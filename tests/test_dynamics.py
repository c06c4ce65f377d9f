import numpy as np
import pandas as pd

from narratives.dynamics import narrative_bursts, narrative_drift, narrative_outlets, narrative_spread
from narratives.label import term_counts
from narratives.schemas import NARRATIVE_BURSTS, NARRATIVE_DRIFT, NARRATIVE_OUTLETS, NARRATIVE_SPREAD, to_arrow

START = pd.Timestamp("2026-01-05")


def frame(rows):
    df = pd.DataFrame(rows, columns=["claim_id", "article_id", "outlet", "published_at", "narrative_id", "embed_text",
                                     "original_claim_id"])
    df["published_at"] = pd.to_datetime(df["published_at"])
    df["narrative_id"] = df["narrative_id"].astype("Int64")
    return df


def spread_claims():
    rows, i = [], 0
    # narrative 1: News Front on day 0, RT joins day 3, TASS day 7 (one copy), Sputnik day 12
    for outlet, day, copy in [("News Front", 0, None), ("News Front", 1, None), ("RT", 3, None), ("RT", 5, None),
                              ("TASS", 7, "c0"), ("Sputnik", 12, None)]:
        rows.append((f"c{i}", f"a{i}", outlet, START + pd.Timedelta(days=day), 1, "biolabs text", copy))
        i += 1
    rows.append((f"c{i}", f"a{i}", "RT", None, 1, "undated", None))  # undated: excluded
    rows.append((f"c{i + 1}", f"a{i + 1}", "RT", START, None, "unassigned", None))
    return frame(rows)


def test_outlets_and_spread():
    claims = spread_claims()
    out = narrative_outlets(claims)
    to_arrow(NARRATIVE_OUTLETS, out)
    o = out.set_index("outlet")
    assert o.loc["RT", "lag_days"] == 3.0 and o.loc["TASS", "lag_days"] == 7.0 and o.loc["News Front", "lag_days"] == 0
    assert o.loc["RT", "n_claims"] == 2  # the undated RT claim is excluded
    assert o.loc["RT", "share_of_outlet"] == 2 / 3  # of RT's 3 dated claims (one unassigned)
    assert o.loc["TASS", "n_reprinted"] == 1
    sp = narrative_spread(out, claims)
    to_arrow(NARRATIVE_SPREAD, sp)
    row = sp.iloc[0]
    assert row.first_outlet == "News Front" and row.first_seen == START and row.n_outlets == 4
    assert (row.days_to_2_outlets, row.days_to_3_outlets) == (3.0, 7.0) and pd.isna(row.days_to_5_outlets)
    assert list(row.outlet_join_days) == [0.0, 3.0, 7.0, 12.0]
    assert (row.n_reprints, row.n_reprint_outlets) == (1, 1)


def test_burst_found_where_planted_and_not_in_flat_series():
    rows, i = [], 0
    for day in range(70):
        n1 = 6 if 40 <= day <= 44 else (1 if day % 3 == 0 else 0)  # narrative 1 bursts on days 40-44
        n2 = 1 if day % 2 == 0 else 0                               # narrative 2 is flat
        for nid, n in ((1, n1), (2, n2)):
            for _ in range(n):
                rows.append((f"c{i}", f"a{i}", "RT", START + pd.Timedelta(days=day), nid, "x", None))
                i += 1
    b = narrative_bursts(frame(rows))
    to_arrow(NARRATIVE_BURSTS, b)
    assert set(b["narrative_id"]) == {1}
    day = b[b.grain == "day"].iloc[0]
    assert day.period_start == START + pd.Timedelta(days=40) and day.period_end == START + pd.Timedelta(days=44)
    assert day.score >= 3 and day.baseline < 1 and day.peak_claims == 6
    week = b[b.grain == "week"]
    assert len(week) >= 1 and week.iloc[0].period_start <= START + pd.Timedelta(days=40) <= week.iloc[-1].period_end


def test_drift_rising_and_falling_terms_at_the_planted_change():
    rows, vecs, i = [], [], 0
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=16), rng.normal(size=16)
    for week in range(6):
        term = "regime" if week < 3 else "junta"
        for k in range(5):
            rows.append((f"c{i}", f"a{i}", "RT", START + pd.Timedelta(days=7 * week + k),
                         1, f"the kiev {term} oppresses people in region {k}", None))
            vecs.append((a if week < 3 else b) + 0.05 * rng.normal(size=16))
            i += 1
    X = np.array(vecs)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    d = narrative_drift(frame(rows), X, grains=("week",))
    to_arrow(NARRATIVE_DRIFT, d)
    d = d.set_index("period_start")
    change = d.loc[START + pd.Timedelta(days=21)]
    assert "junta" in change.rising_terms and "regime" in change.falling_terms
    assert change.drift_score == d["drift_score"].max() and change.shift_prev > 0.5
    assert pd.isna(d.iloc[0].shift_prev) and d.iloc[0].shift_first == 0
    assert d.iloc[1].shift_prev < 0.1


def test_drift_of_each_narrative_depends_only_on_its_own_claims():
    """All narratives are computed at once; a narrative's rows (terms, shifts, representatives) must be those it
    gets alone, and undated or unassigned claims must not count."""
    rng = np.random.default_rng(4)
    words = ["troops", "border", "sanctions", "gas", "prices", "labs", "elections", "fraud", "grain", "ports"]
    rows, vecs = [], []
    for i in range(180):
        nid = [1, 2, 7][i % 3]
        day = int(rng.integers(0, 60))
        text = " ".join(rng.choice(words[(nid % 3) * 3:(nid % 3) * 3 + 5], 4)) + f" claim number {i % 4}"
        rows.append((f"c{i}", f"a{i}", "RT", START + pd.Timedelta(days=day), nid, text, None))
        vecs.append(rng.normal(size=12) + nid)
    rows.append(("u0", "u0", "RT", None, 1, "troops border undated", None))
    rows.append(("u1", "u1", "RT", START, None, "troops border unassigned", None))
    vecs += [rng.normal(size=12), rng.normal(size=12)]
    df, X = frame(rows), np.array(vecs)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    together = narrative_drift(df, X)
    to_arrow(NARRATIVE_DRIFT, together)
    assert set(together["narrative_id"]) == {1, 2, 7} and set(together["grain"]) == {"week", "month"}
    assert together["n_claims"].sum() == 2 * 180  # each dated, assigned claim once per grain
    terms, counts = term_counts(df["embed_text"].tolist())
    pd.testing.assert_frame_equal(narrative_drift(df, X, counted=(terms, counts)), together)  # counts shared by the flow
    for nid in (1, 7):
        own = df["narrative_id"].eq(nid).fillna(False).to_numpy(dtype=bool)
        alone = narrative_drift(df[own], X[own])
        shared = narrative_drift(df[own], X[own], counted=(terms, counts[own]))  # terms of other narratives too
        pd.testing.assert_frame_equal(shared, alone)
        mine = together[together["narrative_id"] == nid].reset_index(drop=True)
        assert len(alone) == len(mine) >= 10
        for col in ("period_start", "n_claims", "rising_terms", "falling_terms", "representative_claim_id"):
            assert mine[col].tolist() == alone[col].tolist(), col
        for col in ("shift_prev", "shift_first", "drift_score"):
            a, b = pd.to_numeric(mine[col]).to_numpy(float), pd.to_numeric(alone[col]).to_numpy(float)
            assert np.allclose(a, b, equal_nan=True), col
        assert any(len(t) for t in mine["falling_terms"]) and all(len(t) <= 5 for t in mine["rising_terms"])


def test_top_terms_per_row_are_the_largest_positive_entries_ties_by_column():
    import scipy.sparse as sp

    from narratives.dynamics import _top_per_row

    def reference(M, n, sign):  # every positive entry sorted by row, then value (largest first), then column
        M = M.tocoo()
        best: dict[int, list] = {}
        for r, c, v in sorted(zip(M.row.tolist(), M.col.tolist(), (sign * M.data).tolist()), key=lambda e: (e[0], -e[2], e[1])):
            if v > 0:
                best.setdefault(r, []).append(c)
        return [best.get(r, [])[:n] for r in range(M.shape[0])]

    rng = np.random.default_rng(0)
    for seed in range(10):
        A = sp.random(60, 80, density=0.1, random_state=seed, format="csr")
        A.data = np.round(rng.normal(size=A.nnz), 1)  # many ties
        B = sp.random(60, 80, density=0.1, random_state=seed + 50, format="csr")
        for M in (A, A - B, A[::3]):
            for sign in (1.0, -1.0):
                assert _top_per_row(M, 5, sign) == reference(M, 5, sign)
    assert _top_per_row(sp.csr_matrix((2, 3)), 5, 1.0) == [[], []]
