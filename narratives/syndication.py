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


_MIX = np.uint64(0x9E3779B97F4A7C15)


def shingles(text: str | list[str], k: int, word_hash: dict[str, int] | None = None) -> set[int]:
    """Hashed k-word shingles of a text (or of its words) (a text shorter than k words gives one shingle of all
    its words). Each word is hashed once (blake2b, stable across processes; ``word_hash`` caches them across
    calls) and the k hashes of a shingle are combined in order with numpy."""
    w = _words(text) if isinstance(text, str) else text
    if not w:
        return set()
    cache = word_hash if word_hash is not None else {}
    h = np.empty(len(w), dtype=np.uint64)
    for i, x in enumerate(w):
        v = cache.get(x)
        if v is None:
            v = cache[x] = int.from_bytes(hashlib.blake2b(x.encode(), digest_size=8).digest(), "little")
        h[i] = v
    k = min(k, len(w))
    n = len(w) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            acc = acc * _MIX + h[j:j + n]
    return set((acc >> np.uint64(3)).tolist())


def minhash(sets: list[set[int]], num_perm: int, seed: int = 1, block: int = 8192) -> np.ndarray:
    """MinHash signatures (len(sets) x num_perm) with universal hashing (a*x + b) mod (2^61 - 1); an empty set
    keeps the maximum value. Computed for about ``block`` shingles at a time."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, int(_MERSENNE), size=num_perm, dtype=np.uint64)
    b = rng.integers(0, int(_MERSENNE), size=num_perm, dtype=np.uint64)
    sig = np.full((len(sets), num_perm), np.iinfo(np.uint64).max, dtype=np.uint64)
    sizes = np.array([len(x) for x in sets], dtype=np.int64)
    ends = np.cumsum(sizes)
    i = 0
    while i < len(sets):
        j = max(i + 1, int(np.searchsorted(ends, (ends[i - 1] if i else 0) + block, side="right")))
        rows = [r for r in range(i, j) if sizes[r]]
        if rows:
            x = np.fromiter((v for r in rows for v in sets[r]), dtype=np.uint64, count=int(sizes[rows].sum()))[:, None]
            with np.errstate(over="ignore"):
                y = a * x + b
            hashed = (y & _MERSENNE) + (y >> np.uint64(61))  # y mod (2^61 - 1) without a division
            hashed -= np.where(hashed >= _MERSENNE, _MERSENNE, np.uint64(0))
            starts = np.concatenate([[0], np.cumsum(sizes[rows])[:-1]])
            sig[rows] = np.minimum.reduceat(hashed, starts, axis=0)
        i = j
    return sig


def _candidates(sig: np.ndarray, bands: int, max_bucket: int = 200) -> set[tuple[int, int]]:
    """Pairs of rows whose signatures agree on all rows of at least one band (buckets larger than
    ``max_bucket`` are skipped: boilerplate, not reprints)."""
    rows = sig.shape[1] // bands
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        chunk = np.ascontiguousarray(sig[:, band * rows:(band + 1) * rows])
        keys = chunk.view(np.dtype((np.void, chunk.dtype.itemsize * rows))).ravel()
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        inverse = inverse.ravel()
        shared = np.flatnonzero((counts > 1) & (counts <= max_bucket))
        if not len(shared):
            continue
        in_shared = np.isin(inverse, shared)
        idx = np.flatnonzero(in_shared)
        idx = idx[np.argsort(inverse[idx], kind="stable")]
        bounds = np.flatnonzero(np.diff(inverse[idx])) + 1
        for members in np.split(idx, bounds):
            m = members.tolist()
            for x in range(len(m)):
                for y in range(x + 1, len(m)):
                    pairs.add((m[x], m[y]))
    return pairs


def _jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def find_reprints(articles: pd.DataFrame, cfg: SyndicationConfig) -> pd.DataFrame:
    """Rows of ``reprints`` for every article that copies an earlier one (exactly or nearly)."""
    if not cfg.enabled or len(articles) < 2:
        return REPRINTS.schema.empty_table().to_pandas()
    ids = articles["article_id"].tolist()
    texts = articles["clean_text"].fillna("").tolist()
    words = [_words(t) for t in texts]
    norm = [" ".join(w) for w in words]
    word_hash: dict[str, int] = {}
    sets = [shingles(w, cfg.shingle_words, word_hash) for w in words]
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
    long_enough = [i for i, w in enumerate(words) if len(w) >= cfg.min_words]
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
    original_of = dict(zip(reprints[R.article_id], reprints[R.original_article_id]))
    originals = set(original_of.values())
    involved = out[C.article_id].isin(originals | set(original_of)).to_numpy()  # only these claims can link
    first_by_article_text: dict[tuple[str, str], str] = {}
    rows = np.flatnonzero(involved)
    keys = [" ".join(_words(t)) for t in out[C.text].to_numpy()[rows]]
    aids, cids = out[C.article_id].to_numpy()[rows], out[C.claim_id].to_numpy()[rows]
    for cid, aid, k in zip(cids, aids, keys):
        if aid in originals:
            first_by_article_text.setdefault((aid, k), cid)
    links = [None] * len(out)
    for i, aid, k in zip(rows.tolist(), aids, keys):
        orig = original_of.get(aid)
        if orig is not None:
            links[i] = first_by_article_text.get((orig, k))
    out[C.original_claim_id] = links
    return out
