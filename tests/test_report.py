"""Tests for narratives.report: content, escaping of hostile text, offline-ness, empty input, atomic writes."""

from __future__ import annotations

import base64
import hashlib
import os
import re

import numpy as np
import pandas as pd
import pytest

from narratives import report
from narratives.report import render_report, write_report
from narratives.schemas import (
    ARTICLES, CLAIMS, NARRATIVE_TIMESERIES, NARRATIVES, QUARANTINE, RUNS, THEMES, TableDef,
)

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


def frame(table: TableDef, rows: list[dict]) -> pd.DataFrame:
    """A DataFrame with exactly the table's declared columns (missing values NULL) and declared dtypes."""
    cols = table.schema.empty_table().to_pandas().columns
    df = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)
    for f in table.schema:
        if str(f.type).startswith("timestamp"):
            df[f.name] = pd.to_datetime(df[f.name])
    return df


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


def make_tables() -> dict[str, pd.DataFrame]:
    articles = frame(ARTICLES, [
        {"article_id": "a1", "url": "https://example.org/a1", "outlet": "Daily One", "published_at": ts("2024-03-04 10:00"),
         "title": "t", "text": "x", "clean_text": "x", "source": "f:1", "content_hash": "h", "run_id": "r2"},
        {"article_id": "a2", "url": "javascript:alert(1)", "outlet": "Evil <b>Times</b>",
         "published_at": ts("2024-03-12"), "title": "t", "text": "x", "clean_text": "x", "source": "f:2",
         "content_hash": "h", "run_id": "r2"},
        {"article_id": "a3", "url": None, "outlet": "Daily One", "published_at": None, "title": "t", "text": "x",
         "clean_text": "x", "source": "f:3", "content_hash": "h", "run_id": "r2"},
    ])

    def claim(cid, aid, text, outlet, when, nid, tid, speaker=None):
        return {"claim_id": cid, "article_id": aid, "sentence_index": 0, "text": text, "embed_text": text,
                "speaker": speaker, "is_quote": False, "outlet": outlet,
                "published_at": ts(when) if when else None, "narrative_id": nid, "theme_id": tid,
                "membership": 0.9 if nid is not None else None, "source": "f"}

    claims = frame(CLAIMS, [
        # narrative 1: weeks of 2024-02-26 (1 claim), 2024-03-04 (2), 2024-03-18 (1); none in week 2024-03-11
        claim("c1", "a1", "The moon landing was staged.", "Daily One", "2024-03-01", 1, 10, speaker="Dr. X"),
        claim("c2", "a1", "Moon landing staged in a studio.", "Daily One", "2024-03-04 10:00", 1, 10),
        claim("c3", "a2", f"Staged landing {SCRIPT} {IMG}", "Evil <b>Times</b>", "2024-03-05", 1, 10,
              speaker=f"Mr {IMG}"),
        claim("c4", "a2", "Landing was faked.", "Evil <b>Times</b>", "2024-03-20", 1, 10),
        # narrative 2: label carries a payload; one undated claim
        claim("c5", "a2", "Vaccines contain chips.", "Evil <b>Times</b>", "2024-03-19", 2, 20),
        claim("c6", "a3", "Chips in vaccines.", "Daily One", None, 2, 20),
        # unassigned, one of them undated
        claim("c7", "a1", "Unrelated sentence.", "Daily One", "2024-03-02", None, None),
        claim("c8", "a3", "Another unrelated one.", None, None, None, None),
    ])
    narratives = frame(NARRATIVES, [
        {"narrative_id": 2, "theme_id": 20, "label": f"Vaccine chips {SCRIPT}", "keywords": np.array(["chips", IMG]),
         "size": 2, "n_articles": 2, "n_outlets": 2, "first_seen": ts("2024-03-19"), "last_seen": ts("2024-03-19"),
         "representative_claim_ids": np.array(["c5", "missing-id"]),
         "representative_claims": np.array(["Vaccines contain chips.", f"orphan {SCRIPT}"])},
        {"narrative_id": 1, "theme_id": 10, "label": "Moon landing was staged", "keywords": ["moon", "landing", "staged"],
         "size": 4, "n_articles": 2, "n_outlets": 2, "first_seen": ts("2024-03-01"), "last_seen": ts("2024-03-20"),
         "representative_claim_ids": ["c1", "c3"],
         "representative_claims": ["The moon landing was staged.", "Staged landing"]},
    ])
    themes = frame(THEMES, [
        {"theme_id": 10, "label": "Space hoaxes", "keywords": ["moon", "nasa"], "n_narratives": 1, "size": 4},
        {"theme_id": 20, "label": f"Health {IMG}", "keywords": np.array(["vaccine"]), "n_narratives": 1, "size": 2},
    ])
    runs = frame(RUNS, [
        {"run_id": "r1-old", "started_at": ts("2024-03-01"), "status": "failed", "config_hash": "oldhash",
         "schema_version": 1, "error": "boom"},
        {"run_id": "r2-new", "started_at": ts("2024-03-21"), "finished_at": ts("2024-03-21 00:05"),
         "status": "succeeded", "config_hash": "cfg123", "schema_version": 1},
    ])
    quarantine = frame(QUARANTINE, [
        {"run_id": "r2-new", "source": "f", "record_ref": "7", "reason": "missing text", "raw": SCRIPT},
        {"run_id": "r2-new", "source": "f", "record_ref": "9", "reason": "bad date", "raw": None},
    ])
    return {"articles": articles, "claims": claims, "narratives": narratives, "themes": themes,
            "narrative_timeseries": frame(NARRATIVE_TIMESERIES, []), "runs": runs, "quarantine": quarantine}


def card(page: str, nid: int) -> str:
    m = re.search(rf'<section class="narrative" id="n-{nid}">(.*?)</section>', page, re.S)
    assert m, f"no card for narrative {nid}"
    return m.group(1)


def summary(page: str) -> dict[str, str]:
    return dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page))


def test_labels_claims_and_sections_appear():
    page = render_report(make_tables(), title="My report")
    assert page.startswith("<!DOCTYPE html>") and "<title>My report</title>" in page
    assert "Moon landing was staged" in page and "Vaccine chips &lt;script&gt;" in page
    c1 = card(page, 1)
    assert "The moon landing was staged." in c1 and "Dr. X" in c1 and "2024-03-01" in c1
    assert "Space hoaxes" in c1 and "moon" in c1
    # representative claim missing from claims falls back to the stored text, escaped
    c2 = card(page, 2)
    assert "orphan &lt;script&gt;alert(1)&lt;/script&gt;" in c2 and "Vaccines contain chips." in c2
    # ranked list sorted by size: narrative 1 (4 claims) before narrative 2 (2 claims)
    ranked = page[page.index('id="ranked"'):]
    assert ranked.index('href="#n-1"') < ranked.index('href="#n-2"')
    assert '<input id="search"' in page
    # theme overview lists each theme's narratives
    theme10 = re.search(r'<section class="theme" id="t-10">(.*?)</section>', page, re.S).group(1)
    assert "Space hoaxes" in theme10 and 'href="#n-1"' in theme10 and "nasa" in theme10
    # outlets and first carrier (earliest dated claim)
    assert "First carried by <b>Daily One</b> on 2024-03-01" in c1
    assert re.search(r"<td>Daily One</td><td class=\"num\">2</td>", c1)
    assert re.search(r"<td>Evil &lt;b&gt;Times&lt;/b&gt;</td><td class=\"num\">2</td>", c1)


def test_summary_figures_use_latest_run_and_tables():
    s = summary(render_report(make_tables()))
    assert s["Articles"] == "3" and s["Claims"] == "8" and s["Outlets"] == "2"
    assert s["Narratives"] == "2" and s["Themes"] == "2"
    assert s["Unassigned claims"] == "2 (25.0%)" and s["Undated claims"] == "2"
    assert s["Quarantined records"] == "2"
    assert s["Run id"] == "r2-new" and s["Config hash"] == "cfg123" and s["Run status"] == "succeeded"
    assert s["Date range"] == "2024-03-01 – 2024-03-20"


def test_hostile_text_is_escaped_everywhere():
    page = render_report(make_tables(), title=f"Report {SCRIPT}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>alert" not in page and "<img src=x" not in page and "<img" not in page
    assert "<b>Times</b>" not in page
    assert "javascript:" not in page
    # exactly one script element: ours
    assert page.count("<script") == 1
    # attribute values (search data, SVG titles) are escaped too: no raw '<' inside any tag
    for tag in re.findall(r"<[^<>]*>", page):
        assert "<" not in tag[1:]


def test_no_external_resources():
    page = render_report(make_tables())
    for tag, attr, value in re.findall(r"<(\w+)[^>]*?\s(src|href)=\"([^\"]*)\"", page):
        if attr == "src":
            pytest.fail(f"unexpected src attribute {value!r}")
        assert tag == "a", f"href on <{tag}>"
        assert value.startswith("#") or re.match(r"https?://", value), value
    external = [v for v in re.findall(r'href="(https?://[^"]*)"', page)]
    assert external == ["https://example.org/a1"]  # the only safe article URL, and only as a link
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert not re.search(r"src=[\"']?https?:", page)


def test_csp_pins_the_inline_script():
    page = render_report(make_tables())
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page and "default-src 'none'" in page


def test_timeline_one_bar_per_week_with_data_fallback_to_claims():
    page = render_report(make_tables())
    svg = re.search(r"<svg.*?</svg>", card(page, 1), re.S).group(0)
    assert svg.count("<rect") == 3  # weeks of 02-26, 03-04 and 03-18; 03-11 is empty
    assert "Week of 2024-03-04: 2 claims" in svg and "Week of 2024-02-26: 1 claim" in svg
    assert svg.count("<rect") == len(re.findall(r"<title>Week of", svg))
    svg2 = re.search(r"<svg.*?</svg>", card(page, 2), re.S).group(0)
    assert svg2.count("<rect") == 1  # the undated claim does not count
    assert "<title>Weekly claims: Vaccine chips &lt;script&gt;" in svg2


def test_timeline_uses_weekly_timeseries_rows():
    t = make_tables()
    rows = [
        {"narrative_id": 1, "grain": "week", "period_start": ts(d), "outlet": None, "n_claims": n, "n_articles": 1,
         "n_outlets": 1, "share": 0.5}
        for d, n in [("2024-01-01", 5), ("2024-01-08", 3), ("2024-01-22", 7), ("2024-01-29", 1)]
    ]
    rows += [  # ignored: per-outlet and other grains
        {"narrative_id": 1, "grain": "week", "period_start": ts("2024-02-05"), "outlet": "Daily One", "n_claims": 9,
         "n_articles": 1, "n_outlets": 1, "share": 1.0},
        {"narrative_id": 1, "grain": "day", "period_start": ts("2024-02-06"), "outlet": None, "n_claims": 9,
         "n_articles": 1, "n_outlets": 1, "share": 1.0},
    ]
    t["narrative_timeseries"] = frame(NARRATIVE_TIMESERIES, rows)
    svg = re.search(r"<svg.*?</svg>", card(render_report(t), 1), re.S).group(0)
    assert svg.count("<rect") == 4
    assert "Week of 2024-01-22: 7 claims" in svg and "2024-02-05" not in svg and "2024-03-04" not in svg


def test_growth_last_7_days_vs_previous_7():
    # data ends 2024-03-20: last 7 days = 03-14..03-20, the 7 before = 03-07..03-13
    page = render_report(make_tables())
    r1 = re.search(r'<a href="#n-1">1</a>.*?</tr>', page, re.S).group(0)
    r2 = re.search(r'<a href="#n-2">2</a>.*?</tr>', page, re.S).group(0)
    assert "(1 vs 0)" in r1 and "new" in r1  # c4 on 03-20; nothing 03-07..03-13
    assert "(1 vs 0)" in r2
    t = make_tables()
    t["claims"].loc[t["claims"]["claim_id"] == "c3", "published_at"] = ts("2024-03-10")
    t["claims"].loc[t["claims"]["claim_id"] == "c2", "published_at"] = ts("2024-03-11")
    r1 = re.search(r'<a href="#n-1">1</a>.*?</tr>', render_report(t), re.S).group(0)
    assert "(1 vs 2)" in r1 and "-50%" in r1


def test_nullable_int_and_float_ids_render_the_same():
    t = make_tables()
    as_float = render_report(t)
    t2 = make_tables()
    for col in ("narrative_id", "theme_id"):
        t2["claims"][col] = t2["claims"][col].astype("Int64")
    assert str(t2["claims"]["narrative_id"].dtype) == "Int64"
    assert render_report(t2) == as_float


def test_empty_and_missing_tables():
    for tables in ({}, {d.name: d.schema.empty_table().to_pandas()
                        for d in (ARTICLES, CLAIMS, NARRATIVES, THEMES, NARRATIVE_TIMESERIES, RUNS, QUARANTINE)}):
        page = render_report(tables)
        assert "There are no narratives" in page
        assert '<section class="narrative"' not in page
        s = summary(page)
        assert s["Claims"] == "0" and s["Narratives"] == "0" and s["Run status"] == "no runs recorded"
        assert page.rstrip().endswith("</html>")
    # only claims given, other keys missing
    t = make_tables()
    page = render_report({"claims": t["claims"]})
    assert summary(page)["Claims"] == "8" and "There are no narratives" in page


def test_matrix_limited_to_top_15_narratives_and_shaded():
    n = 20
    claims = frame(CLAIMS, [
        {"claim_id": f"c{i}-{j}", "article_id": "a", "sentence_index": j, "text": "t", "embed_text": "t",
         "is_quote": False, "outlet": f"Outlet {j % 3}", "published_at": ts("2024-01-01"), "narrative_id": i,
         "theme_id": None, "source": "f"}
        for i in range(1, n + 1) for j in range(n + 1 - i)
    ])
    narrs = frame(NARRATIVES, [
        {"narrative_id": i, "label": f"Narrative {i}", "keywords": [f"k{i}"], "size": n + 1 - i, "n_articles": 1,
         "n_outlets": 1, "representative_claim_ids": [], "representative_claims": []}
        for i in range(1, n + 1)
    ])
    page = render_report({"claims": claims, "narratives": narrs})
    matrix = re.search(r'<table class="matrix">(.*?)</table>', page, re.S).group(1)
    heads = re.findall(r'<th class="num" title="([^"]*)">', matrix)
    assert heads == [f"Narrative {i}" for i in range(1, 16)]
    assert "background:rgba(" in matrix and matrix.count("<tr>") == 1 + 3
    assert len(re.findall(r'<section class="narrative"', page)) == n
    # narratives without a theme are listed in the theme overview
    assert "Narratives without a (known) theme" in page


def test_write_report_is_atomic_and_creates_folders(tmp_path, monkeypatch):
    t = make_tables()
    out = tmp_path / "deep" / "er" / "report.html"
    got = write_report(t, out, title="T")
    assert got == out and out.read_text(encoding="utf-8") == render_report(t, title="T")
    assert os.listdir(out.parent) == ["report.html"]
    # a failed replace leaves the previous report intact and no temp file behind
    before = out.read_text(encoding="utf-8")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(report.os, "replace", boom)
    with pytest.raises(OSError):
        write_report({}, out)
    assert out.read_text(encoding="utf-8") == before
    assert os.listdir(out.parent) == ["report.html"]
    monkeypatch.undo()
    write_report({}, str(out))
    assert "There are no narratives" in out.read_text(encoding="utf-8")


def test_tolerates_odd_dtypes_and_nulls():
    t = make_tables()
    c = t["claims"]
    c["narrative_id"] = c["narrative_id"].astype(object).where(c["narrative_id"].notna(), None)
    c["published_at"] = c["published_at"].dt.tz_localize("UTC")
    n = t["narratives"].astype({"size": object})
    n.at[0, "keywords"] = None
    n.at[0, "representative_claim_ids"] = np.array([], dtype=str)
    t["narratives"] = n
    t["runs"]["started_at"] = pd.NaT
    t["narrative_timeseries"] = t["narrative_timeseries"].drop(columns=["outlet"])  # missing column = NULL
    page = render_report(t)
    svg = re.search(r"<svg.*?</svg>", card(page, 1), re.S).group(0)
    assert svg.count("<rect") == 3
    assert "Vaccines contain chips." in card(page, 2)  # falls back to the stored representative texts
    assert summary(page)["Unassigned claims"] == "2 (25.0%)"


def test_cards_show_spread_bursts_and_drift_escaped():
    import pandas as pd

    from narratives.report import render_report
    from narratives.schemas import NARRATIVE_BURSTS, NARRATIVE_DRIFT, NARRATIVE_SPREAD

    narr = pd.DataFrame([{"narrative_id": 1, "theme_id": 1, "label": "NATO expands", "keywords": ["nato"], "size": 2,
                          "n_articles": 2, "n_outlets": 2, "first_seen": pd.Timestamp("2026-01-05"),
                          "last_seen": pd.Timestamp("2026-01-20"), "representative_claim_ids": ["c1"],
                          "representative_claims": ["x"]}])
    cl = pd.DataFrame([{"claim_id": "c1", "article_id": "a1", "text": "<script>alert(1)</script> junta rises",
                        "narrative_id": 1.0, "outlet": "RT", "published_at": pd.Timestamp("2026-01-05")}])
    spread = pd.DataFrame([{"narrative_id": 1, "first_seen": pd.Timestamp("2026-01-05"), "first_outlet": "<b>RT</b>",
                            "n_outlets": 3, "days_to_2_outlets": 3.0, "days_to_3_outlets": None,
                            "days_to_5_outlets": None, "outlet_join_days": [0.0, 3.0], "n_reprints": 1,
                            "n_reprint_outlets": 1}], columns=NARRATIVE_SPREAD.columns)
    bursts = pd.DataFrame([{"narrative_id": 1, "grain": "day", "period_start": pd.Timestamp("2026-01-10"),
                            "period_end": pd.Timestamp("2026-01-12"), "score": 7.5, "baseline": 0.4,
                            "peak_claims": 6}], columns=NARRATIVE_BURSTS.columns)
    drift = pd.DataFrame([{"narrative_id": 1, "grain": "week", "period_start": pd.Timestamp("2026-01-12"),
                           "n_claims": 5, "shift_prev": 0.61, "shift_first": 0.6, "rising_terms": ["junta"],
                           "falling_terms": ["<i>regime</i>"], "representative_claim_id": "c1",
                           "drift_score": 0.61}], columns=NARRATIVE_DRIFT.columns)
    page = render_report({"narratives": narr, "claims": cl, "narrative_spread": spread, "narrative_bursts": bursts,
                          "narrative_drift": drift})
    assert "Spread: first <b>&lt;b&gt;RT&lt;/b&gt;</b> on 2026-01-05; a second outlet after 3 days" in page
    assert "2026-01-10 – 2026-01-12: up to 6 claims a day" in page
    assert "<td>junta</td><td>&lt;i&gt;regime&lt;/i&gt;</td>" in page
    assert "<script>alert(1)" not in page
