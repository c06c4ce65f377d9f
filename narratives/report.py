"""A self-contained, offline HTML report of narratives, themes, timelines and outlets.

The page loads nothing from anywhere: inline CSS, inline SVG charts drawn here, and one small inline script
(search) that a Content-Security-Policy pins by hash. Every string that comes from the tables is scraped,
hostile text and goes through :func:`_esc` (``html.escape(..., quote=True)``) before it reaches the page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from narratives.report_dynamics import dynamics_html
from narratives.schemas import (
    ARTICLES, CLAIMS, NARRATIVE_BURSTS, NARRATIVE_DRIFT, NARRATIVE_SPREAD, NARRATIVE_TIMESERIES, NARRATIVES,
    QUARANTINE, RUNS, THEMES, TableDef, empty_frame,
)

A, C, N, TH, TS, R = ARTICLES.c, CLAIMS.c, NARRATIVES.c, THEMES.c, NARRATIVE_TIMESERIES.c, RUNS.c
TOP_KEYWORDS = 6
MATRIX_NARRATIVES = 15
MATRIX_OUTLETS = 50
GROWTH_DAYS = 7
_NONE = '<p class="empty">None.</p>'
_NO_NARRS = '<li class="empty">No narratives.</li>'

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;
 color:#1f2937;background:#f8fafc;line-height:1.45;font-size:15px}
main{max-width:1200px;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{margin:.2rem 0 .6rem}h2{margin-top:2.2rem;border-bottom:2px solid #e2e8f0;padding-bottom:.2rem}
h3{margin:.2rem 0 .5rem}
nav a{margin-right:1rem}a{color:#1d4ed8;text-decoration:none}a:hover{text-decoration:underline}
table{border-collapse:collapse;background:#fff;margin:.4rem 0 1rem}
th,td{border:1px solid #e2e8f0;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f5f9;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
dl.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:.3rem 1rem;
 background:#fff;border:1px solid #e2e8f0;padding:.8rem;border-radius:6px}
dl.summary div{display:flex;justify-content:space-between;gap:.5rem}dt{color:#64748b}dd{margin:0;font-weight:600;
 overflow-wrap:anywhere;text-align:right}
section.narrative,section.theme{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:.8rem 1rem;
 margin:1rem 0}
.muted{color:#64748b}.kw{display:inline-block;background:#eef2ff;border-radius:3px;padding:0 .35rem;margin:.1rem;
 font-size:.9em}
.claim{margin:.4rem 0;padding-left:.6rem;border-left:3px solid #cbd5e1;overflow-wrap:anywhere}
.up{color:#b91c1c}.down{color:#15803d}.empty{font-style:italic;color:#64748b}
#search{padding:.35rem .5rem;width:22rem;max-width:100%;border:1px solid #cbd5e1;border-radius:4px}
svg.timeline{background:#fafafa;border:1px solid #e2e8f0;max-width:100%}svg.timeline rect{fill:#3b82f6}
.matrix td.num{min-width:2.2rem}
"""

_JS = (
    "(function(){var q=document.getElementById('search');if(!q)return;"
    "var rows=document.querySelectorAll('#ranked tbody tr');var c=document.getElementById('search-count');"
    "q.addEventListener('input',function(){var t=q.value.toLowerCase().trim();var n=0;"
    "rows.forEach(function(r){var ok=!t||(r.getAttribute('data-search')||'').indexOf(t)>=0;"
    "r.style.display=ok?'':'none';if(ok)n++;});if(c)c.textContent=n+' of '+rows.length+' shown';});})();"
)
_JS_HASH = base64.b64encode(hashlib.sha256(_JS.encode()).digest()).decode()
_CSP = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_JS_HASH}'; "
        "img-src 'none'; base-uri 'none'; form-action 'none'")


# ----------------------------------------------------------------------------------------------- helpers
def _isna(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(pd.isna(v)) if np.ndim(v) == 0 else False
    except (TypeError, ValueError):
        return False


def _esc(v) -> str:
    """HTML-escape any value (quotes too, so it is safe in attributes); NULL becomes ''."""
    return "" if _isna(v) else html.escape(str(v), quote=True)


def _as_list(v) -> list[str]:
    if isinstance(v, (list, tuple, np.ndarray, pd.Series)):
        return [str(x) for x in v if not _isna(x)]
    return [] if _isna(v) else [str(v)]


def _opt_int(v) -> int | None:
    return None if _isna(v) else int(v)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _date(v) -> str:
    return "—" if _isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d")


def _frame(tables: dict, table: TableDef) -> pd.DataFrame:
    """The table's frame (empty when missing) with every declared column, ids as float and times as naive UTC."""
    df = tables.get(table.name)
    df = empty_frame(table) if df is None else df.copy()
    for col in table.columns:
        if col not in df.columns:
            df[col] = None
    for col in (f.name for f in table.schema):
        typ = str(table.schema.field(col).type)
        if typ.startswith("timestamp"):
            ts = pd.to_datetime(df[col], errors="coerce", utc=True)
            df[col] = ts.dt.tz_localize(None)
        elif col in (C.narrative_id, C.theme_id):
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    return df.reset_index(drop=True)


def _safe_url(v) -> str | None:
    """An escaped http(s) URL, or None for anything else (javascript:, data:, relative, garbage)."""
    if _isna(v):
        return None
    s = str(v).strip()
    try:
        parts = urlsplit(s)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(ch.isspace() for ch in s):
        return None
    return _esc(s)


def _week_start(ts: pd.Series) -> pd.Series:
    day = ts.dt.normalize()
    return day - pd.to_timedelta(day.dt.day_of_week, unit="D")


def _table_html(headers: list[str], rows: list[str], cls: str = "", tid: str = "") -> str:
    head = "".join(headers)
    attrs = (f' id="{tid}"' if tid else "") + (f' class="{cls}"' if cls else "")
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


# ----------------------------------------------------------------------------------------------- figures
def _growth(claims: pd.DataFrame) -> dict[int, tuple[int, int]]:
    """Per narrative: (claims in the last GROWTH_DAYS days of the data, claims in the GROWTH_DAYS before)."""
    dated = claims[claims[C.published_at].notna() & claims[C.narrative_id].notna()]
    if dated.empty:
        return {}
    end = claims[C.published_at].max().normalize() + pd.Timedelta(days=1)
    mid, start = end - pd.Timedelta(days=GROWTH_DAYS), end - pd.Timedelta(days=2 * GROWTH_DAYS)
    ts = dated[C.published_at]
    last = dated[(ts >= mid) & (ts < end)].groupby(C.narrative_id).size()
    prev = dated[(ts >= start) & (ts < mid)].groupby(C.narrative_id).size()
    ids = set(last.index) | set(prev.index)
    return {int(i): (int(last.get(i, 0)), int(prev.get(i, 0))) for i in ids}


def _growth_html(g: tuple[int, int] | None) -> str:
    last, prev = g or (0, 0)
    if prev == 0:
        txt, cls = ("new" if last else "—"), ("up" if last else "muted")
    else:
        pct = (last - prev) / prev * 100
        txt, cls = f"{pct:+.0f}%", ("up" if pct > 0 else "down" if pct < 0 else "muted")
    return f'<span class="{cls}" title="{last} vs {prev} claims">{txt}</span> <span class="muted">({last} vs {prev})</span>'


def _weekly_counts(nid: int, claims: pd.DataFrame, ts_df: pd.DataFrame) -> pd.Series:
    """Claims per week (Monday) from narrative_timeseries (grain week, all outlets), else counted from claims."""
    rows = ts_df[(ts_df[TS.narrative_id] == nid) & (ts_df[TS.grain] == "week") & ts_df[TS.outlet].isna()
                 & ts_df[TS.period_start].notna()]
    if not rows.empty:
        s = rows.groupby(_week_start(rows[TS.period_start]))[TS.n_claims].sum()
    else:
        mine = claims[(claims[C.narrative_id] == nid) & claims[C.published_at].notna()]
        s = mine.groupby(_week_start(mine[C.published_at])).size()
    s = pd.to_numeric(s, errors="coerce").fillna(0).astype(int)
    return s[s > 0].sort_index()


def _timeline_svg(weekly: pd.Series, label: str) -> str:
    """Inline SVG bar chart: one <rect> per week with data, on a continuous weekly axis."""
    if weekly.empty:
        return '<p class="empty">No dated claims.</p>'
    first, last = weekly.index.min(), weekly.index.max()
    n_weeks = int((last - first).days // 7) + 1
    w, h, pad, top = 720, 140, 30, 12
    step = (w - 2 * pad) / n_weeks
    bar = min(max(step * 0.8, 1.0), 40.0)
    peak = int(weekly.max())
    parts = [f'<svg class="timeline" viewBox="0 0 {w} {h}" width="{w}" '
             f'height="{h}" role="img" aria-label="Weekly claims: {_esc(label)}"><title>Weekly claims: {_esc(label)}</title>',
             f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#94a3b8"/>',
             f'<text x="{pad - 4}" y="{top + 4}" font-size="10" text-anchor="end" fill="#64748b">{peak}</text>']
    for week, n in weekly.items():
        i = int((week - first).days // 7)
        bh = max((h - pad - top) * n / peak, 1.0)
        x, y = pad + i * step + (step - bar) / 2, h - pad - bh
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{bh:.1f}">'
                     f'<title>Week of {_date(week)}: {_plural(int(n), "claim")}</title></rect>')
    parts.append(f'<text x="{pad}" y="{h - pad + 16}" font-size="10" fill="#64748b">{_date(first)}</text>')
    parts.append(f'<text x="{w - pad}" y="{h - pad + 16}" font-size="10" text-anchor="end" fill="#64748b">'
                 f'{_date(last)}</text></svg>')
    return "".join(parts)


# ----------------------------------------------------------------------------------------------- sections
def _summary_html(t: dict[str, pd.DataFrame]) -> str:
    arts, claims, runs = t["articles"], t["claims"], t["runs"]
    run = runs.sort_values(R.started_at, na_position="first").iloc[-1] if not runs.empty else None
    outlets = set(arts[A.outlet].dropna().astype(str)) | set(claims[C.outlet].dropna().astype(str))
    dated = claims[C.published_at].dropna()
    n_claims = len(claims)
    n_unassigned = int(claims[C.narrative_id].isna().sum())
    share = f" ({n_unassigned / n_claims:.1%})" if n_claims else ""
    rng = f"{_date(dated.min())} – {_date(dated.max())}" if len(dated) else "—"
    items = [
        ("Articles", len(arts)), ("Claims", n_claims), ("Outlets", len(outlets)), ("Date range", rng),
        ("Narratives", len(t["narratives"])), ("Themes", len(t["themes"])),
        ("Unassigned claims", f"{n_unassigned}{share}"), ("Undated claims", n_claims - len(dated)),
        ("Quarantined records", len(t["quarantine"])),
        ("Run status", run[R.status] if run is not None else "no runs recorded"),
        ("Run id", run[R.run_id] if run is not None else "—"),
        ("Config hash", run[R.config_hash] if run is not None else "—"),
        ("Run started", _date(run[R.started_at]) if run is not None else "—"),
    ]
    body = "".join(f"<div><dt>{_esc(k)}</dt><dd>{_esc(v)}</dd></div>" for k, v in items)
    err = ""
    if run is not None and not _isna(run[R.error]):
        err = f'<p class="up">Run error: {_esc(run[R.error])}</p>'
    return f'<dl class="summary">{body}</dl>{err}'


def _theme_name(tid, theme_labels: dict[int, str]) -> str:
    tid = _opt_int(tid)
    if tid is None:
        return '<span class="muted">none</span>'
    return f'<a href="#t-{tid}">{tid}</a>: {_esc(theme_labels.get(tid, ""))}'


def _ranked_html(narrs: pd.DataFrame, theme_labels: dict[int, str], growth: dict) -> str:
    heads = ["<th>#</th>", "<th>Label</th>", "<th>Theme</th>", '<th class="num">Size</th>',
             '<th class="num">Outlets</th>', "<th>First seen</th>", "<th>Last seen</th>", "<th>Top keywords</th>",
             f'<th title="Claims in the last {GROWTH_DAYS} days of the data vs the {GROWTH_DAYS} days before">'
             f"Growth ({GROWTH_DAYS}d)</th>"]
    rows = []
    for _, r in narrs.iterrows():
        nid, kws = int(r[N.narrative_id]), _as_list(r[N.keywords])[:TOP_KEYWORDS]
        tid = _opt_int(r[N.theme_id])
        search = " ".join([str(nid), _esc(r[N.label]), *map(_esc, kws), _esc(theme_labels.get(tid, ""))]).lower()
        rows.append(
            f'<tr data-search="{search}"><td><a href="#n-{nid}">{nid}</a></td><td>{_esc(r[N.label])}</td>'
            f"<td>{_theme_name(tid, theme_labels)}</td><td class=\"num\">{_esc(_opt_int(r[N.size]))}</td>"
            f'<td class="num">{_esc(_opt_int(r[N.n_outlets]))}</td><td>{_date(r[N.first_seen])}</td>'
            f"<td>{_date(r[N.last_seen])}</td><td>{', '.join(map(_esc, kws))}</td>"
            f"<td>{_growth_html(growth.get(nid))}</td></tr>")
    search_box = ('<p><input id="search" type="search" placeholder="Filter by label, keyword, theme…" '
                  f'aria-label="Filter narratives"> <span id="search-count" class="muted">{len(rows)} shown</span></p>')
    return search_box + _table_html(heads, rows, tid="ranked")


def _card_html(r: pd.Series, claims: pd.DataFrame, by_id: pd.DataFrame, urls: dict, ts_df: pd.DataFrame,
               theme_labels: dict[int, str], dyn: str = "") -> str:
    nid, label = int(r[N.narrative_id]), r[N.label]
    kws = "".join(f'<span class="kw">{_esc(k)}</span>' for k in _as_list(r[N.keywords]))
    texts = _as_list(r[N.representative_claims])
    reps = []
    for i, cid in enumerate(_as_list(r[N.representative_claim_ids])):
        if cid in by_id.index:
            c = by_id.loc[cid]
            c = c.iloc[0] if isinstance(c, pd.DataFrame) else c
            url = urls.get(c[C.article_id])
            link = f' · <a href="{url}" rel="noopener noreferrer nofollow" target="_blank">source</a>' if url else ""
            speaker = f" · speaker: {_esc(c[C.speaker])}" if not _isna(c[C.speaker]) else ""
            meta = f"{_esc(c[C.outlet]) or 'unknown outlet'} · {_date(c[C.published_at])}{speaker}{link}"
            reps.append(f'<div class="claim">{_esc(c[C.text])}<br><span class="muted">{meta}</span></div>')
        elif i < len(texts):
            reps.append(f'<div class="claim">{_esc(texts[i])}<br><span class="muted">claim not found</span></div>')
    if not reps and texts:
        reps = [f'<div class="claim">{_esc(t)}</div>' for t in texts]
    mine = claims[claims[C.narrative_id] == nid]
    counts = mine[C.outlet].fillna("(unknown outlet)").value_counts()
    dated = mine[mine[C.published_at].notna()].sort_values(C.published_at, kind="stable")
    first = (f'<p>First carried by <b>{_esc(dated.iloc[0][C.outlet]) or "unknown outlet"}</b> on '
             f"{_date(dated.iloc[0][C.published_at])}.</p>") if not dated.empty else ""
    out_rows = [f'<tr><td>{_esc(o)}</td><td class="num">{int(n)}</td></tr>' for o, n in counts.items()]
    outlets = (_table_html(["<th>Outlet</th>", '<th class="num">Claims</th>'], out_rows) if out_rows
               else '<p class="empty">No claims found for this narrative.</p>')
    return (f'<section class="narrative" id="n-{nid}"><h3>#{nid} {_esc(label)}</h3>'
            f'<p>Theme: {_theme_name(r[N.theme_id], theme_labels)} · size {_esc(_opt_int(r[N.size]))} · '
            f"{_date(r[N.first_seen])} – {_date(r[N.last_seen])}</p><p>{kws}</p>"
            f"<h4>Representative claims</h4>{''.join(reps) or _NONE}"
            f"<h4>Weekly timeline</h4>{_timeline_svg(_weekly_counts(nid, claims, ts_df), str(label))}"
            f"<h4>Outlets</h4>{first}{outlets}{dyn}</section>")


def _themes_html(themes: pd.DataFrame, narrs: pd.DataFrame) -> str:
    out = []
    themes = themes.sort_values([TH.size, TH.theme_id], ascending=[False, True], na_position="last")
    groups = [(_opt_int(t[TH.theme_id]), t[TH.label], _as_list(t[TH.keywords])) for _, t in themes.iterrows()]
    known = {g[0] for g in groups}
    if narrs[N.theme_id].isna().any() or not set(narrs[N.theme_id].dropna().astype(int)) <= known:
        groups.append((None, "Narratives without a (known) theme", []))
    for tid, label, kws in groups:
        if tid is None:
            mine = narrs[narrs[N.theme_id].isna() | ~narrs[N.theme_id].isin(list(known))]
        else:
            mine = narrs[narrs[N.theme_id] == tid]
        items = "".join(f'<li><a href="#n-{int(n[N.narrative_id])}">#{int(n[N.narrative_id])}</a> '
                        f'{_esc(n[N.label])} <span class="muted">({_esc(_opt_int(n[N.size]))} claims)</span></li>'
                        for _, n in mine.iterrows())
        anchor = f' id="t-{tid}"' if tid is not None else ""
        head = f"Theme {tid}: {_esc(label)}" if tid is not None else _esc(label)
        kw = "".join(f'<span class="kw">{_esc(k)}</span>' for k in kws)
        out.append(f'<section class="theme"{anchor}><h3>{head}</h3><p>{kw}</p>'
                   f"<ul>{items or _NO_NARRS}</ul></section>")
    return "".join(out) or '<p class="empty">No themes.</p>'


def _matrix_html(narrs: pd.DataFrame, claims: pd.DataFrame) -> str:
    top = narrs.head(MATRIX_NARRATIVES)
    ids = [int(i) for i in top[N.narrative_id]]
    sub = claims[claims[C.narrative_id].isin(ids)]
    if sub.empty:
        return '<p class="empty">No outlet data for the top narratives.</p>'
    sub = sub.assign(**{C.outlet: sub[C.outlet].fillna("(unknown outlet)")})
    counts = sub.groupby([C.outlet, C.narrative_id]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=[float(i) for i in ids], fill_value=0)
    counts = counts.loc[counts.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    hidden = max(len(counts) - MATRIX_OUTLETS, 0)
    counts = counts.head(MATRIX_OUTLETS)
    peak = max(int(counts.to_numpy().max()), 1)
    labels = dict(zip(ids, top[N.label]))
    heads = ["<th>Outlet</th>"] + [f'<th class="num" title="{_esc(labels[i])}"><a href="#n-{i}">#{i}</a></th>'
                                   for i in ids]
    rows = []
    for outlet, row in counts.iterrows():
        cells = "".join(
            f'<td class="num" style="background:rgba(37,99,235,{0.08 + 0.6 * int(v) / peak:.2f})">{int(v)}</td>'
            if v else '<td class="num muted">·</td>' for v in row)
        rows.append(f"<tr><td>{_esc(outlet)}</td>{cells}</tr>")
    note = f'<p class="muted">{hidden} smaller outlets not shown.</p>' if hidden else ""
    return _table_html(heads, rows, cls="matrix") + note


def _by_narrative(df: pd.DataFrame, col: str) -> dict[int, pd.DataFrame]:
    if df.empty or col not in df.columns:
        return {}
    return {int(k): g for k, g in df.groupby(col, sort=False)}


# ----------------------------------------------------------------------------------------------- API
def render_report(tables: dict[str, pd.DataFrame], title: str = "Narratives report") -> str:
    """Render the whole report as one self-contained HTML page (no external resources)."""
    t = {d.name: _frame(tables or {}, d) for d in (ARTICLES, CLAIMS, NARRATIVES, THEMES, NARRATIVE_TIMESERIES,
                                                     RUNS, QUARANTINE)}
    claims, themes = t["claims"], t["themes"]
    narrs = t["narratives"].dropna(subset=[N.narrative_id])
    narrs = narrs.assign(_size=pd.to_numeric(narrs[N.size], errors="coerce").fillna(0))
    narrs = narrs.sort_values(["_size", N.narrative_id], ascending=[False, True], kind="stable")
    theme_labels = {int(k): str(v) for k, v in zip(themes[TH.theme_id], themes[TH.label]) if not _isna(k)}
    arts = t["articles"].drop_duplicates(A.article_id)
    urls = {a: u for a, u in zip(arts[A.article_id], map(_safe_url, arts[A.url])) if u}
    by_id = claims.set_index(C.claim_id, drop=False)
    if narrs.empty:
        ranked = cards = '<p class="empty">There are no narratives in this data.</p>'
        matrix = '<p class="empty">No narratives.</p>'
    else:
        ranked = _ranked_html(narrs, theme_labels, _growth(claims))
        dyn = {d.name: (tables or {}).get(d.name, empty_frame(d)) for d in (NARRATIVE_SPREAD, NARRATIVE_BURSTS, NARRATIVE_DRIFT)}
        texts = dict(zip(claims[C.claim_id], claims[C.text]))
        # split every per-narrative table once (filtering each table per card is quadratic)
        parts = [_by_narrative(claims, C.narrative_id), _by_narrative(t["narrative_timeseries"], TS.narrative_id),
                 *(_by_narrative(df, N.narrative_id) for df in dyn.values())]
        empties = [claims.iloc[:0], t["narrative_timeseries"].iloc[:0], *(df.iloc[:0] for df in dyn.values())]
        cards = []
        for _, r in narrs.iterrows():
            nid = int(r[N.narrative_id])
            mine = [p.get(nid, e) for p, e in zip(parts, empties)]
            cards.append(_card_html(r, mine[0], by_id, urls, mine[1], theme_labels,
                                    dynamics_html(nid, *mine[2:], texts)))
        cards = "".join(cards)
        matrix = _matrix_html(narrs, claims)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{_esc(title)}</h1><nav><a href=\"#summary\">Summary</a><a href=\"#narratives\">Narratives</a>"
        '<a href="#cards">Details</a><a href="#themes">Themes</a><a href="#outlets">Outlets</a></nav>'
        f'<h2 id="summary">Summary</h2>{_summary_html(t)}'
        f'<h2 id="narratives">Narratives by size</h2>{ranked}'
        f'<h2 id="cards">Narrative details</h2>{cards}'
        f'<h2 id="themes">Themes</h2>{_themes_html(themes, narrs)}'
        f'<h2 id="outlets">Outlets × top {MATRIX_NARRATIVES} narratives (claims)</h2>{matrix}'
        f"</main><script>{_JS}</script></body></html>\n"
    )


def write_report(tables: dict[str, pd.DataFrame], out_path, title: str = "Narratives report") -> Path:
    """Render and write atomically (write to a temp file in the same folder, then os.replace). Creates the parent folder."""
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render_report(tables, title=title)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
