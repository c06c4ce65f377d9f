"""Tests for narratives.report and report_data: the data shown, escaping of hostile text, offline-ness, empty input,
atomic writes. The page itself is exercised in a real browser by tests/test_report_browser.py."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import re

import numpy as np
import pandas as pd
import pytest

import json

from narratives import report
from narratives.report import render_report, write_report
from narratives.report_data import report_data, safe_url
from narratives.schemas import (
    ARTICLES, CLAIMS, NARRATIVE_BURSTS, NARRATIVE_DRIFT, NARRATIVE_LINEAGE, NARRATIVE_TIMESERIES, NARRATIVES,
    QUARANTINE, RUNS, THEMES, TableDef,
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


def data_of(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert m, "no data block"
    return json.loads(m.group(1))


def by_id(d: dict) -> dict[int, dict]:
    return {n["id"]: n for n in d["narratives"]}


def test_summary_figures():
    s = report_data(make_tables())["summary"]
    assert (s["articles"], s["claims"], s["outlets"], s["narratives"], s["themes"]) == (3, 8, 2, 2, 2)
    assert (s["unassigned"], s["undated"], s["quarantined"], s["runs"]) == (2, 2, 2, 2)
    assert (s["first_date"], s["last_date"]) == ("2024-03-01", "2024-03-20")
    assert s["last_run"]["id"] == "r2-new" and s["last_run"]["status"] == "succeeded"


def test_narratives_ranked_by_size_with_cards_data():
    d = report_data(make_tables())
    assert [n["id"] for n in d["narratives"]] == [1, 2]
    n1 = by_id(d)[1]
    assert n1["label"] == "Moon landing was staged" and n1["keywords"] == ["moon", "landing", "staged"]
    assert n1["size"] == 4 and n1["first"] == "2024-03-01" and n1["last"] == "2024-03-20"
    rep = n1["reps"][0]
    assert rep == {"text": "The moon landing was staged.", "outlet": "Daily One", "date": "2024-03-01",
                   "speaker": "Dr. X", "url": "https://example.org/a1"}
    assert n1["reps"][1]["url"] is None  # javascript: links are dropped
    # timeline: weeks 2024-02-26 (1), 03-04 (2), 03-18 (1) on the report's weekly axis, by outlet
    weeks = d["weeks"]
    got = {s["outlet"]: {weeks[w]: k for w, k in s["points"]} for s in n1["timeline"]["series"]}
    assert got == {"Daily One": {"2024-02-26": 1, "2024-03-04": 1}, "Evil <b>Times</b>": {"2024-03-04": 1, "2024-03-18": 1}}
    # a representative claim id that no longer exists falls back to the stored text
    assert by_id(d)[2]["reps"][1] == {"text": "orphan " + SCRIPT, "outlet": None, "date": None, "speaker": None, "url": None}


def test_growth_last_7_days_vs_previous_7():
    # data ends 2024-03-20: last 7 days = 03-14..03-20, previous = 03-07..03-13
    d = by_id(report_data(make_tables()))
    assert d[1]["growth"] == [1, 0] and d[2]["growth"] == [1, 0]


def test_dynamics_and_lineage_reach_the_cards():
    t = make_tables()
    t["narrative_bursts"] = frame(NARRATIVE_BURSTS, [{"narrative_id": 1, "grain": "day", "period_start": ts("2024-03-04"),
                                                      "period_end": ts("2024-03-05"), "score": 4.2, "baseline": 0.5, "peak_claims": 3}])
    t["narrative_drift"] = frame(NARRATIVE_DRIFT, [{"narrative_id": 1, "grain": "week", "period_start": ts("2024-03-04"), "n_claims": 2,
                                                    "shift_prev": 0.3, "shift_first": 0.3, "rising_terms": [IMG], "falling_terms": ["moon"],
                                                    "representative_claim_id": "c3", "drift_score": 0.12}])
    t["narrative_lineage"] = frame(NARRATIVE_LINEAGE, [{"run_id": "r2-new", "event": "split", "narrative_id": 2,
                                                        "related_narrative_id": 1, "overlap": 0.75}])
    d = by_id(report_data(t))
    assert d[1]["bursts"] == [{"grain": "day", "start": "2024-03-04", "end": "2024-03-05", "peak": 3, "baseline": 0.5, "score": 4.2}]
    assert d[1]["periods"][0]["rising"] == [IMG] and d[1]["periods"][0]["rep"].startswith("Staged landing")
    assert d[1]["drift"] == 0.12
    assert d[2]["lineage"] == [{"run": "r2-new", "event": "split", "narrative": 2, "related": 1, "overlap": 0.75}]
    assert d[1]["lineage"] == d[2]["lineage"]  # shown on the parent's card too


def test_heatmap_and_map():
    d = report_data(make_tables())
    h = d["heatmap"]
    assert h["narratives"] == [1, 2] and set(h["outlets"]) == {"Daily One", "Evil <b>Times</b>"}
    row = dict(zip(h["outlets"], h["values"]))
    assert row["Daily One"] == [2, 1] and row["Evil <b>Times</b>"] == [2, 1]
    assert d["map"]["n_claims"] == 6 and {p[2] for p in d["map"]["points"]} == {1, 2}


def test_claim_map_samples_by_id_hash_and_jitters_each_claim_the_same_way(monkeypatch):
    """The map's sample and offsets equal the per-claim definition: the claims whose hash_array(id) sort first, each
    drawn at its narrative's centre plus an offset in the disc from the hash of its id, farther for weaker
    members; claims of narratives the table lacks are not drawn."""
    from narratives import report_data as rd

    monkeypatch.setattr(rd, "MAP_POINTS", 40)
    rng = np.random.default_rng(3)
    narrs = frame(NARRATIVES, [{"narrative_id": i, "size": 10, "centroid": rng.normal(size=8).tolist()} for i in range(1, 5)])
    claims = frame(CLAIMS, [{"claim_id": f"c{i}", "narrative_id": [1, 2, 3, 9, None][i % 5],
                             "membership": None if i % 7 == 0 else float(rng.uniform())} for i in range(120)])
    got = rd.claim_map(claims, narrs)

    pos = rd._projection(narrs)
    assigned = claims[claims["narrative_id"].notna()]
    key = [int(pd.util.hash_array(np.array([c], dtype=object))[0]) for c in assigned["claim_id"]]
    want = []
    for i in sorted(range(len(assigned)), key=lambda i: key[i])[:40]:
        cid, nid, m = assigned.iloc[i][["claim_id", "narrative_id", "membership"]]
        if int(nid) not in pos:
            continue
        h = hashlib.blake2b(cid.encode(), digest_size=8).digest()
        a = int.from_bytes(h[:4], "little") / 2**32 * 2 * np.pi
        r = np.sqrt(int.from_bytes(h[4:], "little") / 2**32)
        scale = 0.06 * (0.3 + (1.0 - (0.0 if pd.isna(m) else float(m))) * 2)
        x, y = pos[int(nid)]
        want.append([round(x + float(np.cos(a) * r) * scale, 4), round(y + float(np.sin(a) * r) * scale, 4), int(nid)])
    assert got["points"] == want
    assert 25 <= len(want) < 40 and {p[2] for p in want} == {1, 2, 3}
    assert got["n_claims"] == 96


def _timelines_reference(claims, weeks):
    """The outlet timelines as first written with pandas groupbys (the definition _timelines must keep)."""
    from narratives.report_data import TIMELINE_OUTLETS, _week

    d = claims[claims["published_at"].notna() & claims["narrative_id"].notna()]
    if d.empty:
        return {}
    d = pd.DataFrame({"n": d["narrative_id"].astype(int).to_numpy(), "o": d["outlet"].fillna("(unknown outlet)").to_numpy(),
                      "w": _week(d["published_at"]).map(weeks).to_numpy()})
    per = d.groupby(["n", "o"]).size().reset_index(name="k").sort_values(["n", "k", "o"], ascending=[True, False, True])
    per["rank"] = per.groupby("n").cumcount()
    top = set(zip(per.loc[per["rank"] < TIMELINE_OUTLETS, "n"], per.loc[per["rank"] < TIMELINE_OUTLETS, "o"]))
    order = {(n, o): r for n, o, r in zip(per["n"], per["o"], per["rank"])}
    d["name"] = [o if (n, o) in top else "other outlets" for n, o in zip(d["n"], d["o"])]
    out = {}
    for (n, name, w), k in d.groupby(["n", "name", "w"]).size().items():
        out.setdefault(int(n), {}).setdefault(name, []).append([int(w), int(k)])
    return {n: {"series": [{"outlet": o, "points": pts} for o, pts in
                           sorted(series.items(), key=lambda kv: order.get((n, kv[0]), TIMELINE_OUTLETS))]}
            for n, series in out.items()}


def test_outlet_timelines_equal_the_groupby_definition():
    """_timelines (integer codes) gives what the pandas groupby definition gives: top outlets by claims with ties
    by name, the rest as 'other outlets' (also when an outlet is called that), unknown outlets, undated and
    unassigned claims left out, points by week."""
    from narratives.report_data import _timelines, _week

    rng = np.random.default_rng(11)
    outlets = ["RT", "Sputnik", "TASS", "other outlets", "Ведомости", "a", "b", "c", "d", None]
    for trial in range(5):
        n = 400
        claims = pd.DataFrame({
            "narrative_id": rng.choice([1.0, 2.0, 3.0, 7.0, np.nan], size=n, p=[0.4, 0.3, 0.15, 0.1, 0.05]),
            "outlet": rng.choice(np.array(outlets, dtype=object), size=n),
            "published_at": pd.to_datetime("2026-01-01") + pd.to_timedelta(rng.integers(0, 70, size=n), unit="D"),
        })
        claims.loc[rng.random(n) < 0.05, "published_at"] = pd.NaT
        dated = claims["published_at"].dropna()
        weeks = {w: i for i, w in enumerate(sorted(pd.DatetimeIndex(_week(dated).unique())))}
        assert _timelines(claims, weeks) == _timelines_reference(claims, weeks)
    assert _timelines(claims.iloc[:0], {}) == {}


def test_hostile_text_never_appears_as_markup():
    page = render_report(make_tables())
    body = page.split("<body>", 1)[1]
    assert "<script>alert" not in body and "<img" not in body and "<b>Times" not in body
    assert body.count("<script") == 2  # the JSON data block and the app
    d = data_of(page)
    assert d["narratives"][1]["label"] == "Vaccine chips " + SCRIPT  # the text itself is kept, as text
    assert "Mr " + IMG in json.dumps(d)


def test_page_json_is_the_json_modules_text_escaped_for_html():
    """The data block is what json.dumps(ensure_ascii=False, compact) writes (orjson encodes it; floats below 1e-4
    aside), then '<', '>', '&', U+2028 and U+2029 escaped; data orjson refuses goes through the json module."""
    d = report_data(make_tables())
    d["extra"] = {"text": "Москва «NATO» </script><!-- & \u2028 \u2029 \x00 \x1f \\ \" \t\b\f \U0001F600",
                  "nums": [0, -1, 2**53, 0.1, 1 / 3, 123456.789, 1e16, -0.0], "nested": [[], {}, [None, True, False]]}
    got = report._json_for_html(d)
    plain = json.dumps(d, ensure_ascii=False, separators=(",", ":"))
    assert got == (plain.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
                   .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    assert "<" not in got and ">" not in got and "&" not in got and json.loads(got) == d
    assert json.loads(report._json_for_html({"small": 1e-5}))["small"] == 1e-5  # (written 0.00001 by orjson)
    lone = {"t": "a\ud800b"}  # a lone surrogate: orjson refuses it, the json module writes it as before
    assert report._json_for_html(lone) == json.dumps(lone, ensure_ascii=False, separators=(",", ":"))


def test_no_external_resources_and_csp_pins_the_script():
    page = render_report(make_tables())
    assert not re.search(r'(src|href)="(https?:)?//', page.split('id="report-data"')[0])
    assert "@import" not in page and "url(" not in page
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page and "default-src 'none'" in page and "connect-src 'none'" in page


def test_safe_url():
    assert safe_url("https://a.org/x?y=1") == "https://a.org/x?y=1"
    for bad in ("javascript:alert(1)", "data:text/html,x", "//a.org", "/rel", "https://a.org/x y", None, float("nan")):
        assert safe_url(bad) is None


def test_safe_url_fast_path_agrees_with_urlsplit():
    """safe_url accepts plain URLs by a pattern; every answer must be the one the urlsplit rule gives."""
    from urllib.parse import urlsplit

    def by_urlsplit(v):
        s = str(v).strip()
        try:
            parts = urlsplit(s)
        except ValueError:
            return None
        ok = parts.scheme.lower() in ("http", "https") and parts.netloc and not re.search(r"\s", s)
        return s if ok else None

    cases = ["https://a.org/x?y=1", "HTTP://A.ORG", "http://", "http:///x", "https://[::1]/x", "https://[::1/x",
             "http://a]b/", "https://é.com/x", "http://a.org/é", " http://a.org/x ", "http://a.org\x01/",
             "http://a.org/\x01", "https://a.org#f", "https://a.org?q", "http:/a.org", "ftp://a.org", "http://a.org\u00a0"]
    rng = random.Random(5)
    chars = "hHtTpPsS:/?#[]@ .\t\n\x01\x7fé\u00a0a0-%\\"
    cases += [rng.choice(["http://", "https://", "HTTPS://", "", " http://"]) + "".join(rng.choice(chars) for _ in range(rng.randint(0, 12)))
              for _ in range(20000)]
    wrong = [c for c in cases if safe_url(c) != by_urlsplit(c)]
    assert wrong == []
    assert safe_url("https://[::1]/x") == "https://[::1]/x" and safe_url("https://[::1/x") is None


def test_empty_and_missing_tables():
    page = render_report({})
    d = data_of(page)
    assert d["narratives"] == [] and d["summary"]["claims"] == 0 and d["map"]["points"] == []
    assert "<dd>0</dd>" in page


def test_tolerates_odd_dtypes_and_nulls():
    t = make_tables()
    t["claims"]["narrative_id"] = t["claims"]["narrative_id"].astype("float64")
    t["narratives"]["keywords"] = [None, "single"]
    d = by_id(report_data(t))
    assert d[2]["keywords"] == [] and d[1]["keywords"] == ["single"]


def test_write_report_is_atomic_and_creates_folders(tmp_path, monkeypatch):
    out = tmp_path / "deep" / "r.html"
    write_report(make_tables(), out)
    first = out.read_text()
    assert first.startswith("<!DOCTYPE html>")

    def boom(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(report.os, "replace", boom)
    with pytest.raises(RuntimeError):
        write_report({}, out)
    assert out.read_text() == first
    assert [p.name for p in out.parent.iterdir()] == ["r.html"]
