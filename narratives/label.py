"""Labels for narratives and themes: class-based TF-IDF keywords, representative claims (centrality + MMR)
and a short readable label."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import numpy as np

# scikit-learn's ENGLISH_STOP_WORDS (sklearn/feature_extraction/_stop_words.py, BSD-3-Clause), spelled out so that
# a run does not import scikit-learn (about 0.6 s of every cold process); tests check it still equals sklearn's.
SKLEARN_STOP_WORDS = frozenset("""
    a about above across after afterwards again against all almost alone along already also although always am
    among amongst amoungst amount an and another any anyhow anyone anything anyway anywhere are around as at
    back be became because become becomes becoming been before beforehand behind being below beside besides
    between beyond bill both bottom but by call can cannot cant co con could couldnt cry de describe detail do
    done down due during each eg eight either eleven else elsewhere empty enough etc even ever every everyone
    everything everywhere except few fifteen fifty fill find fire first five for former formerly forty found
    four from front full further get give go had has hasnt have he hence her here hereafter hereby herein
    hereupon hers herself him himself his how however hundred i ie if in inc indeed interest into is it its
    itself keep last latter latterly least less ltd made many may me meanwhile might mill mine more moreover
    most mostly move much must my myself name namely neither never nevertheless next nine no nobody none noone
    nor not nothing now nowhere of off often on once one only onto or other others otherwise our ours ourselves
    out over own part per perhaps please put rather re same see seem seemed seeming seems serious several she
    should show side since sincere six sixty so some somehow someone something sometime sometimes somewhere
    still such system take ten than that the their them themselves then thence there thereafter thereby
    therefore therein thereupon these they thick thin third this those though three through throughout thru thus
    to together too top toward towards twelve twenty two un under until up upon us very via was we well were
    what whatever when whence whenever where whereafter whereas whereby wherein whereupon wherever whether which
    while whither who whoever whole whom whose why will with within without would yet you your yours yourself
    yourselves
""".split())
EXTRA_STOP = {"said", "says", "told", "according", "also", "would", "could", "one", "two", "year", "years", "new"}
STOP_WORDS = sorted(SKLEARN_STOP_WORDS | EXTRA_STOP)
_STOP = frozenset(STOP_WORDS)
_TOKEN = re.compile(r"(?u)\b[a-zA-Z][a-zA-Z\-]+\b")


def term_counts(docs: list[str]):
    """(terms, sparse docs x terms counts) of unigrams and bigrams without stop words; terms in sorted order.
    Bigrams never span two documents. The same matrix as scikit-learn's ``CountVectorizer(stop_words=STOP_WORDS,
    ngram_range=(1, 2), token_pattern=...)`` (lowercased; stop words dropped before the bigrams are formed), in
    about half its time and without importing it."""
    from scipy import sparse

    terms: list[str] = []
    lens: list[int] = []
    for doc in docs:
        toks = doc_terms(doc)
        terms += toks
        lens.append(len(toks))
    vocab = sorted(set(terms))
    index = {t: i for i, t in enumerate(vocab)}
    cols = np.fromiter(map(index.__getitem__, terms), dtype=np.int64, count=len(terms))
    rows = np.repeat(np.arange(len(docs)), lens)
    counts = sparse.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(docs), len(vocab)))
    counts.sum_duplicates()
    return np.array(vocab, dtype=object), counts


def doc_terms(doc: str, _find=_TOKEN.findall) -> list[str]:
    """One document's terms as :func:`term_counts` counts them: its words without stop words, then its bigrams.
    Terms are ASCII (the token pattern), so they sort alike by code point (Python) and by byte (DuckDB)."""
    toks = [w for w in _find(doc.lower()) if w not in _STOP]
    if len(toks) > 1:
        toks += [f"{a} {b}" for a, b in zip(toks, toks[1:])]
    return toks


# Names the tokenisation above; stored term lists made by another are not used (the term cache, narratives/caches.py).
TERMS_VERSION = "uni+bi:" + hashlib.sha256((_TOKEN.pattern + "\n" + " ".join(STOP_WORDS)).encode()).hexdigest()[:16]


class TermCache(Protocol):
    """Term lists by text hash, as ids into a vocabulary that only grows (narratives/caches.py has the DuckDB one)."""

    def term_ids(self, version: str, hashes: Sequence[str], terms_of: Callable[[list[int]], list[list[str]]]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(the term ids of the texts, concatenated in the order of ``hashes``; each text's number of terms; the
        vocabulary's ids and terms in the terms' sorted order). Texts it lacks are stored first, their terms
        given by ``terms_of(positions in hashes)``."""


def cached_term_counts(docs: Sequence[str], hashes: Sequence[str], cache: TermCache):
    """:func:`term_counts` of ``docs`` (``hashes``: their text hashes), tokenising only the texts ``cache`` does not
    hold yet (and storing their terms): the same terms and the same matrix, without reading every text again."""
    from scipy import sparse

    flat, lens, ids, terms = cache.term_ids(TERMS_VERSION, hashes, lambda at: [doc_terms(docs[i]) for i in at])
    rank = np.full(int(max(ids.max(initial=-1), flat.max(initial=-1))) + 1, -1, dtype=np.int64)
    used = np.zeros(len(rank), dtype=bool)
    used[flat] = True
    keep = used[ids]  # only the terms these docs use, as term_counts has them
    n_terms = int(keep.sum())
    rank[ids[keep]] = np.arange(n_terms)
    rows = np.repeat(np.arange(len(docs)), lens)
    counts = sparse.csr_matrix((np.ones(len(flat)), (rows, rank[flat])), shape=(len(docs), n_terms))
    counts.sum_duplicates()
    return np.asarray(terms[keep], dtype=object), counts


def class_counts(counts, labels: np.ndarray):
    """(sorted distinct labels, sparse classes x terms sums of the rows of ``counts`` per label)."""
    from scipy import sparse

    classes, inverse = np.unique(np.asarray(labels), return_inverse=True)
    n = len(inverse)
    G = sparse.csr_matrix((np.ones(n), (inverse.ravel(), np.arange(n))), shape=(len(classes), n))
    return classes, (G @ counts).tocsr()


def ctfidf(counts):
    """Class-based TF-IDF (BERTopic's c-TF-IDF) of a sparse classes x terms count matrix: tf within the class,
    idf over classes (``log(1 + avg words per class / term count)``)."""
    from scipy import sparse

    words_per_class = np.asarray(counts.sum(axis=1)).ravel()
    words_per_class[words_per_class == 0] = 1.0
    avg_words = counts.sum() / max(counts.shape[0], 1)
    idf = np.log(1.0 + avg_words / np.maximum(np.asarray(counts.sum(axis=0)).ravel(), 1.0))
    return (sparse.diags(1.0 / words_per_class) @ counts @ sparse.diags(idf)).tocsr()


def class_tfidf_keywords(docs: list[str], labels: np.ndarray, n_keywords: int, counted=None,
                         only: set[int] | None = None) -> dict[int, list[str]]:
    """Top terms per class by class-based TF-IDF.

    ``labels`` may contain -1 (unassigned): it counts as a class for the idf but gets no keywords. ``counted``:
    ``term_counts(docs)`` when the caller already has it. ``only``: the classes to pick keywords for (every class
    still counts for the idf).
    """
    labels = np.asarray(labels)
    if not docs or not len(labels):
        return {}
    terms, counts = counted if counted is not None else term_counts(docs)
    classes, by_class = class_counts(counts, labels)
    classes = classes.tolist()
    scores = ctfidf(by_class)
    out: dict[int, list[str]] = {}
    for row, c in enumerate(classes):
        if c < 0 or only is not None and c not in only:
            continue
        lo, hi = scores.indptr[row], scores.indptr[row + 1]
        cols, vals = scores.indices[lo:hi], scores.data[lo:hi]
        order = cols[np.lexsort((cols, -vals))]  # best first; ties by term order, as a dense argsort would
        out[c] = _pick_keywords((str(terms[i]) for i in order), n_keywords)
    return out


def _pick_keywords(ranked, n: int) -> list[str]:
    """The first ``n`` of ``ranked`` terms, skipping an n-gram that repeats a word of a picked one: a bigram
    holding a picked word, or a word that a picked bigram holds (terms are words and bigrams; longer n-grams are
    checked against every picked term)."""
    picked: list[str] = []
    words: set[str] = set()  # picked words
    in_bigrams: set[str] = set()  # the words of picked bigrams
    for t in ranked:
        parts = t.split()
        if len(parts) > 2 or any(p.count(" ") > 1 for p in picked):
            if any(t in p.split() or p in parts for p in picked if " " in t or " " in p):
                continue
        elif len(parts) == 2 and (parts[0] in words or parts[1] in words) or len(parts) == 1 and t in in_bigrams:
            continue
        picked.append(t)
        if len(parts) > 1:
            in_bigrams.update(parts)
        else:
            words.add(t)
        if len(picked) == n:
            break
    return picked


def mmr_select(X: np.ndarray, centroid: np.ndarray, k: int, diversity: float, texts: list[str] | None = None) -> list[int]:
    """Indices (into X) of up to k rows: most central first, then Maximal Marginal Relevance for diversity."""
    if len(X) == 0:
        return []
    rel = X @ centroid
    chosen: list[int] = []
    seen_text: set[str] = set()
    cand = list(np.argsort(-rel, kind="stable"))
    lam = 1.0 - diversity
    while cand and len(chosen) < k:
        if not chosen:
            best = cand[0]
        else:
            S = X[cand] @ X[chosen].T
            score = lam * rel[cand] - (1 - lam) * S.max(axis=1)
            best = cand[int(np.argmax(score))]
        cand.remove(best)
        key = texts[best].strip().lower() if texts else None
        if key is not None and key in seen_text:
            continue
        if key is not None:
            seen_text.add(key)
        chosen.append(int(best))
    return chosen


def short_label(text: str, max_words: int = 12) -> str:
    """A readable label from a claim: first clause-ish span of at most ``max_words`` words."""
    s = re.sub(r"\s+", " ", text).strip().rstrip(".")
    words = s.split()
    if len(words) <= max_words:
        return s
    cut = " ".join(words[:max_words])
    m = re.match(r"(.{25,}?)[,;:–—-]\s", cut)
    head = m.group(1) if m and len(m.group(1).split()) >= 6 else cut
    return head.rstrip(",;:") + "…"


@dataclass(frozen=True)
class NarrativeLabel:
    keywords: list[str]
    representative_idx: list[int]  # indices into the claims
    label: str


def label_narratives(
    docs: list[str], X: np.ndarray, labels: np.ndarray, centroids: np.ndarray,
    n_keywords: int = 8, n_representatives: int = 3, diversity: float = 0.5, counted=None,
    only: set[int] | None = None,
) -> dict[int, NarrativeLabel]:
    """Keywords, representative claim indices and a label for every cluster id >= 0, or for the ids in ``only``
    (``counted``: ``term_counts(docs)`` when the caller already has it)."""
    labels = np.asarray(labels)
    kw = class_tfidf_keywords(docs, labels, n_keywords, counted, only)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(len(centroids) + 1))
    out: dict[int, NarrativeLabel] = {}
    for c in range(len(centroids)) if only is None else sorted(only):
        idx = order[bounds[c]:bounds[c + 1]]
        members = [docs[i] for i in idx]
        local = mmr_select(X[idx], centroids[c], n_representatives, diversity, members)
        reps = [int(idx[i]) for i in local]
        label = short_label(docs[reps[0]]) if reps else ", ".join(kw.get(c, [])[:4])
        out[c] = NarrativeLabel(keywords=kw.get(c, []), representative_idx=reps, label=label)
    return out

