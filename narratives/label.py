"""Labels for narratives and themes: class-based TF-IDF keywords, representative claims (centrality + MMR)
and a short readable label."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

EXTRA_STOP = {"said", "says", "told", "according", "also", "would", "could", "one", "two", "year", "years", "new"}
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | EXTRA_STOP)


def term_counts(docs: list[str]):
    """(terms, sparse docs x terms counts) of unigrams and bigrams without stop words; terms in sorted order.
    Bigrams never span two documents."""
    from scipy import sparse

    vec = CountVectorizer(stop_words=STOP_WORDS, ngram_range=(1, 2), token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z\-]+\b",
                          lowercase=True, dtype=np.float64)
    try:
        counts = vec.fit_transform(docs).tocsr()
    except ValueError:  # empty vocabulary
        return np.array([], dtype=object), sparse.csr_matrix((len(docs), 0))
    return np.array(vec.get_feature_names_out()), counts


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


def class_tfidf_keywords(docs: list[str], labels: np.ndarray, n_keywords: int, counted=None) -> dict[int, list[str]]:
    """Top terms per class by class-based TF-IDF.

    ``labels`` may contain -1 (unassigned): it counts as a class for the idf but gets no keywords. ``counted``:
    ``term_counts(docs)`` when the caller already has it.
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
        if c < 0:
            continue
        lo, hi = scores.indptr[row], scores.indptr[row + 1]
        cols, vals = scores.indices[lo:hi], scores.data[lo:hi]
        order = cols[np.lexsort((cols, -vals))]  # best first; ties by term order, as a dense argsort would
        picked: list[str] = []
        for i in order:
            t = str(terms[i])
            if any(t in p.split() or p in t.split() for p in picked if " " in t or " " in p):
                continue  # skip an n-gram that repeats a picked word
            picked.append(t)
            if len(picked) == n_keywords:
                break
        out[c] = picked
    return out


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
) -> dict[int, NarrativeLabel]:
    """Keywords, representative claim indices and a label for every cluster id >= 0 (``counted``:
    ``term_counts(docs)`` when the caller already has it)."""
    labels = np.asarray(labels)
    kw = class_tfidf_keywords(docs, labels, n_keywords, counted)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(len(centroids) + 1))
    out: dict[int, NarrativeLabel] = {}
    for c in range(len(centroids)):
        idx = order[bounds[c]:bounds[c + 1]]
        members = [docs[i] for i in idx]
        local = mmr_select(X[idx], centroids[c], n_representatives, diversity, members)
        reps = [int(idx[i]) for i in local]
        label = short_label(docs[reps[0]]) if reps else ", ".join(kw.get(c, [])[:4])
        out[c] = NarrativeLabel(keywords=kw.get(c, []), representative_idx=reps, label=label)
    return out

