"""Sentence segmentation, claim selection and speaker attribution.

Segmentation keeps quotations whole (a quote of several sentences is one claim) and does not split on
abbreviations ("Jan.", "U.S.", "Gen.") or initials. Selection keeps assertive statements and drops
questions, fragments, bylines and headings. Each claim records its speaker when the sentence (or the
article context, for "he said" / "according to him") attributes it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pandas as pd

from narratives.config import ClaimsConfig
from narratives.frames import in_ids

ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "gen", "lt", "col", "maj", "capt", "cmdr", "adm", "sgt", "rep", "sen", "gov",
    "pres", "st", "jr", "sr", "no", "vs", "etc", "e.g", "i.e", "inc", "ltd", "co", "corp", "dept", "est", "approx",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n", "e.u",
    "a.m", "p.m", "fig", "vol", "op", "cf",
}
OPEN_QUOTES = "“«„"
CLOSE_QUOTES = "”»"
SPEECH_VERBS = (
    "said", "says", "told", "stressed", "added", "noted", "explained", "insisted", "stated", "claimed", "warned",
    "declared", "argued", "emphasized", "emphasised", "underlined", "pointed out", "announced", "asserted",
    "reiterated", "confirmed", "believes", "suggested", "accused", "alleged", "wrote", "recalled", "admitted",
    "commented", "remarked", "continued", "concluded", "maintained", "has said", "has stated", "expressed",
    "voiced", "dismissed", "denied", "denies", "demanded", "threatened", "pledged", "fears", "is afraid",
    "been accusing", "accuses", "vowed", "promised", "predicted",
)
_VERB_RE = "|".join(sorted((re.escape(v) for v in SPEECH_VERBS), key=len, reverse=True))
_AUX = r"(?:(?:has|have|had|repeatedly|previously|also|earlier|once again|again|reportedly|for years|long)\s+)*"
_NP = r"(?P<speaker>(?:the\s+|a\s+)?[A-Z][\w'’.\-]*(?:\s+(?:[A-Z][\w'’.\-]*|of|the|for|and|de|von|al-)){0,9}|[Hh]e|[Ss]he|[Tt]hey)"
_NP_LOWER = r"(?P<speaker>(?:the|a)\s+[\w'’\-]+(?:\s+[\w'’\-]+){0,4}|[A-Z][\w'’.\-]*(?:\s+(?:[A-Z][\w'’.\-]*|[a-z]+)){0,6}|he|she|they)"

_SPEAKER_PATTERNS = [
    # "…," Peskov told reporters.   /   "…," said Peskov.
    re.compile(r"[\"”»’]\s*[,—–-]*\s*" + _NP_LOWER + r"\s+" + _AUX + r"(?:" + _VERB_RE + r")\b[^\"“”]*$"),
    re.compile(r"[\"”»’]\s*[,—–-]*\s*(?:" + _VERB_RE + r")\s+" + _NP + r"[^\"“”]*$"),
    # According to the spokesman, …   /   according to him
    re.compile(r"\b[Aa]ccording to\s+" + _NP_LOWER.replace("(?:the|a)", "(?:the|a|an)") + r"\s*[,.]"),
    re.compile(r"\b[Aa]ccording to\s+(?P<speaker>him|her|them)\b"),
    # …, Kremlin spokesman Dmitry Peskov said Monday.
    re.compile(r",\s+" + _NP_LOWER + r"\s+" + _AUX + r"(?:" + _VERB_RE + r")(?:\s+\w+){0,4}\s*[.!]$"),
    # Peskov said that …   /   Moscow has repeatedly stated that …   /   He stated that …
    re.compile(r"^(?:[A-Z][A-Z .'-]+\([^)]*\)\s*[—–-]\s*)?" + _NP_LOWER + r"\s+" + _AUX + r"(?:" + _VERB_RE + r")\b(?:\s+\w+){0,3}?\s*(?:that\b|,|:|[\"“])"),
    re.compile(r"^" + _NP + r"\s+" + _AUX + r"(?:" + _VERB_RE + r")\b"),
    re.compile(r"^" + _NP_LOWER + r"\s+" + _AUX + r"(?:" + _VERB_RE + r")\b"),
    # Speaking at the conference, Secretary General Jens Stoltenberg said that …   /   Last year, Moscow announced …
    re.compile(r"^[^,\"“”]{3,80},\s+" + _NP + r"\s+" + _AUX + r"(?:" + _VERB_RE + r")\s+(?:that\b|,|:|[\"“])"),
    re.compile(r"^[^,\"“”]{3,40},\s+" + _NP + r"\s+" + _AUX + r"(?:" + _VERB_RE + r")\b"),
    # Moscow, however, denies …
    re.compile(r"^" + _NP + r",\s+\w+,\s+" + _AUX + r"(?:" + _VERB_RE + r")\b"),
    # …, Dmitry Peskov, the press secretary of the President, said in an interview …
    re.compile(r",\s+(?P<speaker>[A-Z][\w'’\-]+(?:\s+[A-Z][\w'’\-]+){1,2}),\s+(?:the\s+)?[a-z][^,]{3,100},\s+" + _AUX + r"(?:" + _VERB_RE + r")\b"),
]
_TITLE_WORDS = {"Secretary", "General", "President", "Minister", "Spokesman", "Spokeswoman", "Chief", "Ambassador",
                "Deputy", "Prime", "Foreign", "Defense", "Defence", "Press", "Head", "Director", "Chairman", "Senator"}
_TRAILING_AUX = re.compile(r"(?:\s+(?:has|have|had|also|repeatedly|previously|earlier|again|reportedly|once))+$", re.I)
_PRONOUNS = {"he", "she", "they", "him", "her", "them"}
_SENT_END = re.compile(r"[.!?…]+")
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]{2,30}(?:,\s*[A-Z][\w .]+)?\s*\([^)]{2,30}\)\s*[—–-]+\s*")


@dataclass(frozen=True)
class Sentence:
    text: str
    index: int
    is_quote: bool


def _quote_spans(par: str) -> list[tuple[int, int]]:
    """Character spans of balanced quotations (curly pairs, or straight quotes paired in order)."""
    spans: list[tuple[int, int]] = []
    stack: list[int] = []
    straight_open: int | None = None
    for i, ch in enumerate(par):
        if ch in OPEN_QUOTES:
            stack.append(i)
        elif ch in CLOSE_QUOTES and stack:
            spans.append((stack.pop(), i))
        elif ch == '"':
            if straight_open is None:
                straight_open = i
            else:
                spans.append((straight_open, i))
                straight_open = None
    return spans


def _is_abbreviation(par: str, dot: int) -> bool:
    m = re.search(r"([\w.]+)\.$", par[: dot + 1])
    if not m:
        return False
    word = m.group(1).lower()
    if word in ABBREVIATIONS:
        return True
    return len(word) == 1 and word.isalpha() and par[dot - 1].isupper()  # initial: "J. Smith", "U.S."


def split_sentences(text: str, max_words: int = 90) -> list[Sentence]:
    """Split cleaned text (one paragraph per line) into sentences, keeping quotations whole."""
    out: list[Sentence] = []
    for par in (p.strip() for p in text.split("\n")):
        if not par:
            continue
        spans = _quote_spans(par)
        inside = [False] * len(par)
        for a, b in spans:
            for k in range(a, b):
                inside[k] = True
        pieces: list[str] = []
        start = 0
        for m in _SENT_END.finditer(par):
            end = m.end()
            while end < len(par) and par[end] in "\"'”’»)":
                end += 1
            if end < len(par) and not par[end].isspace():
                continue
            nxt = par[end:].lstrip()
            if nxt and not (nxt[0].isupper() or nxt[0].isdigit() or nxt[0] in "\"“«'‘("):
                continue
            if m.group() == "." and _is_abbreviation(par, m.start()):
                continue
            if inside[m.start()] and end < len(par) and inside[min(end, len(par) - 1)]:
                continue
            if inside[m.start()] and par[m.end():end] == "":
                continue  # sentence end inside a quote that goes on
            pieces.append(par[start:end].strip())
            start = end
        if start < len(par):
            pieces.append(par[start:].strip())
        for piece in pieces:
            if len(piece.split()) > max_words:  # a runaway quote: fall back to plain sentence ends
                parts = re.split(r"(?<=[.!?])\s+(?=[A-Z\"“])", piece)
            else:
                parts = [piece]
            for part in parts:
                if part:
                    q = any(c in part for c in OPEN_QUOTES + CLOSE_QUOTES) or part.count('"') >= 2
                    out.append(Sentence(part, len(out), q))
    return out


def _clean_speaker(name: str) -> str:
    name = re.sub(r"^(?:the|a|an)\s+", "", name.strip(" ,.;:"), flags=re.I)
    name = _TRAILING_AUX.sub("", name)
    return re.sub(r"\s+", " ", name)


def _person(name: str) -> str | None:
    """Trailing run of capitalised words ("Kremlin spokesman Dmitry Peskov" -> "Dmitry Peskov")."""
    m = re.search(r"((?:[A-Z][\w'’\-]+\s+){0,2}[A-Z][\w'’\-]+)$", name)
    if not m:
        return None
    words = [w for w in m.group(1).split() if not w.isupper() and w not in _TITLE_WORDS]
    before = name[: m.start(1)].split()
    if len(words) == 3 and before and before[-1].lower() in {"of", "to", "for", "in"}:
        words = words[1:]  # "Press Secretary of the President of Russia Dmitry Peskov"
    return " ".join(words) if words else None


class SpeakerResolver:
    """Finds the speaker of a sentence; resolves pronouns, surnames and roles within one article."""

    def __init__(self) -> None:
        self.last: str | None = None
        self.people: dict[str, str] = {}  # surname or role -> full name

    def _register(self, phrase: str) -> str:
        by = re.search(r"\bby\s+((?:[A-Z][\w'’\-]+\s+){0,2}[A-Z][\w'’\-]+)$", phrase)  # "a statement by Putin"
        if by:
            phrase = by.group(1)
        named = _person(phrase)
        if not named or len(named.split()) < 2:  # a role, not a name: "the bloc's secretary general"
            head = re.split(r"\s+(?:for|of|to)\s+", phrase.lower())[0]
            head = re.sub(r"^.*[’']s\s+", "", head)  # "Vladimir Putin's spokesman" -> "spokesman"
            for role, person in self.people.items():
                if role == role.lower() and (head == role or head.endswith(" " + role)):
                    return person
        person = named
        if person and len(person.split()) >= 2 and person.split()[0] not in {"Kremlin", "Russian", "Foreign"}:
            self.people[person.split()[-1]] = person
            role = phrase[: len(phrase) - len(person)].strip().lower()
            if role:
                self.people[role] = person
            return person
        if phrase in self.people:
            return self.people[phrase]
        if phrase.lower() in self.people:
            return self.people[phrase.lower()]
        return phrase

    def observe(self, text: str) -> None:
        """Learn names from any sentence ("Kremlin spokesman Dmitry Peskov")."""
        for m in re.finditer(r"\b([a-z]+\s+)?((?i:spokes(?:man|woman|person)|minister|president|secretary general|chief|press secretary))\s+((?:[A-Z][\w'’\-]+\s+){1,2}[A-Z][\w'’\-]+)", text):
            person = " ".join(w for w in m.group(3).split() if w not in _TITLE_WORDS)
            if len(person.split()) < 2:
                continue
            self.people[person.split()[-1]] = person
            self.people[((m.group(1) or "") + m.group(2)).lower()] = person
            self.people.setdefault(m.group(2).lower(), person)
        for m in re.finditer(r"((?:[A-Z][\w'’\-]+\s+)[A-Z][\w'’\-]+),\s+(?:the\s+)?((?:press secretary|spokesman|spokeswoman)[^,]*),", text):
            self.people[m.group(1).split()[-1]] = m.group(1)
            self.people[m.group(2).lower()] = m.group(1)
            self.people.setdefault(re.split(r"\s+(?:for|of|to)\s+", m.group(2).lower())[0], m.group(1))
        for key in ("press secretary", "spokesman", "spokeswoman", "spokesperson"):  # one office, several names
            if key in self.people:
                for alias in ("press secretary", "spokesman", "spokeswoman", "spokesperson"):
                    self.people.setdefault(alias, self.people[key])
                break

    def speaker(self, text: str) -> str | None:
        self.observe(text)
        for pat in _SPEAKER_PATTERNS:
            m = pat.search(text)
            if not m:
                continue
            raw = m.group("speaker")
            if raw.lower() in _PRONOUNS:
                return self.last
            cleaned = _clean_speaker(raw)
            if not cleaned or cleaned.lower() in {"it", "this", "that", "there"}:
                continue
            name = self._register(cleaned)
            self.last = name
            return name
        return None


_ATTRIBUTION_TRAIL = re.compile(r"[,]?\s*[\"”»]?\s*[,—–-]*\s*(?:[\w'’.\-]+\s+){1,8}?" + _AUX + r"(?:" + _VERB_RE + r")(?:\s+\w+){0,4}\s*[.!]$")
# What every trailing attribution ends with (a speech verb, at most 4 words, then . or !), matched on the reversed
# sentence at its start: a necessary condition for _ATTRIBUTION_TRAIL that costs one anchored match instead of a
# search with backtracking at every position (8 s -> well under 1 s for 50k claims).
_TRAIL_HINT = re.compile(r"[.!]\s*(?:\w+\s+){0,4}(?:" + "|".join(re.escape(v[::-1]) for v in SPEECH_VERBS) + r")")
_ATTRIBUTION_HEAD = re.compile(
    r"^(?:[Aa]ccording to [^,]{1,60},\s*|[Aa]s\s+[^,]{1,60}?\s+" + _AUX + r"(?:long\s+)?(?:" + _VERB_RE + r"|warned)\s*,\s*"
    r"|(?:[\w'’.\-]+\s+){1,8}?" + _AUX + r"(?:" + _VERB_RE + r")"
    r"(?:\s+(?:that\s+|,\s*)|(?:\s+[\w'’\-]+){0,3}\s*:\s*))")


def strip_attribution(text: str) -> str:
    """The claim without its attribution and quote marks ("X said that ..." -> "..."), for embedding."""
    s = _DATELINE.sub("", text)
    head = _ATTRIBUTION_HEAD.sub("", s, count=1)
    if head != s and len(head.split()) >= 4:
        s = head
    trail = _ATTRIBUTION_TRAIL.sub(".", s, count=1) if _TRAIL_HINT.match(s[::-1]) else s
    if trail != s and len(trail.split()) >= 4:
        s = trail
    s = re.sub(r"[\"“”«»]", "", s).strip(" ,")
    return s[0].upper() + s[1:] if s else s


def is_claim(sentence: str, cfg: ClaimsConfig, title: str | None = None) -> bool:
    """Assertive statement of reasonable length: not a question, fragment, heading or byline."""
    s = sentence.strip()
    words = s.split()
    if not cfg.min_words <= len(words) <= cfg.max_words:
        return False
    if s.rstrip("\"'”’») ").endswith("?"):
        return False
    if not re.search(r"[.!…][\"'”’»)]*$", s):
        return False
    if title and s.rstrip(".").lower() == title.rstrip(".").lower():
        return False
    if re.match(r"^(by|photo|image|video|source|tags?|read more|follow)\b", s, re.I):
        return False
    if sum(w[:1].isupper() for w in words) > 0.8 * len(words):  # title-cased heading
        return False
    return sum(c.isalpha() for c in s) >= 0.6 * len(s)


def claim_id(article_id: str, index: int, text: str) -> str:
    return hashlib.sha256(f"{article_id}\x00{index}\x00{text}".encode()).hexdigest()[:20]


def extract_claims(articles: pd.DataFrame, cfg: ClaimsConfig, unit: str = "article", strip: bool = True) -> pd.DataFrame:
    """One row per claim: claim_id, article_id, sentence_index, text, embed_text, speaker, is_quote, outlet,
    published_at, source. With ``unit='claim'`` each record's cleaned text is one claim."""
    rows = []
    for art in articles.itertuples(index=False):
        title = art.title if isinstance(art.title, str) else None
        resolver = SpeakerResolver()
        if unit == "claim":
            body = " ".join(art.clean_text.split()) or " ".join(str(art.text).split())
            sentences = [Sentence(body, 0, any(c in body for c in OPEN_QUOTES + '"'))]
        else:
            sentences = split_sentences(art.clean_text, cfg.max_words)
        for sent in sentences:  # first pass: learn who is who ("Kremlin spokesman Dmitry Peskov")
            resolver.observe(sent.text)
        for sent in sentences:
            speaker = resolver.speaker(sent.text)
            if speaker is None and sent.text[:1] in "\"“«" and resolver.last:
                speaker = resolver.last  # a quote paragraph continuing the last speaker's words
            if unit != "claim" and not is_claim(sent.text, cfg, title):
                continue
            text = _DATELINE.sub("", sent.text) if unit != "claim" else sent.text
            rows.append({
                "claim_id": claim_id(art.article_id, sent.index, text),
                "article_id": art.article_id,
                "sentence_index": sent.index,
                "text": text,
                "embed_text": strip_attribution(text) if strip else text,
                "speaker": speaker,
                "is_quote": sent.is_quote,
                "outlet": art.outlet,
                "published_at": art.published_at,
                "source": art.source,
            })
    cols = ["claim_id", "article_id", "sentence_index", "text", "embed_text", "speaker", "is_quote", "outlet",
            "published_at", "source"]
    df = pd.DataFrame(rows, columns=cols)
    df["published_at"] = pd.to_datetime(df["published_at"]).astype("datetime64[us]")
    df["sentence_index"] = df["sentence_index"].astype("int32")
    df["is_quote"] = df["is_quote"].astype(bool)
    return df


def merge_claims(existing: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Claims already stored plus the new ones (assignment columns are recomputed by the run)."""
    cols = list(new.columns)
    if existing is None or existing.empty:
        return new.reset_index(drop=True)
    old = existing[cols]
    out = pd.concat([old, new[~in_ids(new["claim_id"], old["claim_id"])]], ignore_index=True)
    out["published_at"] = pd.to_datetime(out["published_at"]).astype("datetime64[us]")
    return out
