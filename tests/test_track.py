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
