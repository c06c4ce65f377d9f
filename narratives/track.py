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


def _codes(values) -> tuple[np.ndarray, np.ndarray]:
    """(integer code of each value, the distinct values in order of first appearance); a missing value is a value
    of its own, as in ``groupby(dropna=False)``."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _groups(*codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group of each row, one row of each group) for the distinct tuples of non-negative integer ``codes``,
    groups in sorted order of the tuples."""
    key, room = codes[0], int(codes[0].max(initial=0)) + 1
    for c in codes[1:]:
        width = int(c.max(initial=0)) + 1
        if room * width >= 2**62:  # too many combinations for one int64 key: sort the rows of codes instead
            _, first, group = np.unique(np.stack(codes, axis=1), axis=0, return_index=True, return_inverse=True)
            return group.reshape(-1), first
        key, room = key * width + c, room * width
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    return group.reshape(-1), first


def _n_distinct(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """How many distinct ``values`` (integer codes) each group holds."""
    _, first = _groups(group, values)
    return np.bincount(group[first], minlength=n_groups)


def _grain_rows(nid: np.ndarray, period: np.ndarray, outlet: np.ndarray, article: np.ndarray,
                outlet_names: np.ndarray) -> pd.DataFrame:
    """One grain's rows: per narrative and period, for all outlets (outlet NULL) and for each outlet. ``nid``: the
    claims' narrative (-1: unassigned); ``period``: their period start; ``outlet``, ``article``: integer codes."""
    p_code, _ = _codes(period)
    total_all = np.bincount(p_code)
    po_group, _ = _groups(p_code, outlet)
    total_outlet = np.bincount(po_group)
    on = np.flatnonzero(nid >= 0)
    n_code, _ = _codes(nid[on])
    parts = []
    for per_outlet in (False, True):
        group, first = _groups(n_code, p_code[on], outlet[on]) if per_outlet else _groups(n_code, p_code[on])
        at = on[first]  # one claim of each group
        n = len(first)
        n_claims = np.bincount(group, minlength=n)
        total = total_outlet[po_group[at]] if per_outlet else total_all[p_code[at]]
        parts.append(pd.DataFrame({
            T.narrative_id: nid[at], T.period_start: period[at],
            T.outlet: outlet_names[outlet[at]] if per_outlet else np.full(n, None, dtype=object),
            T.n_claims: n_claims, T.n_articles: _n_distinct(group, article[on], n),
            T.n_outlets: np.ones(n, dtype=np.int64) if per_outlet else _n_distinct(group, outlet[on], n),
            T.share: n_claims / total}))
    return pd.concat(parts, ignore_index=True)


def _in_order(ts: pd.DataFrame) -> pd.DataFrame:
    """``ts`` sorted by grain, narrative, period and outlet (all outlets first), ties in their order: as
    ``sort_values([...], na_position="first", kind="stable")``, from integer keys."""
    def rank(col: str) -> np.ndarray:  # missing first (-1), then in string order
        return pd.factorize(ts[col].to_numpy(dtype=object), sort=True)[0].astype(np.int64)

    period = ts[T.period_start].to_numpy().astype("datetime64[ns]").astype(np.int64)
    order = np.lexsort((rank(T.outlet), period, ts[T.narrative_id].to_numpy(dtype=np.int64), rank(T.grain)))
    return ts.iloc[order][NARRATIVE_TIMESERIES.columns].reset_index(drop=True)


def _unordered(claims: pd.DataFrame, grains: list[str]) -> list[pd.DataFrame]:
    """The rows of ``narrative_timeseries`` per grain, not yet in order."""
    dated = claims[claims[C.published_at].notna()]
    assigned = dated[C.narrative_id].notna().to_numpy()
    if not assigned.any():
        return []
    nid = np.where(assigned, pd.to_numeric(dated[C.narrative_id]).fillna(-1).to_numpy(), -1).astype(np.int64)
    outlet, outlet_names = _codes(dated[C.outlet].fillna("(unknown)"))
    article, _ = _codes(dated[C.article_id])
    return [_grain_rows(nid, period_start(dated[C.published_at], grain).to_numpy(), outlet, article, outlet_names)
            .assign(**{T.grain: grain}) for grain in grains]


def _ordered(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return _in_order(pd.concat(frames, ignore_index=True)) if frames else \
        NARRATIVE_TIMESERIES.schema.empty_table().to_pandas()


def narrative_timeseries(claims: pd.DataFrame, grains: list[str]) -> pd.DataFrame:
    """Rows of ``narrative_timeseries``: per grain, per period, for all outlets (outlet NULL) and each outlet.

    ``share`` divides by all dated claims (assigned or not) in the same period and outlet scope, so a change in
    scraping volume does not look like growth. Undated claims are excluded.
    """
    return _ordered(_unordered(claims, grains))


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
        frames += _unordered(dated[in_touched], [grain])
        frames.append(previous[(previous[T.grain] == grain) & ~previous[T.period_start].isin(periods)])
    return _ordered(frames)
