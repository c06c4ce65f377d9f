"""Syndication: find reprints (exact and near-duplicate articles, e.g. across outlets) and link each copy to
the earliest original.

Near-duplicates are found with MinHash over word shingles and LSH banding, then verified with the exact
Jaccard similarity of the shingle sets (``>= threshold``). Copies of one original form a group; the original is
its earliest dated member (undated members come last; ties by article id). A copy's claims whose text also
appears in the original point to the original claim (``claims.original_claim_id``): they are clustered once,
inherit the original's narrative, and are still counted for the copy's outlet.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict

import numpy as np
import pandas as pd

from narratives.config import SyndicationConfig
from narratives.schemas import CLAIMS, REPRINTS

_MERSENNE = np.uint64((1 << 61) - 1)
R = REPRINTS.c


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def shingles(text: str, k: int) -> set[int]:
    """Hashed k-word shingles (a text shorter than k words gives one shingle of all its words)."""
    w = _words(text)
    grams = [" ".join(w[i:i + k]) for i in range(max(1, len(w) - k + 1))] if w else []
    return {int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") >> 3 for g in grams}


def minhash(sets: list[set[int]], num_perm: int, seed: int = 1) -> np.ndarray:
    """MinHash signatures (len(sets) x num_perm) with universal hashing (a*x + b) mod (2^61 - 1)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, int(_MERSENNE), size=num_perm, dtype=np.uint64)
    b = rng.integers(0, int(_MERSENNE), size=num_perm, dtype=np.uint64)
    sig = np.full((len(sets), num_perm), np.iinfo(np.uint64).max, dtype=np.uint64)
    for i, s in enumerate(sets):
        if not s:
            continue
        x = np.fromiter(s, dtype=np.uint64)[:, None]
        with np.errstate(over="ignore"):
            sig[i] = ((a * x + b) % _MERSENNE).min(axis=0)
    return sig


def _candidates(sig: np.ndarray, bands: int) -> set[tuple[int, int]]:
    rows = sig.shape[1] // bands
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        chunk = np.ascontiguousarray(sig[:, band * rows:(band + 1) * rows])
        for i in range(len(sig)):
            buckets[chunk[i].tobytes()].append(i)
        for members in buckets.values():
            if 1 < len(members) <= 200:
                for x in range(len(members)):
                    for y in range(x + 1, len(members)):
                        pairs.add((members[x], members[y]))
    return pairs


def _jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def find_reprints(articles: pd.DataFrame, cfg: SyndicationConfig) -> pd.DataFrame:
    """Rows of ``reprints`` for every article that copies an earlier one (exactly or nearly)."""
    if not cfg.enabled or len(articles) < 2:
        return REPRINTS.schema.empty_table().to_pandas()
    ids = articles["article_id"].tolist()
    texts = articles["clean_text"].fillna("").tolist()
    norm = [" ".join(_words(t)) for t in texts]
    sets = [shingles(t, cfg.shingle_words) for t in texts]
    parent = list(range(len(ids)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    by_text: dict[str, int] = {}
    for i, t in enumerate(norm):  # exact copies, whatever their length
        if t:
            if t in by_text:
                union(i, by_text[t])
            else:
                by_text[t] = i
    long_enough = [i for i, t in enumerate(norm) if len(t.split()) >= cfg.min_words]
    if len(long_enough) > 1:
        sig = minhash([sets[i] for i in long_enough], cfg.num_perm, cfg.seed)
        for x, y in _candidates(sig, cfg.bands):
            i, j = long_enough[x], long_enough[y]
            if find(i) != find(j) and _jaccard(sets[i], sets[j]) >= cfg.threshold:
                union(i, j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(ids)):
        groups[find(i)].append(i)
    published = articles["published_at"].tolist()
    outlets = articles["outlet"].tolist()
    rows = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: (pd.isna(published[i]), published[i] if not pd.isna(published[i]) else 0, ids[i]))
        orig = members[0]
        for i in members[1:]:
            sim = 1.0 if norm[i] == norm[orig] else _jaccard(sets[i], sets[orig])
            rows.append({R.article_id: ids[i], R.original_article_id: ids[orig], R.similarity: round(sim, 4),
                         R.outlet: outlets[i], R.original_outlet: outlets[orig]})
    out = pd.DataFrame(rows, columns=REPRINTS.columns)
    return out.sort_values(R.article_id, kind="stable").reset_index(drop=True)


def link_copies(claims: pd.DataFrame, reprints: pd.DataFrame) -> pd.DataFrame:
    """Set ``original_claim_id`` on claims of reprinted articles whose text appears in the original article."""
    C = CLAIMS.c
    out = claims.copy()
    out[C.original_claim_id] = None
    if reprints.empty or claims.empty:
        return out
    key = out[C.text].map(lambda t: " ".join(_words(t)))
    first_by_article_text: dict[tuple[str, str], str] = {}
    for cid, aid, k in zip(out[C.claim_id], out[C.article_id], key):
        first_by_article_text.setdefault((aid, k), cid)
    original_of = dict(zip(reprints[R.article_id], reprints[R.original_article_id]))
    links = []
    for aid, k in zip(out[C.article_id], key):
        orig = original_of.get(aid)
        links.append(first_by_article_text.get((orig, k)) if orig is not None else None)
    out[C.original_claim_id] = links
    return out
