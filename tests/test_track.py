import numpy as np
import pandas as pd

from narratives.track import narrative_extent, narrative_timeseries, period_start


def claims_frame():
    rows = [
        # narrative 1: two outlets, week of 2026-01-05 (Mon)
        ("c1", "a1", "Sputnik", "2026-01-05", 1), ("c2", "a1", "Sputnik", "2026-01-05", 1),
        ("c3", "a2", "RT", "2026-01-07", 1), ("c4", "a3", "RT", "2026-01-07", None),
        # narrative 2 next week; one undated claim
        ("c5", "a4", "TASS", "2026-01-13", 2), ("c6", "a5", "TASS", None, 2),
    ]
    df = pd.DataFrame(rows, columns=["claim_id", "article_id", "outlet", "published_at", "narrative_id"])
    df["published_at"] = pd.to_datetime(df["published_at"])
    df["narrative_id"] = df["narrative_id"].astype("Int64")
    return df


def test_period_start():
    s = pd.Series(pd.to_datetime(["2026-01-07 15:00", "2026-01-31 00:00"]))
    assert list(period_start(s, "week")) == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-26")]
    assert list(period_start(s, "month")) == [pd.Timestamp("2026-01-01")] * 2
    assert list(period_start(s, "day")) == [pd.Timestamp("2026-01-07"), pd.Timestamp("2026-01-31")]


def test_timeseries_counts_and_shares():
    ts = narrative_timeseries(claims_frame(), ["week", "day"])
    wk = ts[(ts.grain == "week") & ts.outlet.isna()].set_index(["narrative_id", "period_start"])
    row = wk.loc[(1, pd.Timestamp("2026-01-05"))]
    assert (row.n_claims, row.n_articles, row.n_outlets) == (3, 2, 2)
    assert row.share == 3 / 4  # 4 dated claims that week (one unassigned)
    rt = ts[(ts.grain == "week") & (ts.outlet == "RT")].iloc[0]
    assert (rt.n_claims, rt.share) == (1, 0.5)
    n2 = ts[(ts.narrative_id == 2) & (ts.grain == "day")]
    assert n2.n_claims.sum() == 2  # overall + TASS row, undated claim excluded
    assert set(ts.grain) == {"week", "day"}


def test_extent():
    ext = narrative_extent(claims_frame())
    assert ext.loc[1, "size"] == 3 and ext.loc[1, "n_outlets"] == 2
    assert ext.loc[2, "first_seen"] == pd.Timestamp("2026-01-13")


def _reference_timeseries(claims, grains):
    """The pandas groupby version narrative_timeseries replaced (same rows, same order)."""
    def counts(df, keys):
        return df.groupby(keys, dropna=False, sort=True).agg(
            n_claims=("claim_id", "size"), n_articles=("article_id", "nunique"), n_outlets=("outlet", "nunique"),
        ).reset_index()

    dated = claims[claims["published_at"].notna()].copy()
    frames = []
    for grain in grains:
        d = dated.assign(period_start=period_start(dated["published_at"], grain))
        d["outlet"] = d["outlet"].fillna("(unknown)")
        assigned = d[d["narrative_id"].notna()]
        if assigned.empty:
            continue
        a = counts(assigned, ["narrative_id", "period_start"]).join(d.groupby("period_start").size().rename("total"),
                                                                    on="period_start")
        a["outlet"] = None
        b = counts(assigned, ["narrative_id", "period_start", "outlet"]).join(
            d.groupby(["period_start", "outlet"]).size().rename("total"), on=["period_start", "outlet"])
        b["n_outlets"] = 1
        both = pd.concat([a, b], ignore_index=True)
        both["share"] = both["n_claims"] / both.pop("total")
        both["grain"] = grain
        frames.append(both)
    out = pd.concat(frames, ignore_index=True)
    out["narrative_id"] = out["narrative_id"].astype("int64")
    out = out.sort_values(["grain", "narrative_id", "period_start", "outlet"], na_position="first", kind="stable")
    return out[["narrative_id", "grain", "period_start", "outlet", "n_claims", "n_articles", "n_outlets", "share"]]


def test_timeseries_equals_the_groupby_version_on_random_claims():
    rng = np.random.default_rng(3)
    n = 3000
    df = pd.DataFrame({
        "claim_id": [f"c{i}" for i in range(n)],
        "article_id": [f"a{i}" for i in rng.integers(0, 900, n)],
        "outlet": pd.Series(rng.choice(["RT", "Sputnik", "TASS", "News Front", "Äpfel", None], n), dtype=object),
        "published_at": (pd.Timestamp("2025-12-20") + pd.to_timedelta(rng.integers(0, 90 * 24, n), unit="h"))
        .astype("datetime64[us]"),
        "narrative_id": pd.array(rng.integers(-1, 40, n), dtype="Int64"),
    })
    df.loc[df["narrative_id"] == -1, "narrative_id"] = pd.NA
    df.loc[rng.random(n) < 0.05, "published_at"] = pd.NaT
    got = narrative_timeseries(df, ["day", "week", "month"])
    want = _reference_timeseries(df, ["day", "week", "month"])
    assert len(got) > 2000 and got["outlet"].isna().any() and (got["outlet"] == "(unknown)").any()
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)
