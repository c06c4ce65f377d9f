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

from narratives.label import term_counts
from narratives.scale import cluster_sums, row_dots
from narratives.schemas import CLAIMS, NARRATIVE_BURSTS, NARRATIVE_DRIFT, NARRATIVE_OUTLETS, NARRATIVE_SPREAD
from narratives.track import affected_narratives, period_start

C = CLAIMS.c
BURST_WINDOW = {"day": 14, "week": 8}
BURST_MIN_COUNT = {"day": 3, "week": 5}
PERIOD_DAYS = {"day": 1, "week": 7}


def _dated(claims: pd.DataFrame) -> pd.DataFrame:
    d = claims[claims[C.published_at].notna() & claims[C.narrative_id].notna()].copy()
    d[C.outlet] = d[C.outlet].fillna("(unknown)")
    return d


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
    lag = pd.to_timedelta(out["first_seen"].to_numpy() - out[C.narrative_id].map(start).to_numpy())
    out["lag_days"] = [round(s / 86400.0, 3) for s in lag.total_seconds().tolist()]  # days, to 3 decimals
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
    nids, first, names, lags = (ordered[c].tolist() for c in (NARRATIVE_OUTLETS.c.narrative_id, "first_seen", "outlet",
                                                               "lag_days"))
    ends = [i + 1 for i in range(len(nids)) if i + 1 == len(nids) or nids[i + 1] != nids[i]]  # sorted by narrative
    for a, b in zip([0, *ends[:-1]], ends):  # one narrative's outlets, in the order they joined
        nid, joins = nids[a], [float(x) for x in lags[a:b]]
        rows.append({
            "narrative_id": int(nid), "first_seen": first[a], "first_outlet": names[a],
            "n_outlets": b - a, "days_to_2_outlets": joins[1] if len(joins) > 1 else None,
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
        for nid, c in zip(counts.index.tolist(), counts.to_numpy(dtype=float)):
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


def _top_per_row(M, n: int, sign: float) -> list[list[int]]:
    """Per row of the sparse matrix ``M``: the columns of its ``n`` largest entries of ``sign * value`` among
    those with ``sign * value > 0``, best first, ties by column."""
    M = M.tocsr()
    if not M.has_canonical_format:  # (scipy's products and differences are canonical already)
        M = M.copy()
        M.sum_duplicates()
    # each row's columns ascending (canonical), so the stable sort by row and value breaks ties by column
    r = np.repeat(np.arange(M.shape[0]), np.diff(M.indptr))
    keep = sign * M.data > 0
    r, c, v = r[keep], M.indices[keep], sign * M.data[keep]
    order = np.lexsort((-v, r))
    r, c = r[order], c[order]
    starts = np.searchsorted(r, np.arange(M.shape[0]))
    rank = np.arange(len(r)) - starts[r]
    top = rank < n
    r, c = r[top], c[top]
    bounds = np.searchsorted(r, np.arange(M.shape[0] + 1))
    return [c[a:b].tolist() for a, b in zip(bounds[:-1], bounds[1:])]


def narrative_drift(claims: pd.DataFrame, X: np.ndarray, grains: tuple[str, ...] = ("week", "month"),
                    n_terms: int = 5, counted=None) -> pd.DataFrame:
    """Per narrative and period: centroid shift, rising/falling terms, representative claim (see module doc).
    ``X`` holds the embeddings of ``claims`` in the same order. Terms are counted once for all claims; each
    narrative's c-TF-IDF (:func:`narratives.label.ctfidf` with the narrative's periods as classes and its own
    terms) is computed for all narratives at once from sparse (narrative, period) x term sums. ``counted``:
    :func:`narratives.label.term_counts` of the claims' ``embed_text`` (same rows) when the caller has it; terms
    no claim here uses do not change the result."""
    from scipy import sparse

    mask = (claims[C.published_at].notna() & claims[C.narrative_id].notna()).to_numpy()
    d = claims[mask]
    if d.empty:
        return pd.DataFrame([], columns=NARRATIVE_DRIFT.columns)
    Xd, xrows = np.asarray(X), np.flatnonzero(mask)  # the rows of X of d (read a block at a time, not copied)
    terms, counts = term_counts(d[C.embed_text].tolist()) if counted is None else (counted[0], counted[1][mask])
    claim_ids = d[C.claim_id].to_numpy()
    keys = d[C.narrative_id].to_numpy(dtype=np.int64)
    n_rows, n_t = len(d), counts.shape[1]
    frames = []
    for grain in grains:
        periods = period_start(d[C.published_at], grain).to_numpy()
        grouped = pd.DataFrame({"n": keys, "p": periods}).groupby(["n", "p"], sort=True)
        group = grouped.ngroup().to_numpy()  # groups ordered by narrative, period
        table = grouped.size()
        g_nid = table.index.get_level_values(0).to_numpy(dtype=np.int64)
        g_per = table.index.get_level_values(1)
        n_g = len(table)
        G = sparse.csr_matrix((np.ones(n_rows), (group, np.arange(n_rows))), shape=(n_g, n_rows))
        P = (G @ counts).tocsr()  # (narrative, period) x term counts
        P.sort_indices()
        nar, g_nar = np.unique(g_nid, return_inverse=True)
        g_nar = g_nar.ravel()
        H = sparse.csr_matrix((np.ones(n_g), (g_nar, np.arange(n_g))), shape=(len(nar), n_g))
        NT = (H @ P).tocsr()  # narrative x term counts: its own terms
        NT.sort_indices()
        avg_words = np.asarray(NT.sum(axis=1)).ravel() / np.bincount(g_nar, minlength=len(nar))
        words = np.asarray(P.sum(axis=1)).ravel()
        words[words == 0] = 1.0
        pr = np.repeat(np.arange(n_g), np.diff(P.indptr))
        nt_rows = np.repeat(np.arange(len(nar)), np.diff(NT.indptr))
        at = np.searchsorted(nt_rows * n_t + NT.indices, g_nar[pr] * n_t + P.indices)
        idf = np.log(1.0 + avg_words[g_nar[pr]] / np.maximum(NT.data[at], 1.0))
        S = sparse.csr_matrix((P.data * (1.0 / words[pr]) * idf, P.indices, P.indptr), shape=P.shape)
        first_of = np.r_[True, g_nar[1:] != g_nar[:-1]]  # the narrative's first period
        prev_g = np.flatnonzero(~first_of)
        delta = S[prev_g] - S[prev_g - 1]
        delta.eliminate_zeros()
        rising = [[] for _ in range(n_g)]
        falling = [[] for _ in range(n_g)]
        for g, cols in zip(np.flatnonzero(first_of), _top_per_row(S[first_of], n_terms, 1.0)):
            rising[g] = [str(terms[i]) for i in cols]
        for g, up, down in zip(prev_g, _top_per_row(delta, n_terms, 1.0), _top_per_row(delta, n_terms, -1.0)):
            rising[g] = [str(terms[i]) for i in up]
            falling[g] = [str(terms[i]) for i in down]
        cen = cluster_sums(Xd, group, n_g, rows=xrows)
        cen /= np.maximum(np.linalg.norm(cen, axis=1, keepdims=True), 1e-300)
        sim = row_dots(Xd, xrows, cen, group)
        best = np.lexsort((np.arange(n_rows), -sim, group))
        rep = best[np.r_[True, group[best][1:] != group[best][:-1]]]  # most central row of each group
        first_g = np.maximum.accumulate(np.where(first_of, np.arange(n_g), 0))
        shift_first = 1.0 - np.einsum("ij,ij->i", cen, cen[first_g])
        shift_prev = np.full(n_g, np.nan)
        shift_prev[prev_g] = 1.0 - np.einsum("ij,ij->i", cen[prev_g], cen[prev_g - 1])
        n = table.to_numpy()
        score = shift_prev * np.minimum(1.0, n / 5)
        frames.append(pd.DataFrame({
            "narrative_id": g_nid, "grain": grain, "period_start": pd.DatetimeIndex(g_per), "n_claims": n,
            "shift_prev": np.round(shift_prev, 4), "shift_first": np.round(shift_first, 4),
            "rising_terms": rising, "falling_terms": falling, "representative_claim_id": claim_ids[rep],
            "drift_score": np.round(score, 4),
        }))
    out = pd.concat(frames, ignore_index=True)
    for col in ("shift_prev", "drift_score"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out[NARRATIVE_DRIFT.columns]


def _replace(previous: pd.DataFrame, fresh: pd.DataFrame, affected: set[int], key: list[str]) -> pd.DataFrame:
    keep = previous[~previous["narrative_id"].isin(affected)]
    out = pd.concat([f for f in (keep, fresh) if len(f)], ignore_index=True) if len(keep) or len(fresh) else fresh
    return out.sort_values(key, kind="stable").reset_index(drop=True)[fresh.columns]


def update_dynamics(claims: pd.DataFrame, X: np.ndarray, outlets: pd.DataFrame, stored: pd.DataFrame | None = None,
                    previous: dict[str, pd.DataFrame] | None = None, changed: pd.Series | None = None,
                    counted=None) -> dict[str, pd.DataFrame]:
    """``narrative_spread``, ``narrative_bursts`` and ``narrative_drift``. With the stored claims and the previous
    tables, only the narratives whose claims changed are recomputed and the other rows are kept: each table's
    rows for a narrative depend only on that narrative's claims (and, for bursts, on the first dated claim of
    the corpus, which is checked). Equal to a full recompute. ``counted``: the claims' term counts, as for
    :func:`narrative_drift`."""
    dated = claims[C.published_at].dropna()
    span = (dated.min(), dated.max()) if len(dated) else None
    full = {  # each gets claims, their vectors, their outlet rows and their term counts
        NARRATIVE_SPREAD.name: lambda cl, x, o, cnt: narrative_spread(o, cl),
        NARRATIVE_BURSTS.name: lambda cl, x, o, cnt: narrative_bursts(cl, span=span),
        NARRATIVE_DRIFT.name: lambda cl, x, o, cnt: narrative_drift(cl, x, counted=cnt),
    }
    stored_dated = stored[C.published_at].dropna() if stored is not None else pd.Series(dtype="datetime64[us]")
    incremental = (previous is not None and changed is not None and stored is not None and len(stored_dated)
                   and span is not None and stored_dated.min() == span[0] and not bool(changed.all()))
    if not incremental:
        return {name: fn(claims, X, outlets, counted) for name, fn in full.items()}
    affected = affected_narratives(claims, stored, changed)
    sel = claims[C.narrative_id].isin(affected).to_numpy()
    sub, Xs = claims[sel], np.asarray(X)[sel]
    subc = None if counted is None else (counted[0], counted[1][sel])
    subo = outlets[outlets["narrative_id"].isin(affected)]
    keys = {NARRATIVE_SPREAD.name: ["narrative_id"], NARRATIVE_BURSTS.name: ["narrative_id", "grain", "period_start"],
            NARRATIVE_DRIFT.name: ["narrative_id", "grain", "period_start"]}
    return {name: _replace(previous[name], fn(sub, Xs, subo, subc), affected, keys[name]) for name, fn in full.items()}
