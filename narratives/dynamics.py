"""How each narrative moves: who carried it first and how it spread across outlets, when it burst above its
own baseline, and how its wording drifted from period to period. Undated claims are excluded throughout.

Bursts (``narrative_bursts``): for each grain (day, week) a narrative's claim counts per period form a complete
series over the corpus' dated range (missing periods = 0). The baseline of a period is the mean count of the
previous ``window`` periods (14 days, 8 weeks; fewer at the start) that were not bursting themselves. A period bursts when its count is at least
``min_count`` (3 a day, 5 a week), at least 3x the baseline, and its Poisson z-score
``(count - baseline) / sqrt(max(baseline, 0.5))`` is at least 3. Consecutive bursting periods form one burst;
``score`` is its highest z, ``baseline`` the baseline before it.

Drift (``narrative_drift``): per grain (week, month) and period with claims of the narrative: the cosine distance
of the period's centroid to the previous period's (``shift_prev``) and to the first period's (``shift_first``);
rising and falling terms from class-based TF-IDF computed over that narrative's periods only (the classes are
its periods), compared with the previous period; the claim closest to the period centroid; and
``drift_score = shift_prev * min(1, n_claims / 5)`` (small periods are discounted) to sort by.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from narratives.label import class_counts, ctfidf, term_counts
from narratives.schemas import CLAIMS, NARRATIVE_BURSTS, NARRATIVE_DRIFT, NARRATIVE_OUTLETS, NARRATIVE_SPREAD
from narratives.track import period_start

C = CLAIMS.c
BURST_WINDOW = {"day": 14, "week": 8}
BURST_MIN_COUNT = {"day": 3, "week": 5}
PERIOD_DAYS = {"day": 1, "week": 7}


def _dated(claims: pd.DataFrame) -> pd.DataFrame:
    d = claims[claims[C.published_at].notna() & claims[C.narrative_id].notna()].copy()
    d[C.outlet] = d[C.outlet].fillna("(unknown)")
    return d


def _days(delta: pd.Timedelta) -> float:
    return round(delta.total_seconds() / 86400.0, 3)


def narrative_outlets(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per narrative and outlet: counts, share of the outlet's dated claims, first/last seen, lag."""
    d = _dated(claims)
    if d.empty:
        return NARRATIVE_OUTLETS.schema.empty_table().to_pandas()
    all_dated = claims[claims[C.published_at].notna()]
    per_outlet = all_dated[C.outlet].fillna("(unknown)").value_counts()
    g = d.assign(_copy=d[C.original_claim_id].notna().astype(np.int64)).groupby([C.narrative_id, C.outlet])
    out = g.agg(n_claims=(C.claim_id, "size"), n_articles=(C.article_id, "nunique"),
                first_seen=(C.published_at, "min"), last_seen=(C.published_at, "max"),
                n_reprinted=("_copy", "sum")).reset_index()
    out["share_of_outlet"] = out["n_claims"] / out[C.outlet].map(per_outlet)
    start = d.groupby(C.narrative_id)[C.published_at].min()
    out["lag_days"] = [_days(f - start[n]) for n, f in zip(out[C.narrative_id], out["first_seen"])]
    out[C.narrative_id] = out[C.narrative_id].astype("int64")
    out = out.sort_values([C.narrative_id, "first_seen", C.outlet], kind="stable")
    return out[NARRATIVE_OUTLETS.columns].reset_index(drop=True)


def narrative_spread(outlets: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """One row per narrative: first appearance and outlet, how many outlets and how fast they joined."""
    rows = []
    d = _dated(claims)
    copies = d[d[C.original_claim_id].notna()].groupby(C.narrative_id)[C.outlet]
    n_copies, n_copy_outlets = copies.size(), copies.nunique()
    ordered = outlets.sort_values([NARRATIVE_OUTLETS.c.narrative_id, "first_seen", "n_claims", "outlet"],
                                  ascending=[True, True, False, True], kind="stable")
    for nid, grp in ordered.groupby(NARRATIVE_OUTLETS.c.narrative_id, sort=True):
        joins = [float(x) for x in grp["lag_days"]]
        rows.append({
            "narrative_id": int(nid), "first_seen": grp["first_seen"].iloc[0], "first_outlet": grp["outlet"].iloc[0],
            "n_outlets": len(grp), "days_to_2_outlets": joins[1] if len(joins) > 1 else None,
            "days_to_3_outlets": joins[2] if len(joins) > 2 else None,
            "days_to_5_outlets": joins[4] if len(joins) > 4 else None,
            "outlet_join_days": joins, "n_reprints": int(n_copies.get(nid, 0)),
            "n_reprint_outlets": int(n_copy_outlets.get(nid, 0)),
        })
    return pd.DataFrame(rows, columns=NARRATIVE_SPREAD.columns)


def _series(d: pd.DataFrame, grain: str, span: tuple | None = None) -> tuple[pd.DatetimeIndex, pd.DataFrame]:
    p = period_start(d[C.published_at], grain)
    freq = "D" if grain == "day" else "W-MON"
    lo, hi = (p.min(), p.max()) if span is None else tuple(period_start(pd.Series(pd.to_datetime(list(span))), grain))
    idx = pd.date_range(lo, hi, freq=freq)
    counts = d.assign(_p=p).groupby([C.narrative_id, "_p"]).size().unstack(fill_value=0)
    return idx, counts.reindex(columns=idx, fill_value=0)


def narrative_bursts(claims: pd.DataFrame, grains: tuple[str, ...] = ("day", "week"), span: tuple | None = None) -> pd.DataFrame:
    """Bursts: runs of periods far above the narrative's own trailing baseline (see module doc). ``span`` (first,
    last date) fixes the series' range; by default the range of ``claims``' dates."""
    d = _dated(claims)
    rows = []
    for grain in grains:
        if d.empty:
            break
        idx, counts = _series(d, grain, span)
        w, mc = BURST_WINDOW[grain], BURST_MIN_COUNT[grain]
        for nid, series in counts.iterrows():
            c = series.to_numpy(dtype=float)
            base, z = np.zeros(len(c)), np.zeros(len(c))
            hot = np.zeros(len(c), dtype=bool)
            # Only a period with at least min_count claims can burst, so only those need a baseline (the
            # series span every period of the corpus: years of days for a narrative seen a few times).
            for t in np.flatnonzero(c >= mc):  # in time order: bursting periods stay out of later baselines
                calm = c[max(0, t - w):t][~hot[max(0, t - w):t]]
                base[t] = float(calm.mean()) if len(calm) else 0.0
                z[t] = (c[t] - base[t]) / np.sqrt(max(base[t], 0.5))
                hot[t] = c[t] >= 3 * base[t] and z[t] >= 3
            t = 0
            while t < len(c):
                if not hot[t]:
                    t += 1
                    continue
                end = t
                while end + 1 < len(c) and hot[end + 1]:
                    end += 1
                rows.append({
                    "narrative_id": int(nid), "grain": grain, "period_start": idx[t],
                    "period_end": idx[end] + pd.Timedelta(days=PERIOD_DAYS[grain] - 1),
                    "score": round(float(z[t:end + 1].max()), 3), "baseline": round(float(base[t]), 3),
                    "peak_claims": int(c[t:end + 1].max()),
                })
                t = end + 1
    return pd.DataFrame(rows, columns=NARRATIVE_BURSTS.columns)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n else v


def narrative_drift(claims: pd.DataFrame, X: np.ndarray, grains: tuple[str, ...] = ("week", "month"),
                    n_terms: int = 5) -> pd.DataFrame:
    """Per narrative and period: centroid shift, rising/falling terms, representative claim (see module doc).
    ``X`` holds the embeddings of ``claims`` in the same order. Terms are counted once for all claims; each
    narrative's c-TF-IDF uses only its own rows and terms."""
    mask = (claims[C.published_at].notna() & claims[C.narrative_id].notna()).to_numpy()
    d = claims[mask]
    Xd = np.asarray(X)[mask]
    rows = []
    if d.empty:
        return pd.DataFrame(rows, columns=NARRATIVE_DRIFT.columns)
    terms, counts = term_counts(d[C.embed_text].tolist())
    claim_ids = d[C.claim_id].to_numpy()
    keys = d[C.narrative_id].to_numpy(dtype=np.int64)
    order = np.argsort(keys, kind="stable")  # rows of each narrative, in their original order
    uniq, starts = np.unique(keys[order], return_index=True)
    for grain in grains:
        periods = period_start(d[C.published_at], grain).to_numpy()
        for nid, a, b in zip(uniq, starts, [*starts[1:], len(order)]):
            sel = order[a:b]
            ps, labels = np.unique(periods[sel], return_inverse=True)
            labels = labels.ravel()
            _, by_period = class_counts(counts[sel], labels)
            used = np.flatnonzero(np.asarray(by_period.sum(axis=0)).ravel())  # this narrative's own terms
            scores = ctfidf(by_period[:, used]).toarray()
            nterms = terms[used]
            first = prev = None
            for k, p in enumerate(ps):
                members = sel[labels == k]
                cen = _unit(Xd[members].mean(axis=0))
                first = cen if first is None else first
                rep = members[int(np.argmax(Xd[members] @ cen))]
                if prev is None:
                    shift_prev, falling = None, []
                    rising = [str(t) for t in nterms[np.argsort(-scores[k], kind="stable")][:n_terms]]
                else:
                    shift_prev = float(1.0 - cen @ prev)
                    delta = scores[k] - scores[k - 1]
                    rising = [str(nterms[i]) for i in np.argsort(-delta, kind="stable")[:n_terms] if delta[i] > 0]
                    falling = [str(nterms[i]) for i in np.argsort(delta, kind="stable")[:n_terms] if delta[i] < 0]
                n = len(members)
                rows.append({
                    "narrative_id": int(nid), "grain": grain, "period_start": pd.Timestamp(p), "n_claims": n,
                    "shift_prev": None if shift_prev is None else round(shift_prev, 4),
                    "shift_first": round(float(1.0 - cen @ first), 4),
                    "rising_terms": rising, "falling_terms": falling,
                    "representative_claim_id": claim_ids[rep],
                    "drift_score": None if shift_prev is None else round(shift_prev * min(1.0, n / 5), 4),
                })
                prev = cen
    return pd.DataFrame(rows, columns=NARRATIVE_DRIFT.columns)


def affected_narratives(claims: pd.DataFrame, stored: pd.DataFrame, changed: pd.Series) -> set[int]:
    """Narratives whose claims changed in this run: those the changed claims belong to now or belonged to."""
    now = set(claims.loc[changed.to_numpy(), C.narrative_id].dropna().astype(int))
    if stored is None or stored.empty:
        return now
    ids = set(claims.loc[changed.to_numpy(), C.claim_id])
    before = stored.loc[stored[C.claim_id].isin(ids), C.narrative_id].dropna().astype(int)
    return now | set(before)


def _replace(previous: pd.DataFrame, fresh: pd.DataFrame, affected: set[int], key: list[str]) -> pd.DataFrame:
    keep = previous[~previous["narrative_id"].isin(affected)]
    out = pd.concat([f for f in (keep, fresh) if len(f)], ignore_index=True) if len(keep) or len(fresh) else fresh
    return out.sort_values(key, kind="stable").reset_index(drop=True)[fresh.columns]


def update_dynamics(claims: pd.DataFrame, X: np.ndarray, outlets: pd.DataFrame, stored: pd.DataFrame | None = None,
                    previous: dict[str, pd.DataFrame] | None = None, changed: pd.Series | None = None) -> dict[str, pd.DataFrame]:
    """``narrative_spread``, ``narrative_bursts`` and ``narrative_drift``. With the stored claims and the previous
    tables, only the narratives whose claims changed are recomputed and the other rows are kept: each table's
    rows for a narrative depend only on that narrative's claims (and, for bursts, on the first dated claim of
    the corpus, which is checked). Equal to a full recompute."""
    dated = claims[C.published_at].dropna()
    span = (dated.min(), dated.max()) if len(dated) else None
    full = {
        NARRATIVE_SPREAD.name: lambda cl, x, o: narrative_spread(o, cl),
        NARRATIVE_BURSTS.name: lambda cl, x, o: narrative_bursts(cl, span=span),
        NARRATIVE_DRIFT.name: lambda cl, x, o: narrative_drift(cl, x),
    }
    stored_dated = stored[C.published_at].dropna() if stored is not None else pd.Series(dtype="datetime64[us]")
    incremental = (previous is not None and changed is not None and stored is not None and len(stored_dated)
                   and span is not None and stored_dated.min() == span[0] and not bool(changed.all()))
    if not incremental:
        return {name: fn(claims, X, outlets) for name, fn in full.items()}
    affected = affected_narratives(claims, stored, changed)
    sel = claims[C.narrative_id].isin(affected).to_numpy()
    sub, Xs = claims[sel], np.asarray(X)[sel]
    subo = outlets[outlets["narrative_id"].isin(affected)]
    keys = {NARRATIVE_SPREAD.name: ["narrative_id"], NARRATIVE_BURSTS.name: ["narrative_id", "grain", "period_start"],
            NARRATIVE_DRIFT.name: ["narrative_id", "grain", "period_start"]}
    return {name: _replace(previous[name], fn(sub, Xs, subo), affected, keys[name]) for name, fn in full.items()}
