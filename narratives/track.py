"""Track narratives over time and outlets: counts per narrative x period x outlet, and each narrative's extent."""

from __future__ import annotations

import numpy as np
import pandas as pd

from narratives.frames import in_ids
from narratives.schemas import CLAIMS, NARRATIVE_TIMESERIES

C = CLAIMS.c
T = NARRATIVE_TIMESERIES.c


def period_start(ts: pd.Series, grain: str) -> pd.Series:
    """First day of the period containing each timestamp: day, ISO week (Monday) or month."""
    day = ts.dt.normalize()
    if grain == "day":
        return day
    if grain == "week":
        return day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    if grain == "month":
        return day - pd.to_timedelta(day.dt.day - 1, unit="D")
    raise ValueError(f"grain={grain!r} must be one of 'day', 'week', 'month'")


def _counts(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df.groupby(keys, dropna=False, sort=True).agg(
        n_claims=(C.claim_id, "size"),
        n_articles=(C.article_id, "nunique"),
        n_outlets=(C.outlet, "nunique"),
    ).reset_index()


def narrative_timeseries(claims: pd.DataFrame, grains: list[str]) -> pd.DataFrame:
    """Rows of ``narrative_timeseries``: per grain, per period, for all outlets (outlet NULL) and each outlet.

    ``share`` divides by all dated claims (assigned or not) in the same period and outlet scope, so a change in
    scraping volume does not look like growth. Undated claims are excluded.
    """
    dated = claims[claims[C.published_at].notna()].copy()
    frames = []
    for grain in grains:
        if dated.empty:
            break
        d = dated.assign(**{T.period_start: period_start(dated[C.published_at], grain)})
        d[C.outlet] = d[C.outlet].fillna("(unknown)")
        assigned = d[d[C.narrative_id].notna()]
        if assigned.empty:
            continue
        # all outlets together
        tot_all = d.groupby(T.period_start).size().rename("total")
        a = _counts(assigned, [C.narrative_id, T.period_start]).join(tot_all, on=T.period_start)
        a[T.outlet] = None
        # per outlet
        tot_out = d.groupby([T.period_start, C.outlet]).size().rename("total")
        b = _counts(assigned, [C.narrative_id, T.period_start, C.outlet]).join(tot_out, on=[T.period_start, C.outlet])
        b[T.n_outlets] = 1
        both = pd.concat([a, b], ignore_index=True)
        both[T.share] = both["n_claims"] / both.pop("total")
        both[T.grain] = grain
        frames.append(both)
    if not frames:
        return NARRATIVE_TIMESERIES.schema.empty_table().to_pandas()
    out = pd.concat(frames, ignore_index=True)
    out[T.narrative_id] = out[T.narrative_id].astype("int64")
    out = out.sort_values([T.grain, T.narrative_id, T.period_start, T.outlet], na_position="first", kind="stable")
    return out[NARRATIVE_TIMESERIES.columns].reset_index(drop=True)


def narrative_extent(claims: pd.DataFrame) -> pd.DataFrame:
    """size, n_articles, n_outlets, first_seen, last_seen per assigned narrative_id."""
    assigned = claims[claims[C.narrative_id].notna()]
    g = assigned.groupby(C.narrative_id)
    return pd.DataFrame({
        "size": g.size(),
        "n_articles": g[C.article_id].nunique(),
        "n_outlets": g[C.outlet].nunique(),
        "first_seen": g[C.published_at].min(),
        "last_seen": g[C.published_at].max(),
    })


def changed_claims(claims: pd.DataFrame, stored: pd.DataFrame) -> pd.Series:
    """Mask of ``claims`` that are new or whose narrative changed since ``stored`` (the claims table before)."""
    if stored is None or stored.empty:
        return pd.Series(True, index=claims.index)
    if not stored[C.claim_id].is_unique:
        stored = stored.drop_duplicates(C.claim_id, keep="last")
    at = pd.Index(stored[C.claim_id]).get_indexer(claims[C.claim_id])  # -1: not stored
    before = pd.to_numeric(stored[C.narrative_id], errors="coerce").fillna(-1).astype("int64").to_numpy()
    now = claims[C.narrative_id].astype("Int64").fillna(-1).to_numpy()
    then = np.where(at >= 0, before[np.maximum(at, 0)], -1)
    return pd.Series((at < 0) | (now != then), index=claims.index)


def affected_narratives(claims: pd.DataFrame, stored: pd.DataFrame, changed: pd.Series) -> set[int]:
    """Narratives whose claims changed in this run: those the changed claims belong to now or belonged to."""
    now = set(claims.loc[changed.to_numpy(), C.narrative_id].dropna().astype(int))
    if stored is None or stored.empty:
        return now
    ids = claims.loc[changed.to_numpy(), C.claim_id]
    before = stored.loc[in_ids(stored[C.claim_id], ids), C.narrative_id].dropna().astype(int)
    return now | set(before)


def update_timeseries(previous: pd.DataFrame | None, claims: pd.DataFrame, changed: pd.Series,
                      grains: list[str]) -> pd.DataFrame:
    """``narrative_timeseries`` recomputed only for the periods that hold a changed claim; the stored rows of
    every other period are kept. Equal to ``narrative_timeseries(claims, grains)`` (a period's rows depend only on
    its own claims) at a fraction of the cost when a batch touches a few days."""
    if previous is None or previous.empty or bool(changed.all()):
        return narrative_timeseries(claims, grains)
    dated = claims[claims[C.published_at].notna()]
    touched = dated[changed.loc[dated.index]]
    frames = []
    for grain in grains:
        periods = set(period_start(touched[C.published_at], grain))
        in_touched = period_start(dated[C.published_at], grain).isin(periods)
        fresh = narrative_timeseries(dated[in_touched], [grain])
        old = previous[(previous[T.grain] == grain) & ~previous[T.period_start].isin(periods)]
        frames += [old, fresh]
    out = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else \
        NARRATIVE_TIMESERIES.schema.empty_table().to_pandas()
    out = out.sort_values([T.grain, T.narrative_id, T.period_start, T.outlet], na_position="first", kind="stable")
    return out[NARRATIVE_TIMESERIES.columns].reset_index(drop=True)
