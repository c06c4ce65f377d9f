"""The HTML report in a real headless Chromium (Debian's `chromium`, driven by Playwright): it loads with no
console errors and no network requests, the charts render, search and paging work, hostile text stays inert.
A screenshot is written to outputs/test-artifacts/. `make test` installs chromium when it is missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from narratives.report import write_report

from test_report import IMG, SCRIPT, make_tables

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "outputs" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        msg = "chromium not found: `make test` installs Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: make test installs it")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def open_page(browser, path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen = {"console": [], "requests": []}
    page.on("console", lambda m: seen["console"].append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: seen["console"].append(f"pageerror: {e}"))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    return page, seen


def test_hostile_text_stays_inert(browser, tmp_path):
    t = make_tables()
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    t["narratives"].loc[0, "label"] = "Chips " + payload
    t["claims"].loc[4, "text"] = "Vaccines " + payload
    path = write_report(t, tmp_path / "hostile.html")
    page, seen = open_page(browser, path)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img").count() == 0 and page.locator("main script").count() == 0
    card = page.locator("section#n-2")
    assert payload in card.locator("h3").inner_text()  # shown as text
    assert "Vaccines " + payload in card.inner_text()
    assert IMG in page.locator("#themes-box").inner_text() and SCRIPT in card.inner_text()
    assert seen["console"] == [] and seen["requests"] == [path.resolve().as_uri()]
    # the javascript: link of article a2 is not a link
    assert page.locator("a[href^='javascript']").count() == 0


@pytest.mark.slow
def test_demo_report_renders_searches_pages_and_is_offline(browser, demo_run):
    path = Path(demo_run["first"]["report"])
    page, seen = open_page(browser, path)
    assert seen["console"] == [], seen["console"]
    assert seen["requests"] == [path.resolve().as_uri()]  # nothing but the file itself
    n_total = len(demo_run["tables"]["narratives"])
    assert page.locator("#ranked-body tr").count() == min(25, n_total)
    assert page.locator("#cards-box section.narrative").count() == min(25, n_total)
    # charts: per-card outlet timelines, the heatmap and the map are non-empty SVG
    assert page.locator("svg.timeline rect").count() > 25
    assert page.locator("svg.heatmap rect").count() > 50
    assert page.locator("svg.map circle").count() > 500
    first_ids = page.locator("#ranked-body tr td:nth-child(2)").all_inner_texts()
    page.click("#next")
    assert page.locator("#ranked-body tr td:nth-child(2)").all_inner_texts() != first_ids
    # search filters the list and the cards to narratives mentioning the words
    page.fill("#search", "biolab")
    rows = page.locator("#ranked-body tr").all_inner_texts()
    assert 0 < len(rows) < 25
    assert "of " + str(n_total) in page.locator("#search-count").inner_text()
    cards = page.locator("#cards-box section.narrative").all_inner_texts()
    assert len(cards) == len(rows) and all("biolab" in c.lower() for c in cards)
    page.fill("#search", "zzzz-no-such-thing")
    assert page.locator("#ranked-body tr").count() == 0
    # a narrative link in the theme overview opens its card, whatever page the list is on
    page.fill("#search", "")
    nid = page.locator("svg.heatmap text").first.inner_html().strip("#")  # the largest narrative
    page.select_option("#sort", "recent")
    page.locator(f"#themes-box a[data-nid='{nid}']").first.click()
    assert page.locator(f"#cards-box section#n-{nid}").count() == 1
    page.fill("#search", "")
    page.select_option("#sort", "size")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-demo.png"), full_page=False)
    page.locator("#map").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "report-demo-map.png"), full_page=False)
    assert (ARTIFACTS / "report-demo.png").stat().st_size > 10_000
    assert seen["console"] == []
