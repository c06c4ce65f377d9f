"""The synthetic demo corpus: determinism, coverage, ground truth, sentence shape, topic separation, cruft."""

from __future__ import annotations

import csv
import dataclasses
import json
import random
import re
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from urllib.parse import urlparse

import pytest

from narratives import demo
from narratives.demo import DemoCorpus, PlantedNarrative, generate_demo_corpus, write_demo_corpus

KEYS = {"id", "url", "outlet", "published_at", "title", "text"}
START = date(2026, 1, 5)
# Words that belong to the planted narratives' topics and must never occur in background sentences.
FORBIDDEN = re.compile(
    r"\b(nato|alliance|sanction\w*|ukrain\w*|kiev|kyiv|zelensky|nazi\w*|neo-nazi\w*|bandera|biolab\w*|bioweapon\w*|"
    r"pentagon|weapon\w*|arms|missile\w*|baltic\w*|latvia|estonia|lithuania|media|journalist\w*|russophob\w*|eu|"
    r"european|europe|washington|brussels|west\w*|military|troops|drills?|exercises?|border\w*|proxy|war|"
    r"russia\w*|kremlin|america\w*|us)\b", re.I)
QUOTE_END = (".", ".”", '."')


@pytest.fixture(scope="module")
def corpus() -> DemoCorpus:
    return generate_demo_corpus()


@pytest.fixture(scope="module")
def built():
    """(articles, truth, background) from the private builder, which also returns the background sentences."""
    return demo._build(7, 400, 75, "2026-01-05")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    return write_demo_corpus(tmp_path_factory.mktemp("demo_out") / "nested" / "dir", seed=7)


def _bytes(paths) -> dict[str, bytes]:
    return {k: p.read_bytes() for k, p in paths.items()}


# --- determinism -----------------------------------------------------------------------------------------

def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path):
    a = _bytes(write_demo_corpus(tmp_path / "a", seed=7))
    b = _bytes(write_demo_corpus(tmp_path / "b", seed=7))
    c = _bytes(write_demo_corpus(tmp_path / "c", seed=8))
    assert a == b
    assert a["articles"] != c["articles"]
    assert a["truth"] != c["truth"]
    assert a["narratives"] == c["narratives"]  # the planted narratives are fixed; their expressions vary


def test_generation_ignores_and_preserves_global_random_state():
    random.seed(1)
    state = random.getstate()
    first = generate_demo_corpus(seed=3, n_articles=60)
    assert random.getstate() == state
    random.seed(99)
    second = generate_demo_corpus(seed=3, n_articles=60)
    assert first == second
    assert generate_demo_corpus(seed=4, n_articles=60) != first


def test_generation_is_fast():
    t0 = time.perf_counter()
    generate_demo_corpus()
    assert time.perf_counter() - t0 < 3.0


# --- API and file formats ----------------------------------------------------------------------------------

def test_dataclasses_are_frozen(corpus):
    assert isinstance(corpus, DemoCorpus)
    assert all(isinstance(n, PlantedNarrative) for n in corpus.narratives)
    with pytest.raises(dataclasses.FrozenInstanceError):
        corpus.narratives[0].key = "x"


def test_write_creates_dir_and_returns_paths(written):
    assert set(written) == {"articles", "truth", "narratives", "reprints", "dynamics"}
    assert sorted(p.name for p in written.values()) == ["articles.jsonl", "planted_dynamics.json", "planted_narratives.json",
                                                       "reprints.csv", "truth.csv"]
    assert all(p.is_file() for p in written.values())


def test_jsonl_has_exact_keys_and_valid_fields(written, corpus):
    lines = written["articles"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 400
    records = [json.loads(line) for line in lines]
    assert records == corpus.articles
    for r in records:
        assert set(r) == KEYS and list(r) == ["id", "url", "outlet", "published_at", "title", "text"]
        assert all(isinstance(v, str) and v for v in r.values())
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["published_at"])
        assert urlparse(r["url"]).scheme == "https" and urlparse(r["url"]).netloc
        assert not r["title"].endswith((".", "?", "!")) and "\n" not in r["title"]
    assert len({r["id"] for r in records}) == len({r["url"] for r in records}) == 400


def test_truth_csv_and_narratives_json(written, corpus):
    with written["truth"].open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["article_id", "sentence", "narrative_key", "theme"]
        rows = list(reader)
    assert rows == corpus.truth
    nars = json.loads(written["narratives"].read_text(encoding="utf-8"))
    assert nars == [{"key": n.key, "theme": n.theme, "description": n.description} for n in corpus.narratives]


# --- coverage ----------------------------------------------------------------------------------------------

def test_narratives_and_themes(corpus):
    keys = [n.key for n in corpus.narratives]
    assert len(keys) >= 10 and len(set(keys)) == len(keys)
    assert len({n.theme for n in corpus.narratives}) >= 4
    assert all(n.description and not n.description.endswith(".") for n in corpus.narratives)
    theme_of = {n.key: n.theme for n in corpus.narratives}
    assert all(theme_of[r["narrative_key"]] == r["theme"] for r in corpus.truth)
    assert {r["narrative_key"] for r in corpus.truth} == set(keys)


def test_dates_cover_the_window(corpus):
    days = sorted(date.fromisoformat(a["published_at"]) for a in corpus.articles)
    assert days[0] >= START and days[-1] <= START + timedelta(days=74)
    assert (days[-1] - days[0]).days >= 60


def test_every_narrative_recurs_across_articles_outlets_and_time(corpus):
    art = {a["id"]: a for a in corpus.articles}
    arts, outlets, days = defaultdict(set), defaultdict(set), defaultdict(set)
    for r in corpus.truth:
        a = art[r["article_id"]]
        arts[r["narrative_key"]].add(a["id"])
        outlets[r["narrative_key"]].add(a["outlet"])
        days[r["narrative_key"]].add((date.fromisoformat(a["published_at"]) - START).days)
    for n in corpus.narratives:
        assert len(arts[n.key]) >= 20, n.key
        assert len(outlets[n.key]) >= 3, n.key
        assert min(days[n.key]) < 25 and max(days[n.key]) >= 50, n.key  # spread over the whole window


def test_outlets_have_their_own_domains(corpus):
    domains = defaultdict(set)
    for a in corpus.articles:
        domains[a["outlet"]].add(urlparse(a["url"]).netloc)
    assert 6 <= len(domains) <= 8
    assert all(len(d) == 1 for d in domains.values())
    assert len({next(iter(d)) for d in domains.values()}) == len(domains)


def test_small_custom_corpus_respects_arguments():
    c = generate_demo_corpus(seed=11, n_articles=50, n_days=20, start="2025-03-01")
    assert len(c.articles) == 50
    days = {date.fromisoformat(a["published_at"]) for a in c.articles}
    assert min(days) == date(2025, 3, 1) and max(days) == date(2025, 3, 20)


# --- ground truth ------------------------------------------------------------------------------------------

def test_truth_sentences_occur_exactly_once_in_their_article(corpus):
    text = {a["id"]: a["text"] for a in corpus.articles}
    per_article = defaultdict(list)
    for r in corpus.truth:
        assert text[r["article_id"]].count(r["sentence"]) == 1, r
        per_article[r["article_id"]].append(r["sentence"])
    assert set(per_article) == set(text)  # every article carries planted sentences
    for sents in per_article.values():
        assert 1 <= len(sents) <= 3 and len(set(sents)) == len(sents)
    assert 700 <= len(corpus.truth) <= 900


def test_body_is_planted_plus_background(built):
    articles, truth, background = built
    text = {a["id"]: a["text"] for a in articles}
    n_bg = Counter(b["article_id"] for b in background)
    assert all(3 <= n_bg[a] <= 8 for a in text)
    for b in background:
        assert text[b["article_id"]].count(b["sentence"]) == 1
    # every line of text that ends like a sentence is made of planted and background sentences only
    known = defaultdict(list)
    for r in truth + background:
        known[r["article_id"]].append(r["sentence"])
    for aid, body in text.items():
        for line in body.split("\n"):
            if line.endswith((".", "”", '"')) and not re.fullmatch(r"-?\d+\.\d C", line):
                rest = line
                for s in known[aid]:
                    rest = rest.replace(s, "")
                assert rest.strip() == "", (aid, line)


# --- sentence shape ----------------------------------------------------------------------------------------

def _check_shape(s: str) -> None:
    assert 8 <= len(s.split()) <= 40, s
    assert s.endswith(QUOTE_END) and s.rstrip("”\"").endswith("."), s
    assert "\n" not in s and "?" not in s and "U.S." not in s, s
    assert not re.search(r"[.!][”\"]?\s+[A-Z“\"]", s[:-2]), s  # no internal sentence end


def test_planted_sentence_shape(corpus):
    for r in corpus.truth:
        _check_shape(r["sentence"])
        assert not r["sentence"].startswith("MOSCOW"), r  # datelines only ever go on background sentences


def test_background_sentence_shape(built):
    for b in built[2]:
        _check_shape(b["sentence"])


def test_paraphrase_diversity(corpus):
    by_key = defaultdict(list)
    copies = {r["article_id"] for r in corpus.reprints}
    for r in corpus.truth:
        if r["article_id"] not in copies:  # syndicated copies repeat their original's sentences on purpose
            by_key[r["narrative_key"]].append(r["sentence"])
    for key, sents in by_key.items():
        assert len(set(sents)) >= 30, key
        assert len(set(sents)) / len(sents) >= 0.9, key
        assert len({s[:30] for s in sents}) >= 15, key  # varied openings, not one sentence with swapped tails
    all_s = [r["sentence"] for r in corpus.truth]
    assert any(s.startswith("“") for s in all_s) and any(s.startswith('"') for s in all_s)
    assert any(s.startswith("According to ") for s in all_s)
    assert any(" said that " in s for s in all_s)
    assert any(s.endswith((".”", '."')) for s in all_s)
    assert any(re.search(r"[,.][”\"] [A-Z].* (said|added|noted|stressed|warned)\b", s) for s in all_s)
    assert sum(1 for s in all_s if not re.search(r"[“\"]|\bsaid\b|According to|that\b", s)) >= 50  # unattributed


def test_background_never_touches_planted_topics(built):
    hits = [b["sentence"] for b in built[2] if FORBIDDEN.search(b["sentence"].replace("MOSCOW (", ""))]
    assert hits == []


def test_background_is_varied(built):
    bg = [b["sentence"] for b in built[2]]
    assert len(set(bg)) / len(bg) > 0.98
    openings = Counter(" ".join(re.sub(r"^[A-Z]+ \([^)]*\) — ", "", s).split()[:5]) for s in bg)
    assert openings.most_common(1)[0][1] < 0.02 * len(bg)  # no sentence skeleton dominates


# --- scrape cruft ------------------------------------------------------------------------------------------

def test_cruft_is_present_and_outlet_specific(corpus):
    texts = "\n".join(a["text"] for a in corpus.articles)
    lines = set(texts.split("\n"))
    for marker in ("Listen Live", "Get short URL", "- Advertisement -", "Read more", "You May Also Like", "More From Author",
                   "Community standards", "Comment via Facebook", "Source From: Segodnya", "Read Full Article at RT.com"):
        assert marker in lines, marker
    assert any(re.fullmatch(r"© Sputnik / [A-Z]\w+ [A-Z]\w+", line) for line in lines)
    assert any(re.fullmatch(r"Estimated read time \d+ min read", line) for line in lines)
    assert any(re.fullmatch(r"\d\d:\d\d GMT \d{1,2} [A-Z][a-z]+ \d{4}", line) for line in lines)
    assert any(re.fullmatch(r"-?\d+\.\d C", line) for line in lines)
    assert any(re.fullmatch(r"[A-Z][a-z]+day, [A-Z][a-z]+ \d{1,2}, \d{4}", line) for line in lines)
    assert any(line.startswith("MOSCOW (Sputnik) — ") for line in lines)
    copies = {r["article_id"] for r in corpus.reprints}  # aggregators reprint pages with the source's markers
    for a in (a for a in corpus.articles if a["id"] not in copies):
        if "Source From: Segodnya" in a["text"]:
            assert a["outlet"] == "Segodnya"
        if "Read Full Article at RT.com" in a["text"]:
            assert a["outlet"] == "RT"


def test_cruft_dates_are_not_publication_dates(corpus):
    for a in corpus.articles:
        years = re.findall(r"^(?:\d\d:\d\d GMT \d{1,2} [A-Z][a-z]+ |[A-Z][a-z]+day, [A-Z][a-z]+ \d{1,2}, )(\d{4})$", a["text"], re.M)
        assert all(int(y) < START.year for y in years)


def test_related_headlines_follow_list_markers(corpus):
    seen = 0
    for a in corpus.articles:
        blocks = a["text"].split("\n\n")
        for blk in blocks:
            head, *items = blk.split("\n")
            if head in ("Read more", "You May Also Like", "More From Author"):
                seen += 1
                assert 2 <= len(items) <= 4
                assert all(i and i[0].isupper() and not i.endswith((".", "?", "!")) for i in items)
    assert seen > 50


def test_reprints_are_light_edits_by_other_outlets(corpus):
    by_id = {a["id"]: a for a in corpus.articles}
    assert len(corpus.reprints) == round(0.06 * len(corpus.articles))
    for r in corpus.reprints:
        copy, orig = by_id[r["article_id"]], by_id[r["original_article_id"]]
        assert copy["outlet"] != orig["outlet"] and copy["published_at"] >= orig["published_at"]
        assert 0.7 * len(orig["text"]) < len(copy["text"]) <= len(orig["text"])
        planted = [t["sentence"] for t in corpus.truth if t["article_id"] == orig["id"]]
        assert planted and all(s in copy["text"] for s in planted)


# --- planted dynamics: spread, burst, wording change ---------------------------------------------------------
# Checked directly on the generated articles and truth, for the default corpus and other large ones.

SEED7_DYNAMICS = {
    "spread": {"narrative_key": "us_biolabs", "first_outlet": "News Front", "start": "2026-01-17",
               "joins": [{"outlet": "RIA Novosti", "date": "2026-01-20", "lag_days": 3},
                         {"outlet": "Pravda EN", "date": "2026-01-24", "lag_days": 7},
                         {"outlet": "Sputnik", "date": "2026-01-29", "lag_days": 12},
                         {"outlet": "RT", "date": "2026-02-04", "lag_days": 18}]},
    "burst": {"narrative_key": "sanctions_backfire", "start": "2026-02-16", "end": "2026-02-22"},
    "wording": {"narrative_key": "kiev_neonazi", "old_term": "regime", "new_term": "junta", "from": "2026-02-09"},
}
LARGE = [(7, 400, 75, "2026-01-05"), (3, 200, 60, "2025-06-11"), (11, 300, 90, "2026-03-04"), (21, 1000, 120, "2024-12-30")]


@pytest.fixture(scope="module", params=LARGE, ids=lambda p: f"seed{p[0]}-{p[1]}x{p[2]}")
def large(request, corpus):
    seed, n, days, start = request.param
    return corpus if request.param == LARGE[0] else generate_demo_corpus(seed=seed, n_articles=n, n_days=days, start=start)


def _carriers(c: DemoCorpus, key: str) -> dict[str, dict]:
    """Articles (id -> article) that carry narrative ``key`` according to the truth."""
    art = {a["id"]: a for a in c.articles}
    return {r["article_id"]: art[r["article_id"]] for r in c.truth if r["narrative_key"] == key}


def _day(a: dict) -> date:
    return date.fromisoformat(a["published_at"])


def test_dynamics_json_for_the_default_corpus(corpus, written):
    assert corpus.dynamics == SEED7_DYNAMICS
    assert json.loads(written["dynamics"].read_text(encoding="utf-8")) == SEED7_DYNAMICS
    for key in ("us_biolabs", "sanctions_backfire", "kiev_neonazi"):  # each planted narrative is syndicated too
        assert any(r["article_id"] in _carriers(corpus, key) for r in corpus.reprints), key


def test_reprint_rule_follows_the_plan():
    plan = demo._plan(376, 75, "2026-01-05")
    sp, b0, w = plan["spread"][1], plan["burst"][1], plan["wording"][1]
    assert demo._allowed(plan, {"us_biolabs"}, "News Front", sp, sp)
    assert not demo._allowed(plan, {"us_biolabs"}, "RIA Novosti", sp + 2, sp)
    assert demo._allowed(plan, {"us_biolabs"}, "RIA Novosti", sp + 3, sp + 1)
    assert not demo._allowed(plan, {"us_biolabs"}, "TASS", 70, 70)  # an outlet outside the schedule never does
    assert not demo._allowed(plan, {"sanctions_backfire"}, "TASS", b0, b0 - 1)  # no copy across the burst edges
    assert demo._allowed(plan, {"sanctions_backfire"}, "TASS", b0 + 1, b0)
    assert not demo._allowed(plan, {"kiev_neonazi"}, "TASS", w, w - 2)  # nor across the wording switch
    assert demo._allowed(plan, {"proxy_war"}, "TASS", w, w - 2) and demo._allowed(None, {"us_biolabs"}, "TASS", 0, 0)


def test_dynamics_shape_and_narratives(large):
    dyn = large.dynamics
    assert set(dyn) == {"spread", "burst", "wording"}
    keys = {dyn[k]["narrative_key"] for k in dyn}
    assert len(keys) == 3 and keys <= {n.key for n in large.narratives}  # three different narratives
    sp = dyn["spread"]
    assert set(sp) == {"narrative_key", "first_outlet", "start", "joins"}
    assert all(set(j) == {"outlet", "date", "lag_days"} for j in sp["joins"])
    assert 3 <= len(sp["joins"]) <= 4
    first = min(_day(a) for a in large.articles)
    assert 10 <= (date.fromisoformat(sp["start"]) - first).days <= 15
    lags = [j["lag_days"] for j in sp["joins"]]
    assert lags == sorted(lags) and lags[0] >= 3 and all(b - a >= 3 for a, b in zip(lags, lags[1:]))
    for j in sp["joins"]:
        assert (date.fromisoformat(j["date"]) - date.fromisoformat(sp["start"])).days == j["lag_days"]
    assert len({sp["first_outlet"]} | {j["outlet"] for j in sp["joins"]}) == len(sp["joins"]) + 1


def test_small_corpora_plant_no_dynamics():
    assert generate_demo_corpus(seed=11, n_articles=50, n_days=20, start="2025-03-01").dynamics == {}
    assert generate_demo_corpus(seed=3, n_articles=60).dynamics == {}


def test_spread_first_appearance_overall_and_per_outlet_is_the_schedule(large):
    sp = large.dynamics["spread"]
    schedule = {sp["first_outlet"]: date.fromisoformat(sp["start"])}
    schedule.update({j["outlet"]: date.fromisoformat(j["date"]) for j in sp["joins"]})
    carriers = _carriers(large, sp["narrative_key"])
    assert min(_day(a) for a in carriers.values()) == date.fromisoformat(sp["start"])
    first_seen, per_outlet = {}, Counter()
    for a in carriers.values():  # originals and syndicated reprints alike
        first_seen[a["outlet"]] = min(first_seen.get(a["outlet"], _day(a)), _day(a))
        per_outlet[a["outlet"]] += 1
    assert first_seen == schedule  # exactly: on its join day, never before, and no other outlet ever
    for outlet, d in schedule.items():
        assert any(a["outlet"] == outlet and _day(a) == d for a in carriers.values())
        assert per_outlet[outlet] >= 3, outlet  # and a few more times afterwards
    # between the start and the first join only the first outlet carries it
    first_join = min(date.fromisoformat(j["date"]) for j in sp["joins"])
    assert {a["outlet"] for a in carriers.values() if _day(a) < first_join} == {sp["first_outlet"]}


def test_spread_narrative_leaves_no_trace_outside_its_carriers(large):
    key = large.dynamics["spread"]["narrative_key"]
    carriers = _carriers(large, key)
    for a in large.articles:  # no related-headline list, tag line or title mentions it elsewhere
        if re.search(r"biolab", a["title"] + "\n" + a["text"], re.I):
            assert a["id"] in carriers, a["id"]


def test_spread_reprints_respect_the_schedule(large):
    sp = large.dynamics["spread"]
    join = {sp["first_outlet"]: sp["start"], **{j["outlet"]: j["date"] for j in sp["joins"]}}
    carriers = _carriers(large, sp["narrative_key"])
    copies = [r["article_id"] for r in large.reprints if r["article_id"] in carriers]
    for aid in copies:  # syndicated copies of it come only from outlets that carry it already
        a = carriers[aid]
        assert a["outlet"] in join and a["published_at"] >= join[a["outlet"]]


def test_burst_window_stands_out_from_the_baseline(large):
    bu = large.dynamics["burst"]
    b0, b1 = date.fromisoformat(bu["start"]), date.fromisoformat(bu["end"])
    assert 5 <= (b1 - b0).days + 1 <= 7
    assert b0.isocalendar()[:2] == b1.isocalendar()[:2]  # inside one ISO week
    days = [_day(a) for a in large.articles]
    first, last = min(days), max(days)
    assert 40 <= (b0 - first).days <= 46
    per_day = Counter(_day(a) for a in _carriers(large, bu["narrative_key"]).values())
    inside = sum(per_day[b0 + timedelta(days=k)] for k in range((b1 - b0).days + 1))
    copies = {r["article_id"] for r in large.reprints}
    carriers = _carriers(large, bu["narrative_key"])
    window = [a["id"] for a in large.articles if b0 <= _day(a) <= b1 and a["id"] not in copies]
    assert window and all(aid in carriers for aid in window)  # every original article of the window carries it
    n_out = (last - first).days + 1 - ((b1 - b0).days + 1)
    outside = sum(v for d, v in per_day.items() if not b0 <= d <= b1)
    rate_out = outside / n_out
    assert 0.1 <= rate_out <= 0.8 * len(days) / ((last - first).days + 1) / 4  # low, flat baseline
    weeks = Counter()
    for d, v in per_day.items():
        weeks[d - timedelta(days=d.weekday())] += v
    all_weeks = {first - timedelta(days=first.weekday()) + timedelta(weeks=k)
                 for k in range(((last - first).days + first.weekday()) // 7 + 1)}
    counts = sorted(weeks.get(w, 0) for w in all_weeks)
    median = counts[len(counts) // 2]
    burst_week = b0 - timedelta(days=b0.weekday())
    assert weeks[burst_week] >= 4 * max(median, 1)
    assert all(3 * v <= weeks[burst_week] for w, v in weeks.items() if w != burst_week)  # no other week comes close
    # no 7-day stretch outside the window comes close
    stretch = max(sum(per_day[d + timedelta(days=k)] for k in range(7)) for d in per_day if not b0 <= d <= b1
                  and not b0 <= d + timedelta(days=6) <= b1)
    assert stretch * 3 <= inside


def test_burst_is_at_least_four_a_day_in_the_default_corpus(corpus):
    bu = corpus.dynamics["burst"]
    b0, b1 = date.fromisoformat(bu["start"]), date.fromisoformat(bu["end"])
    ids = {aid for aid, a in _carriers(corpus, bu["narrative_key"]).items() if b0 <= _day(a) <= b1}
    assert len(ids) / ((b1 - b0).days + 1) >= 4


def test_wording_switches_terms_on_its_date(large):
    wo = large.dynamics["wording"]
    old, new, w = wo["old_term"], wo["new_term"], date.fromisoformat(wo["from"])
    assert old != new and re.fullmatch(r"[a-z]+", old) and re.fullmatch(r"[a-z]+", new)
    rx_old, rx_new = re.compile(rf"\b{old}\b", re.I), re.compile(rf"\b{new}\b", re.I)
    art = {a["id"]: a for a in large.articles}
    before = after = 0
    for r in large.truth:
        if r["narrative_key"] != wo["narrative_key"]:
            continue
        s, d = r["sentence"], _day(art[r["article_id"]])
        n_old, n_new = len(rx_old.findall(s)), len(rx_new.findall(s))
        assert n_old + n_new == 1, s  # exactly one of the two terms in every sentence
        if d < w:
            assert n_old == 1, (d, s)
            before += 1
        else:
            assert n_new == 1, (d, s)
            after += 1
    assert before >= 15 and after >= 15
    assert w.weekday() == 0  # the switch starts an ISO week


def test_wording_terms_occur_nowhere_else(large, built):
    wo = large.dynamics["wording"]
    rx = re.compile(rf"\b({wo['old_term']}|{wo['new_term']})\b", re.I)
    mine = defaultdict(list)
    for r in large.truth:
        if r["narrative_key"] == wo["narrative_key"]:
            mine[r["article_id"]].append(r["sentence"])
        else:
            assert not rx.search(r["sentence"]), r
    for a in large.articles:  # background, titles, tags and related headlines never use the terms
        rest = a["title"] + "\n" + a["text"]
        for s in mine[a["id"]]:
            rest = rest.replace(s, "")
        assert not rx.search(rest), a["id"]
    assert not any(rx.search(b["sentence"]) for b in built[2])


def test_other_narratives_keep_steady_coverage(large):
    """The three planted dynamics leave every narrative >= 20 articles and >= 3 outlets; truth stays exact."""
    text = {a["id"]: a["text"] for a in large.articles}
    arts, outlets = defaultdict(set), defaultdict(set)
    art = {a["id"]: a for a in large.articles}
    for r in large.truth:
        assert text[r["article_id"]].count(r["sentence"]) == 1
        arts[r["narrative_key"]].add(r["article_id"])
        outlets[r["narrative_key"]].add(art[r["article_id"]]["outlet"])
    per_article = Counter(r["article_id"] for r in large.truth)
    assert set(per_article) == set(text) and max(per_article.values()) <= 3
    for n in large.narratives:
        assert len(arts[n.key]) >= 20 and len(outlets[n.key]) >= 3, n.key
    assert len(large.reprints) == round(0.06 * len(large.articles))
