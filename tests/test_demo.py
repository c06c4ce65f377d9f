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
    assert set(written) == {"articles", "truth", "narratives", "reprints"}
    assert sorted(p.name for p in written.values()) == ["articles.jsonl", "planted_narratives.json", "reprints.csv", "truth.csv"]
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
