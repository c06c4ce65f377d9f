"""The data behind the HTML report: one JSON-ready dict built from the output tables.

Everything the page shows comes from here; the page's script only lays it out (with ``textContent``, never as
HTML). Values are plain numbers, strings and lists; scraped text is passed through as text.

The 2-D map places each narrative at its centroid projected on the two principal axes of all narrative
centroids (a linear projection: stable, cheap, and the same for every run over the same narratives) and draws
its claims around it, farther out the lower their similarity to the centroid.
"""

from __future__ import annotations

import hashlib
import re
from itertools import islice
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from narratives.frames import in_ids
from narratives.schemas import (
    ARTICLES, CLAIMS, NARRATIVE_BURSTS, NARRATIVE_DRIFT, NARRATIVE_LINEAGE, NARRATIVE_OUTLETS, NARRATIVE_SPREAD,
    NARRATIVES, QUARANTINE, RUNS, THEMES, TableDef, empty_frame,
)

A, C, N, TH, R = ARTICLES.c, CLAIMS.c, NARRATIVES.c, THEMES.c, RUNS.c
SP, B, D, L, O = NARRATIVE_SPREAD.c, NARRATIVE_BURSTS.c, NARRATIVE_DRIFT.c, NARRATIVE_LINEAGE.c, NARRATIVE_OUTLETS.c
GROWTH_DAYS = 7
TIMELINE_OUTLETS = 5  # per card: the narrative's top outlets, the rest as "other"
HEATMAP_NARRATIVES = 30
HEATMAP_OUTLETS = 25
MAP_POINTS = 6000
DRIFT_PERIODS = 12
TABLES = (ARTICLES, CLAIMS, NARRATIVES, THEMES, NARRATIVE_OUTLETS, NARRATIVE_SPREAD, NARRATIVE_BURSTS,
          NARRATIVE_DRIFT, NARRATIVE_LINEAGE, RUNS, QUARANTINE)
# The columns report_data reads of the large tables (callers may read only these; the rest come as NULL).
COLUMNS = {ARTICLES.name: [A.article_id, A.url],
           CLAIMS.name: [C.claim_id, C.article_id, C.text, C.speaker, C.outlet, C.published_at, C.narrative_id,
                         C.membership],
           QUARANTINE.name: [QUARANTINE.c.run_id]}  # only counted


def _frame(tables: dict, table: TableDef) -> pd.DataFrame:
    df = tables.get(table.name)
    df = empty_frame(table) if df is None else df.copy()
    for col in table.columns:
        if col not in df.columns:
            df[col] = None
    for f in table.schema:
        if str(f.type).startswith("timestamp"):
            df[f.name] = pd.to_datetime(df[f.name], errors="coerce", utc=True).dt.tz_localize(None)
        elif f.name in ("narrative_id", "theme_id", "related_narrative_id"):
            df[f.name] = pd.to_numeric(df[f.name], errors="coerce").astype("float64")
    return df.reset_index(drop=True)


def _na(v) -> bool:
    if v is None:
        return True
    if isinstance(v, (str, bool, int)):  # the common cases first (this runs for every cell of the report)
        return False
    if isinstance(v, (float, np.floating)):
        return v != v
    if isinstance(v, (pd.Timestamp, np.integer)):
        return False
    try:
        return bool(pd.isna(v)) if np.ndim(v) == 0 else False
    except (TypeError, ValueError):
        return False


# _s, _date, _num and _list run for every value the report shows: each has a fast path for the common type.
def _s(v) -> str | None:
    if type(v) is str:
        return v
    return None if _na(v) else str(v)


def _date(v) -> str | None:
    if type(v) is pd.Timestamp and v.year >= 1000:  # (NaT is not a Timestamp; strftime pads no year below 1000)
        return v.date().isoformat()
    return None if _na(v) else pd.Timestamp(v).strftime("%Y-%m-%d")


def _num(v, digits: int = 3):
    if type(v) is float:
        return None if v != v else round(v, digits)
    return None if _na(v) else round(float(v), digits)


def _nums(values: list, digits: int = 3) -> list:
    """:func:`_num` of each value (floats, the usual case, without a call each)."""
    return [(None if v != v else round(v, digits)) if type(v) is float else _num(v, digits) for v in values]


def _list(v, limit: int | None = None) -> list[str]:
    """The non-missing items of ``v`` as strings (the first ``limit`` of them)."""
    if type(v) is np.ndarray or type(v) is list:
        items = v[:limit].tolist() if type(v) is np.ndarray else v[:limit]
        if all(type(x) is str for x in items):  # no missing items among the first ones (the usual case)
            return items
    if isinstance(v, (list, tuple, np.ndarray, pd.Series)):
        return list(islice((x if type(x) is str else str(x) for x in v if type(x) is str or not _na(x)), limit))
    return [] if _na(v) or limit == 0 else [str(v)]


_SPACE = re.compile(r"\s")


# An absolute http(s) URL whose host part is plain printable ASCII (no brackets) and which has no whitespace:
# what urlsplit accepts below, checked without it (urlsplit costs ~30 us a URL, a tenth of the report's links).
_PLAIN_URL = re.compile(r"(?i:https?)://(?:(?![/?#\[\]])[!-~])+(?:[/?#]\S*)?")


def safe_url(v) -> str | None:
    """The URL when it is absolute http(s) without whitespace; None for anything else (javascript:, data:, ...)."""
    if type(v) is str and _PLAIN_URL.fullmatch(s := v.strip()):
        return s
    if _na(v):
        return None
    s = str(v).strip()
    try:
        parts = urlsplit(s)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or _SPACE.search(s):
        return None
    return s


def _week(ts: pd.Series) -> pd.Series:
    day = ts.dt.normalize()
    return day - pd.to_timedelta(day.dt.day_of_week, unit="D")


def summary(t: dict[str, pd.DataFrame]) -> dict:
    claims, runs = t["claims"], t["runs"]
    dated = claims[C.published_at].dropna()
    last = runs.sort_values(R.started_at, kind="stable").iloc[-1] if len(runs) else None
    return {
        "articles": int(len(t["articles"])), "claims": int(len(claims)),
        "outlets": int(claims[C.outlet].dropna().nunique()),
        "first_date": _date(dated.min()) if len(dated) else None, "last_date": _date(dated.max()) if len(dated) else None,
        "quarantined": int(len(t["quarantine"])), "undated": int(claims[C.published_at].isna().sum()),
        "unassigned": int(claims[C.narrative_id].isna().sum()), "narratives": int(len(t["narratives"])),
        "themes": int(len(t["themes"])), "runs": int(len(runs)),
        "last_run": None if last is None else {"id": _s(last[R.run_id]), "status": _s(last[R.status]),
                                               "mode": _s(last[R.mode]), "finished": _s(last[R.finished_at])},
    }


def _growth(claims: pd.DataFrame) -> dict[int, tuple[int, int]]:
    dated = claims[claims[C.published_at].notna() & claims[C.narrative_id].notna()]
    if dated.empty:
        return {}
    end = dated[C.published_at].max().normalize() + pd.Timedelta(days=1)
    mid, start = end - pd.Timedelta(days=GROWTH_DAYS), end - pd.Timedelta(days=2 * GROWTH_DAYS)
    ts = dated[C.published_at]
    last = dated[(ts >= mid) & (ts < end)].groupby(C.narrative_id).size()
    prev = dated[(ts >= start) & (ts < mid)].groupby(C.narrative_id).size()
    return {int(i): (int(last.get(i, 0)), int(prev.get(i, 0))) for i in set(last.index) | set(prev.index)}


def _timelines(claims: pd.DataFrame, weeks: dict[pd.Timestamp, int]) -> dict[int, dict]:
    """Per narrative, claims per week and outlet: its top outlets, the rest together as 'other outlets'. Counted
    with integer codes (outlet names coded in sorted order, so every order below is the names' order)."""
    d = claims[claims[C.published_at].notna() & claims[C.narrative_id].notna()]
    if d.empty:
        return {}
    n = d[C.narrative_id].to_numpy(dtype=np.float64).astype(np.int64)
    outlet = d[C.outlet].fillna("(unknown outlet)").to_numpy(dtype=object)
    w = _week(d[C.published_at]).map(weeks).to_numpy(dtype=np.int64)
    oc, onames = pd.factorize(outlet, sort=True)
    # each narrative's outlets by claims (most first, ties by name): the first TIMELINE_OUTLETS keep their name
    pair, of_row, k = np.unique(n * len(onames) + oc, return_inverse=True, return_counts=True)
    pn, po = pair // len(onames), pair % len(onames)
    by = np.lexsort((po, -k, pn))
    pn, po = pn[by], po[by]
    rank = np.arange(len(pn)) - np.searchsorted(pn, pn)
    order = {(int(a), onames[b]): int(r) for a, b, r in zip(pn.tolist(), po.tolist(), rank.tolist())}
    top = np.zeros(len(pair), dtype=bool)
    top[by[rank < TIMELINE_OUTLETS]] = True
    name = np.where(top[of_row.ravel()], outlet, "other outlets")
    nc, names = pd.factorize(name, sort=True)
    n_weeks = int(w.max()) + 1
    key, counts = np.unique((n * len(names) + nc) * n_weeks + w, return_counts=True)
    series = key // n_weeks  # (narrative, name) of each count, in that order, weeks ascending within
    points = np.column_stack([key % n_weeks, counts]).tolist()
    cut = np.flatnonzero(np.r_[True, series[1:] != series[:-1], True])
    out: dict[int, dict[str, list]] = {}
    for a, b, s in zip(cut[:-1].tolist(), cut[1:].tolist(), series[cut[:-1]].tolist()):
        out.setdefault(s // len(names), {})[names[s % len(names)]] = points[a:b]
    return {n: {"series": [{"outlet": o, "points": pts} for o, pts in
                           sorted(series.items(), key=lambda kv: order.get((n, kv[0]), TIMELINE_OUTLETS))]}
            for n, series in out.items()}


def _lists(df: pd.DataFrame, *cols: str) -> list[list]:
    """The columns as Python lists (iterating a Series item by item is several times slower, most of all the
    Arrow-backed string columns)."""
    return [df[c].tolist() for c in cols]


def _rows(df: pd.DataFrame) -> list[dict]:
    """``df.to_dict("records")`` built column by column (a few times faster on the report's larger tables)."""
    cols = list(df.columns)
    return [dict(zip(cols, vals)) for vals in zip(*(df[c].tolist() for c in cols))] if len(df) else []


def _records(df: pd.DataFrame, col: str) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for rec in _rows(df):
        if not _na(rec[col]):
            out.setdefault(int(rec[col]), []).append(rec)
    return out


def _reps(r: dict, claim_info: dict, urls: dict) -> list[dict]:
    out = []
    texts = None  # the stored texts, read only for a claim the claims table lacks
    for i, cid in enumerate(_list(r[N.representative_claim_ids])):
        c = claim_info.get(cid)
        if c is not None:
            text, outlet, date, speaker, article = c
            out.append({"text": _s(text), "outlet": _s(outlet), "date": _date(date), "speaker": _s(speaker),
                        "url": urls.get(article)})
            continue
        if texts is None:
            texts = _list(r[N.representative_claims])
        if i < len(texts):
            out.append({"text": texts[i], "outlet": None, "date": None, "speaker": None, "url": None})
    return out


def _drift(weekly: pd.DataFrame, texts: dict) -> dict[int, list[dict]]:
    """Each narrative's drift periods as shown (``weekly``: every narrative's last weekly periods in order, see
    report_data), read column by column (tens of thousands of rows on a large database)."""
    if weekly.empty:
        return {}
    days = weekly[D.period_start].dt.strftime("%Y-%m-%d").tolist()
    nids, ns, ups, downs, reps = _lists(weekly, D.narrative_id, D.n_claims, D.rising_terms, D.falling_terms,
                                        D.representative_claim_id)
    shifts, scores = (_nums(weekly[c].tolist()) for c in (D.shift_prev, D.drift_score))
    out: dict[int, list[dict]] = {}
    for day, nid, n, shift, score, up, down, rep in zip(days, nids, ns, shifts, scores, ups, downs, reps):
        if _na(nid):
            continue
        out.setdefault(int(nid), []).append({
            "period": day if isinstance(day, str) else None, "n": int(n), "shift": shift, "score": score,
            "rising": _list(up, 5), "falling": _list(down, 5), "rep": texts.get(rep)})
    return out


def _outlet_rows(outlets: pd.DataFrame) -> dict[int, list[list]]:
    """Each narrative's outlets as its card lists them, [outlet, claims, lag in days], earliest first and ties by
    outlet name (one sort of the whole table: a stable sort keeps that order within each narrative)."""
    nid, outlet, n, lag = _lists(outlets, O.narrative_id, O.outlet, O.n_claims, O.lag_days)
    out: dict[int, list[list]] = {}
    for i in sorted(range(len(nid)), key=lambda i: (lag[i], str(outlet[i]))):
        if not _na(nid[i]):
            out.setdefault(int(nid[i]), []).append([_s(outlet[i]), int(n[i]), _num(lag[i], 1)])
    return out


def _spread(r: dict | None, outs: list[list]) -> dict | None:
    if r is None:
        return None
    return {"first_outlet": _s(r[SP.first_outlet]), "first_seen": _date(r[SP.first_seen]),
            "days_to": [_num(r[SP.days_to_2_outlets], 1), _num(r[SP.days_to_3_outlets], 1), _num(r[SP.days_to_5_outlets], 1)],
            "n_reprints": 0 if _na(r[SP.n_reprints]) else int(r[SP.n_reprints]), "outlets": outs}


def _projection(narrs: pd.DataFrame) -> dict[int, tuple[float, float]]:
    """Narrative centroids on the first two principal axes of all centroids, scaled to [-1, 1]."""
    have = narrs[narrs[N.centroid].map(lambda v: isinstance(v, (list, np.ndarray)) and len(v) > 0)]
    if len(have) < 3 or len(have) < len(narrs):  # no centroids stored (older database): a circle by rank
        k = max(len(narrs), 1)
        return {int(n): (float(np.cos(2 * np.pi * i / k)), float(np.sin(2 * np.pi * i / k)))
                for i, n in enumerate(narrs[N.narrative_id])}
    M = np.stack([np.asarray(v, dtype=np.float64) for v in have[N.centroid]])
    M -= M.mean(axis=0)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # a small problem: BLAS threads only add waiting (seconds on a busy machine)
        _, vecs = np.linalg.eigh(M.T @ M)  # principal axes from the dim x dim Gram matrix (faster than an SVD)
    axes = vecs[:, ::-1][:, :2]
    axes *= np.where(axes[np.abs(axes).argmax(axis=0), [0, 1]] < 0, -1.0, 1.0)  # a fixed sign per axis
    P = M @ axes
    P /= np.abs(P).max(axis=0).clip(min=1e-9)
    return {int(n): (float(x), float(y)) for n, (x, y) in zip(have[N.narrative_id], P)}


def _jitter(claim_ids: list) -> tuple[np.ndarray, np.ndarray]:
    """Each claim's fixed offset in the unit disc, from a hash of its id (x, y arrays)."""
    h = np.frombuffer(b"".join(hashlib.blake2b(str(c).encode(), digest_size=8).digest() for c in claim_ids),
                      dtype="<u4").reshape(-1, 2).astype(np.float64)
    a = h[:, 0] / 2**32 * 2 * np.pi
    r = np.sqrt(h[:, 1] / 2**32)
    return np.cos(a) * r, np.sin(a) * r


def claim_map(claims: pd.DataFrame, narrs: pd.DataFrame) -> dict:
    pos = _projection(narrs)
    nid_all = claims[C.narrative_id].to_numpy(dtype=np.float64, na_value=np.nan)
    rows = np.flatnonzero(~np.isnan(nid_all))  # the assigned claims (only their columns are read, not copied)
    ids = claims[C.claim_id].to_numpy(dtype=object)[rows]
    if len(rows) > MAP_POINTS:  # deterministic sample: the claims whose id hashes sort first (pandas'
        # hash_array: deterministic and vectorised, 0.02 s for 30k ids where a blake2b per id took 0.1 s)
        order = np.argsort(pd.util.hash_array(ids.astype(str).astype(object)), kind="stable")[:MAP_POINTS]
        rows, ids = rows[order], ids[order]
    nids = nid_all[rows].astype(np.int64)
    keep = np.array([n in pos for n in nids.tolist()], dtype=bool)  # (claims of narratives the table lacks: not drawn)
    nids = nids[keep]
    xy = np.array([pos[n] for n in nids.tolist()], dtype=np.float64).reshape(-1, 2)
    jx, jy = _jitter(ids[keep].tolist())
    m = pd.to_numeric(claims[C.membership], errors="coerce").to_numpy(dtype=np.float64)[rows][keep]
    scale = 0.06 * (0.3 + (1.0 - np.where(np.isnan(m), 0.0, m)) * 2)
    x, y = (xy[:, 0] + jx * scale).tolist(), (xy[:, 1] + jy * scale).tolist()
    pts = [[round(a, 4), round(b, 4), n] for a, b, n in zip(x, y, nids.tolist())]
    return {"points": pts, "n_claims": int(len(claims) - np.isnan(nid_all).sum()),
            "centres": [[round(x, 4), round(y, 4), n] for n, (x, y) in pos.items()]}


def heatmap(claims: pd.DataFrame, narrs: pd.DataFrame) -> dict:
    ids = [int(i) for i in narrs[N.narrative_id].head(HEATMAP_NARRATIVES)]
    sub = claims[claims[C.narrative_id].isin(ids)]
    if sub.empty:
        return {"outlets": [], "narratives": [], "values": [], "hidden_outlets": 0}
    outlet = sub[C.outlet].fillna("(unknown outlet)")
    counts = sub.assign(_o=outlet).groupby(["_o", C.narrative_id]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=[float(i) for i in ids], fill_value=0)
    counts = counts.loc[counts.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    return {"outlets": [str(o) for o in counts.index[:HEATMAP_OUTLETS]], "narratives": ids,
            "values": counts.head(HEATMAP_OUTLETS).astype(int).to_numpy().tolist(),
            "hidden_outlets": max(len(counts) - HEATMAP_OUTLETS, 0)}


def _positions(index: pd.Index, wanted: set) -> np.ndarray:
    """Row positions of every occurrence of the ``wanted`` values in ``index`` (as ``index.isin(wanted)``)."""
    if not wanted:
        return np.zeros(0, dtype=np.int64)
    if index.is_unique:
        pos = index.get_indexer(list(wanted))
        return pos[pos >= 0]
    return np.flatnonzero(in_ids(index, wanted))


def report_data(tables: dict[str, pd.DataFrame], title: str = "Narratives report") -> dict:
    """Everything the report shows, as JSON-ready values."""
    t = {d.name: _frame(tables or {}, d) for d in TABLES}
    claims = t["claims"]
    narrs = t["narratives"].dropna(subset=[N.narrative_id])
    narrs = narrs.assign(_size=pd.to_numeric(narrs[N.size], errors="coerce").fillna(0))
    narrs = narrs.sort_values(["_size", N.narrative_id], ascending=[False, True], kind="stable").reset_index(drop=True)
    wanted = {c for v in narrs[N.representative_claim_ids] for c in _list(v)}
    row_of = pd.Index(claims[C.claim_id])
    info = claims.iloc[np.sort(_positions(row_of, wanted))]
    claim_info = {cid: vals for cid, *vals in zip(*_lists(info, C.claim_id, C.text, C.outlet, C.published_at,
                                                              C.speaker, C.article_id))}
    arts = t["articles"].drop_duplicates(A.article_id)
    arts = arts[in_ids(arts[A.article_id], info[C.article_id])]  # links are shown for representative claims only
    urls = {a: u for a, u in zip(arts[A.article_id].tolist(), map(safe_url, arts[A.url].tolist())) if u}
    drift_ids = set(t["narrative_drift"][D.representative_claim_id].dropna().tolist())
    at = np.sort(_positions(row_of, drift_ids))
    texts = dict(zip(claims[C.claim_id].to_numpy()[at].tolist(), claims[C.text].to_numpy()[at].tolist()))
    dated = claims[C.published_at].dropna()
    weeks = sorted(pd.DatetimeIndex(_week(dated).unique())) if len(dated) else []
    timelines = _timelines(claims, {w: i for i, w in enumerate(weeks)})
    growth = _growth(claims)
    outs, spread = _outlet_rows(t["narrative_outlets"]), _records(t["narrative_spread"], SP.narrative_id)
    all_drift = t["narrative_drift"]
    weekly = all_drift[all_drift[D.grain] == "week"]  # the periods the report shows (the score is over all grains)
    weekly = weekly.sort_values([D.narrative_id, D.period_start], kind="stable").groupby(D.narrative_id).tail(DRIFT_PERIODS)
    top_drift = pd.to_numeric(all_drift[D.drift_score], errors="coerce").groupby(all_drift[D.narrative_id]).max()
    top_drift = dict(zip(top_drift.index.tolist(), top_drift.tolist()))
    bursts, drift = _records(t["narrative_bursts"], B.narrative_id), _drift(weekly, texts)
    lin, rel = _records(t["narrative_lineage"], L.narrative_id), _records(t["narrative_lineage"], L.related_narrative_id)
    themes = {int(k): str(v) for k, v in zip(*_lists(t["themes"], TH.theme_id, TH.label)) if not _na(k)}
    items = []
    for r in _rows(narrs):
        nid = int(r[N.narrative_id])
        dr = drift.get(nid, [])
        top = top_drift.get(nid)
        sp = spread.get(nid)
        items.append({
            "id": nid, "theme": None if _na(r[N.theme_id]) else int(r[N.theme_id]), "label": _s(r[N.label]),
            "keywords": _list(r[N.keywords], 8), "size": int(r["_size"]),
            "n_outlets": 0 if _na(r[N.n_outlets]) else int(r[N.n_outlets]),
            "first": _date(r[N.first_seen]), "last": _date(r[N.last_seen]),
            "growth": list(growth.get(nid, (0, 0))), "drift": _num(top),
            "reps": _reps(r, claim_info, urls), "timeline": timelines.get(nid, {"series": []}),
            "spread": _spread(sp[0] if sp else None, outs.get(nid, [])),
            "bursts": [{"grain": _s(b[B.grain]), "start": _date(b[B.period_start]), "end": _date(b[B.period_end]),
                        "peak": int(b[B.peak_claims]), "baseline": _num(b[B.baseline], 2), "score": _num(b[B.score], 2)}
                       for b in sorted(bursts.get(nid, []), key=lambda b: (b[B.period_start], str(b[B.grain])))],
            "periods": dr,
            "lineage": [{"run": _s(e[L.run_id]), "event": _s(e[L.event]), "narrative": int(e[L.narrative_id]),
                         "related": None if _na(e[L.related_narrative_id]) else int(e[L.related_narrative_id]),
                         "overlap": _num(e[L.overlap], 2)} for e in lin.get(nid, []) + rel.get(nid, [])],
        })
    theme_rows = t["themes"].sort_values([TH.size, TH.theme_id], ascending=[False, True], na_position="last")
    members: dict[float, list[int]] = {}  # each theme's narratives, largest first (the order of narrs)
    for n, th in zip(narrs[N.narrative_id].tolist(), narrs[N.theme_id].tolist()):
        members.setdefault(th, []).append(int(n))
    return {
        "title": title, "summary": summary(t), "weeks": [w.strftime("%Y-%m-%d") for w in weeks],
        "narratives": items, "theme_labels": {str(k): v for k, v in themes.items()},
        "themes": [{"id": int(th[TH.theme_id]), "label": _s(th[TH.label]), "keywords": _list(th[TH.keywords], 8),
                    "size": int(th[TH.size] or 0), "narratives": members.get(th[TH.theme_id], [])}
                   for th in _rows(theme_rows) if not _na(th[TH.theme_id])],
        "heatmap": heatmap(claims, narrs), "map": claim_map(claims, narrs),
    }
