"""A self-contained, offline HTML report: one file, nothing loaded from anywhere.

The page holds the report's data as JSON (``narratives/report_data.py``) in a non-executed
``<script type="application/json">`` block, and one inline script (``narratives/report_app.js``) that lays it
out with ``textContent``/``setAttribute`` only, so scraped text can never become markup. A
Content-Security-Policy allows exactly that script (by hash), inline styles, and nothing else: no network
requests, no images, no other scripts. The summary is also written as static HTML for readers without scripts.

Contents: run summary; a ranked, searchable, sortable narrative list (size, growth, drift, bursts) paged 25 at
a time with a card per narrative (label, keywords, representative claims with outlet, date, speaker and link,
timeline by outlet, spread, bursts, wording by week, lineage); a theme overview; an outlet x narrative heatmap;
a 2-D map of claims coloured by narrative.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import tempfile
from importlib import resources
from pathlib import Path

import orjson
import pandas as pd
import pyarrow as pa

from narratives import store
from narratives.report_data import COLUMNS, TABLES, report_data

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;
 color:#1f2937;background:#f8fafc;line-height:1.45;font-size:15px}
main{max-width:1200px;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{margin:.2rem 0 .6rem}h2{margin-top:2.2rem;border-bottom:2px solid #e2e8f0;padding-bottom:.2rem}
h3{margin:.2rem 0 .5rem}h4{margin:.9rem 0 .3rem}
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
.controls{display:flex;gap:.6rem;align-items:center;flex-wrap:wrap}
#search{padding:.35rem .5rem;width:22rem;max-width:100%;border:1px solid #cbd5e1;border-radius:4px}
svg.chart{background:#fff;border:1px solid #e2e8f0;max-width:100%;height:auto}
.legend span{margin-right:.8rem;font-size:.85em}.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.25em}
.hover{min-height:1.4em;font-size:.9em}
"""


def _app_js() -> str:
    return resources.files("narratives").joinpath("report_app.js").read_text(encoding="utf-8")


def _json_for_html(data: dict) -> str:
    """JSON safe inside <script type="application/json">: '<', '>' and '&' as \\u escapes, so no text in the data
    can close the element or start a comment.

    Encoded with orjson (0.04 s for a 30k-claim report's 6 MB, against 0.21 s with the json module): the same
    text as ``json.dumps(ensure_ascii=False, separators=(",", ":"))`` except that floats below 1e-4 are written
    without an exponent (0.00001 for 1e-05: the same number) and NaN/infinity, which report_data never emits,
    would be null. Data orjson refuses (a type it does not know, a string with lone surrogates) goes through
    the json module as before, so its error, if any, is the json module's."""
    try:
        s = orjson.dumps(data).decode("utf-8")
    except TypeError:  # (orjson.JSONEncodeError is a TypeError)
        s = None
    if s is None:
        s = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _summary_html(s: dict) -> str:
    e = lambda v: html.escape("—" if v is None else str(v), quote=True)  # noqa: E731
    items = [("Articles", s["articles"]), ("Claims", s["claims"]), ("Outlets", s["outlets"]),
             ("Date range", f"{s['first_date'] or '—'} – {s['last_date'] or '—'}"), ("Narratives", s["narratives"]),
             ("Themes", s["themes"]), ("Unassigned claims", s["unassigned"]), ("Undated claims", s["undated"]),
             ("Quarantined records", s["quarantined"])]
    return '<dl class="summary">' + "".join(f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in items) + "</dl>"


def render_report(tables: dict[str, pd.DataFrame], title: str = "Narratives report") -> str:
    """The whole report as one self-contained HTML page."""
    data = report_data(tables, title)
    js = _app_js()
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode()
    csp = (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src 'none'; "
           "connect-src 'none'; base-uri 'none'; form-action 'none'")
    t = html.escape(title, quote=True)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="referrer" content="no-referrer"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{t}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{t}</h1><nav><a href=\"#summary\">Summary</a><a href=\"#narratives\">Narratives</a>"
        '<a href="#themes">Themes</a><a href="#heatmap">Outlets × narratives</a><a href="#map">Map</a></nav>'
        f'<h2 id="summary">Summary</h2><div id="summary-box">{_summary_html(data["summary"])}</div>'
        '<noscript><p class="empty">The narrative list, cards and charts need JavaScript; the same figures are in '
        "the Parquet tables and the DuckDB database.</p></noscript>"
        '<h2 id="narratives">Narratives</h2><div class="controls">'
        '<input id="search" type="search" placeholder="Filter by label, keyword, theme, outlet or #id" aria-label="Filter narratives">'
        '<label>Sort by <select id="sort"><option value="size">size</option><option value="growth">growth (7 days)</option>'
        '<option value="drift">wording drift</option><option value="bursts">bursts</option><option value="recent">newest</option>'
        '</select></label><button id="prev" type="button">‹ Previous</button><button id="next" type="button">Next ›</button>'
        '<span id="search-count" class="muted"></span></div>'
        '<table id="ranked"><thead><tr><th class="num">Rank</th><th>Id</th><th>Narrative</th><th>Theme</th>'
        '<th class="num">Claims</th><th class="num">Outlets</th><th>Growth</th><th class="num">Drift</th>'
        '<th class="num">Bursts</th><th>First seen</th></tr></thead><tbody id="ranked-body"></tbody></table>'
        '<h3>Narrative cards (this page)</h3><div id="cards-box"></div>'
        '<h2 id="themes">Themes</h2><div id="themes-box"></div>'
        '<h2 id="heatmap">Outlets × top narratives (claims)</h2><div id="heatmap-box"></div>'
        '<h2 id="map">Map of claims</h2><div id="map-box"></div>'
        f'</main><script type="application/json" id="report-data">{_json_for_html(data)}</script>'
        f"<script>{js}</script></body></html>\n"
    )


def write_report(tables: dict[str, pd.DataFrame], out_path, title: str = "Narratives report") -> Path:
    """Render and write atomically (temp file in the same folder, then os.replace). Creates the parent folder."""
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render_report(tables, title=title)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a report is for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_report_from_db(db_path, out_path, title: str = "Narratives report",
                         written: dict[str, pa.Table] | None = None) -> Path:
    """The report of the database at ``db_path`` (as :func:`write_report`), reading only the tables and columns
    :func:`narratives.report_data.report_data` uses. ``written``: tables just written to it, as written
    (``store.commit_results`` returns the tables a run replaced): taken from memory instead of read back (the
    claims, narratives and dynamics of a run; 0.2-0.3 s of a 30k-claim incremental run)."""
    known = {t.name: t for t in TABLES if t.name in (written or {})}
    tables = store.read_tables(db_path, [t.name for t in TABLES if t.name not in known], columns=COLUMNS)
    for name, table in known.items():
        wanted = set(COLUMNS.get(name, table.columns))  # the columns a read gives, in the table's order
        tables[name] = written[name].select([c for c in table.columns if c in wanted]).to_pandas()
    return write_report(tables, out_path, title)
