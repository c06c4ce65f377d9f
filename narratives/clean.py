"""Strip page cruft from scraped text and infer the outlet of raw pages.

Scrapers deliver navigation ("Listen Live", "Get short URL"), page clocks and weather widgets, photo
credits, ads, related-headline lists after "Read more", tag lines and comment widgets. What survives is the
article body: paragraphs of running sentences, in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

import pandas as pd

from narratives.outlets import OutletAliases

_CRUFT_EXACT = {
    "listen live", "get short url", "read more", "read also", "you may also like", "more from author",
    "community standards", "community standardsdiscussion", "discussion", "comment via facebook",
    "comment via sputnik", "comment via facebookcomment via sputnik", "advertisement", "- advertisement -",
    "latest posts", "don't miss", "don’t miss", "stay in touch", "add yours", "+ there are no comments",
    "there are no comments", "share", "subscribe", "related", "related news", "most read", "trending",
    "follow us", "print", "tags", "photo", "video",
}
_CRUFT_PATTERNS = [re.compile(p, re.I) for p in (
    r"^\d{1,2}:\d{2}\s*(gmt|utc|msk)?\s*\d{0,2}\s*\w*\s*\d{0,4}$",            # page clock "07:10 GMT26 January 2021"
    r"^-?\d{1,3}([.,]\d)?\s*°?\s*[CF]$",                                      # weather widget "19.9 C"
    r"^(monday|tuesday|wednesday|thursday|friday|saturday|sunday),?\s+\w+\s+\d{1,2},?\s+\d{4}$",
    r"^\d{1,2}\s+\w+\s+\d{4}(,\s*\d{1,2}:\d{2})?$",                            # bare date line
    r"^©",                                                                       # photo credit
    r"©\s*\w+",                                                                  # caption with credit
    r"^/?\s*photo\s*:",                                                          # "/ Photo: REUTERS"
    r"^(published|posted|updated|date)(\s+on)?\s*[:\-]?\s*\S.{0,40}$",                # date lines
    r"^estimated read time",
    r"^source from\s*:",
    r"^read full article at",
    r"^(stay in touch|to be updated with all the latest news)",
    r"^by\s+[A-Z][\w.'-]+(\s+[A-Z][\w.'-]+){0,3}$",                            # byline
    r"\(\d+\)$",                                                                 # "Russia-NATO Relations Reach a New Low (121)"
    r"^(https?://|www\.)\S+$",
)]
_INLINE_CRUFT = re.compile(r"\s*(Read Full Article at [\w.]+|Get short URL|Listen Live)\s*$", re.I)
_TERMINAL = re.compile(r"[.!?…][\"'”’»)]*$|[\"”»]$")
_BULLET = re.compile(r"^\s*[•·▪◦\-–*]\s+")

# Outlet markers, strongest first. Each returns the outlet as written; aliases are normalised elsewhere.
_OUTLET_MARKERS = [
    re.compile(r"Read Full Article at\s+(?P<o>[\w.-]+\.\w+)", re.I),
    re.compile(r"^\s*Source From\s*:\s*(?P<o>[^\n]+?)\s*$", re.I | re.M),
    re.compile(r"\b[A-Z][A-Z .'-]{2,30}\s*\((?P<o>Sputnik|RIA Novosti|TASS|Interfax|RT|BelTA)\)\s*[—–-]"),
]
_DOMAIN_OUTLETS = {
    "rt.com": "RT", "sputniknews.com": "Sputnik", "tass.com": "TASS", "tass.ru": "TASS", "ria.ru": "RIA Novosti",
}


_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DATE_LABEL = re.compile(
    r"^\s*(?:published(?: on)?|posted(?: on)?|date(?: published)?|publication date)\s*[:\-]?\s*(?P<d>.+?)\s*$",
    re.I | re.M)
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d %B %Y", "%B %d, %Y", "%B %d %Y", "%d %b %Y", "%b %d, %Y")


@dataclass(frozen=True)
class CleanResult:
    text: str
    outlet_hint: str | None
    date_hint: datetime | None = None


def infer_page_date(text: str) -> datetime | None:
    """The publication date a page states explicitly ("Published: 25 May 2022", "Posted on 2022-05-25"), when
    exactly one distinct such date is given. Page clocks, weather widgets and dates in running text are never
    used: a page without a labelled date stays undated."""
    found = set()
    for m in _DATE_LABEL.finditer(text):
        raw = re.sub(r"\s+\d{1,2}:\d{2}.*$", "", m.group("d")).strip(" ,.")  # drop a trailing time
        raw = re.sub(r"^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday),?\s+", "", raw, flags=re.I)
        for fmt in _DATE_FORMATS:
            try:
                found.add(datetime.strptime(raw, fmt))
                break
            except ValueError:
                continue
    return found.pop() if len(found) == 1 else None


def _is_cruft(line: str, title: str | None) -> bool:
    low = line.lower().strip()
    if low in _CRUFT_EXACT:
        return True
    if title and low == title.lower().strip():
        return True
    if any(p.search(line) for p in _CRUFT_PATTERNS):
        return True
    # Headlines, tag lines, navigation and captions without a sentence end: not body text ...
    if not _TERMINAL.search(line):
        return not is_standfirst(line)  # ... except a long sentence-case standfirst ("..., Peskov has said")
    return False


def is_standfirst(line: str) -> bool:
    """A lead/standfirst line: a full sentence without its final period (>= 12 words, not Title Case)."""
    words = line.split()
    caps = sum(w[:1].isupper() for w in words)
    return len(words) >= 12 and caps < 0.5 * len(words) and not _TERMINAL.search(line)


def infer_outlet(text: str, url: str | None = None) -> str | None:
    """Outlet named by the page's own markers (read-full-article line, source line, dateline), else its URL."""
    for pat in _OUTLET_MARKERS:
        m = pat.search(text)
        if m:
            return m.group("o").strip().rstrip(".")
    if url:
        host = urlparse(url).netloc.lower().removeprefix("www.")
        for domain, name in _DOMAIN_OUTLETS.items():
            if host == domain or host.endswith("." + domain):
                return name
        return host or None
    return None


def clean_text(text: str, title: str | None = None) -> CleanResult:
    """Remove page cruft; keep body paragraphs (one per line) in their original order."""
    kept: list[str] = []
    for raw_line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _BULLET.sub("", raw_line.strip())
        line = _INLINE_CRUFT.sub("", line).strip()
        if not line or _is_cruft(line, title):
            continue
        kept.append(line + "." if is_standfirst(line) else line)
    return CleanResult(text="\n".join(kept), outlet_hint=infer_outlet(text), date_hint=infer_page_date(text))


_URL = re.compile(r"(?:https?://|www\.|pic\.twitter\.com/)\S+", re.I)
_SIGNATURE = re.compile(
    r"\s*[—–-]+\s*[^()\n]{1,80}\(@\w{1,30}\)\s*(?:" + _MONTHS + r")\s+\d{1,2},\s+\d{4}\s*$", re.I)


def clean_claim_text(text: str) -> CleanResult:
    """Light cleaning for records that are one claim each (fact-check rows, tweets): drop links and a trailing
    social-media signature ("— Name (@handle) January 6, 2020"); keep every word of the statement."""
    s = _SIGNATURE.sub("", text.strip())
    s = _URL.sub(" ", s)
    s = re.sub(r"(?<=[\w.!?,;:])#", " #", s)  # "camera.#IranUsa" -> "camera. #IranUsa"
    return CleanResult(text=" ".join(s.split()), outlet_hint=infer_outlet(text), date_hint=None)


def clean_articles(records: pd.DataFrame, aliases: OutletAliases | None = None, unit: str = "article") -> pd.DataFrame:
    """Add ``clean_text``; fill a missing outlet from page markers; normalise outlet names through ``aliases``.
    With ``unit='claim'`` each record is one statement and only links and signatures are removed.
    Returns a new frame (input untouched)."""
    out = records.copy()
    if unit == "claim":
        cleaned = [clean_claim_text(t) for t in out["text"]]
    else:
        cleaned = [clean_text(t, ti if isinstance(ti, str) else None) for t, ti in zip(out["text"], out["title"])]
    out["clean_text"] = [c.text for c in cleaned]
    hints = [c.outlet_hint for c in cleaned]
    url_hints = [infer_outlet("", u) if isinstance(u, str) else None for u in out["url"]]
    out["outlet"] = [
        o if isinstance(o, str) and o else (h or uh)
        for o, h, uh in zip(out["outlet"], hints, url_hints)
    ]
    if aliases is not None:
        out["outlet"] = [aliases.canonical(o) if isinstance(o, str) else None for o in out["outlet"]]
    if "is_raw_page" in out:  # raw pages: a date only from an explicit publication-date line
        dates = [d if not pd.isna(d) else (c.date_hint if raw else None)
                 for d, c, raw in zip(out["published_at"], cleaned, out["is_raw_page"])]
        out["published_at"] = pd.to_datetime(pd.Series(dates, index=out.index, dtype=object)).astype("datetime64[us]")
    return out
