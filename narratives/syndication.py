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
from narratives.frames import in_ids
from narratives.schemas import ARTICLE_SIGNATURES, CLAIMS, REPRINTS, empty_frame

_MERSENNE = np.uint64((1 << 61) - 1)
R = REPRINTS.c
G = ARTICLE_SIGNATURES.c


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


def _candidates(sig: np.ndarray, bands: int, max_bucket: int = 200, focus: np.ndarray | None = None) -> set[tuple[int, int]]:
    """Pairs of rows whose signatures agree on all rows of at least one band (buckets larger than
    ``max_bucket`` are skipped: boilerplate, not reprints). With ``focus`` (a boolean row mask) only pairs with at
    least one focus row are returned."""
    rows = sig.shape[1] // bands
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        chunk = np.ascontiguousarray(sig[:, band * rows:(band + 1) * rows])
        keys = chunk.view(np.dtype((np.void, chunk.dtype.itemsize * rows))).ravel()
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        inverse = inverse.ravel()
        ok = (counts > 1) & (counts <= max_bucket)
        if focus is not None:
            ok &= np.bincount(inverse, weights=focus, minlength=len(counts)) > 0
        shared = np.flatnonzero(ok)
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
                    if focus is None or focus[m[x]] or focus[m[y]]:
                        pairs.add((m[x], m[y]))
    return pairs


def _jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def signature_params(cfg: SyndicationConfig) -> str:
    """The settings a stored signature (and the reprints found with it) depends on; stored rows made with other
    settings are recomputed."""
    return (f"v1 shingle_words={cfg.shingle_words} num_perm={cfg.num_perm} seed={cfg.seed} min_words={cfg.min_words} "
            f"bands={cfg.bands} threshold={cfg.threshold}")


class _Corpus:
    """Articles being compared: ids, dates, outlets, hashes of the normalised words, and words and shingle sets
    computed only when asked for (an incremental run needs them for a few stored articles only)."""

    def __init__(self, articles: pd.DataFrame, cfg: SyndicationConfig, known_hashes: list[str] = ()):
        self.cfg = cfg
        self.ids = articles["article_id"].tolist()
        self.texts = articles["clean_text"].fillna("").tolist()
        self.published = articles["published_at"].tolist()
        self.outlets = articles["outlet"].tolist()
        self.word_hash: dict[str, int] = {}
        self._sets: dict[int, set[int]] = {}
        self._words: dict[int, list[str]] = {}
        # hashes of the normalised words: given for the first articles (stored), computed for the rest
        self.hashes = list(known_hashes) + [self._norm_hash(i) for i in range(len(known_hashes), len(self.ids))]

    def words(self, i: int) -> list[str]:
        w = self._words.get(i)
        if w is None:
            w = self._words[i] = _words(self.texts[i])
        return w

    def _norm_hash(self, i: int) -> str:
        w = self.words(i)
        return hashlib.blake2b(" ".join(w).encode(), digest_size=16).hexdigest() if w else ""

    def shingles(self, i: int) -> set[int]:
        s = self._sets.get(i)
        if s is None:
            s = self._sets[i] = shingles(self.words(i), self.cfg.shingle_words, self.word_hash)
        return s

    def rows(self, members: list[int]) -> list[dict]:
        """Reprint rows of one group: every member but the earliest links to it."""
        pub = self.published
        members = sorted(members, key=lambda i: (pd.isna(pub[i]), pub[i] if not pd.isna(pub[i]) else 0, self.ids[i]))
        orig = members[0]
        out = []
        for i in members[1:]:
            sim = 1.0 if self.hashes[i] == self.hashes[orig] else _jaccard(self.shingles(i), self.shingles(orig))
            out.append({R.article_id: self.ids[i], R.original_article_id: self.ids[orig], R.similarity: round(sim, 4),
                        R.outlet: self.outlets[i], R.original_outlet: self.outlets[orig]})
        return out


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        self.parent[self.find(i)] = self.find(j)

    def groups(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for i in range(len(self.parent)):
            out[self.find(i)].append(i)
        return out


def _link(corpus: _Corpus, uf: _UnionFind, sig: np.ndarray, sig_rows: list[int], focus: np.ndarray | None,
          exact_from: int = 0) -> None:
    """Union exact copies (same normalised words, any length; articles from ``exact_from`` on against all) and
    verified near-duplicates among the rows with signatures (pairs with a ``focus`` row only, when given)."""
    first: dict[str, int] = {}
    for i, h in enumerate(corpus.hashes):
        if not h:
            continue
        if h in first:
            if i >= exact_from:
                uf.union(i, first[h])
        else:
            first[h] = i
    if len(sig_rows) > 1:
        for x, y in _candidates(sig, corpus.cfg.bands, focus=focus):
            i, j = sig_rows[x], sig_rows[y]
            if uf.find(i) != uf.find(j) and _jaccard(corpus.shingles(i), corpus.shingles(j)) >= corpus.cfg.threshold:
                uf.union(i, j)


def _signature_frame(corpus: _Corpus, rows: list[int], sig: np.ndarray, sig_rows: list[int]) -> pd.DataFrame:
    at = {r: k for k, r in enumerate(sig_rows)}
    params = signature_params(corpus.cfg)
    return pd.DataFrame({
        G.article_id: [corpus.ids[i] for i in rows], G.params: params,
        G.text_hash: [corpus.hashes[i] for i in rows],
        G.signature: [sig[at[i]].view(np.int64).tolist() if i in at else None for i in rows],
    }, columns=ARTICLE_SIGNATURES.columns)


def _sign(corpus: _Corpus, rows: range | list[int]) -> tuple[np.ndarray, list[int]]:
    long_enough = [i for i in rows if len(corpus.words(i)) >= corpus.cfg.min_words]
    sig = minhash([corpus.shingles(i) for i in long_enough], corpus.cfg.num_perm, corpus.cfg.seed)
    return sig, long_enough


def _table_of(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=REPRINTS.columns)
    return out.sort_values(R.article_id, kind="stable").reset_index(drop=True)


def reprints_and_signatures(articles: pd.DataFrame, cfg: SyndicationConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows of ``reprints`` for every article that copies an earlier one, exactly or nearly; each article's
    stored fingerprint, rows of ``article_signatures``)."""
    if not cfg.enabled:
        return empty_frame(REPRINTS), empty_frame(ARTICLE_SIGNATURES)
    corpus = _Corpus(articles, cfg)
    uf = _UnionFind(len(corpus.ids))
    sig, sig_rows = _sign(corpus, range(len(corpus.ids)))
    _link(corpus, uf, sig, sig_rows, None)
    rows = [r for members in uf.groups().values() if len(members) > 1 for r in corpus.rows(members)]
    return _table_of(rows), _signature_frame(corpus, list(range(len(corpus.ids))), sig, sig_rows)


def find_reprints(articles: pd.DataFrame, cfg: SyndicationConfig) -> pd.DataFrame:
    """Rows of ``reprints`` for every article that copies an earlier one (exactly or nearly)."""
    if len(articles) < 2:
        return empty_frame(REPRINTS)
    return reprints_and_signatures(articles, cfg)[0]


def update_reprints(existing: pd.DataFrame, new: pd.DataFrame, previous: pd.DataFrame, stored: pd.DataFrame,
                    cfg: SyndicationConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``reprints`` after adding ``new`` articles to ``existing`` ones, and the signature rows to store.

    With the stored signatures of every existing article (made with the same settings) only the new articles are
    fingerprinted and compared, with each other and with the stored ones; groups that gain no new article keep
    their rows. The result equals :func:`find_reprints` over all articles, except when new articles push an LSH
    bucket past its size limit (where a full run would stop comparing the old articles in it). Otherwise (no or
    outdated signatures: a first run, or changed settings) everything is recomputed and all signatures returned."""
    if not cfg.enabled:
        return empty_frame(REPRINTS), empty_frame(ARTICLE_SIGNATURES)
    params = signature_params(cfg)
    usable = stored[stored[G.params] == params].drop_duplicates(G.article_id, keep="last").set_index(G.article_id)
    if not len(existing) or not in_ids(existing["article_id"], usable.index).all():
        return reprints_and_signatures(pd.concat([existing, new], ignore_index=True), cfg)
    if new.empty:
        return previous, empty_frame(ARTICLE_SIGNATURES)
    known = usable.loc[existing["article_id"]]
    n_old = len(existing)
    both = pd.concat([existing, new], ignore_index=True)
    corpus = _Corpus(both, cfg, known_hashes=known[G.text_hash].tolist())
    uf = _UnionFind(len(both))
    pos = {a: i for i, a in enumerate(corpus.ids)}
    for copy, orig in zip(previous[R.article_id], previous[R.original_article_id]):
        uf.union(pos[copy], pos[orig])
    old_sig = known[G.signature].to_numpy()
    old_rows = [i for i, s in enumerate(old_sig) if s is not None and len(s)]
    new_sig, new_rows = _sign(corpus, range(n_old, len(both)))
    stacked = [np.asarray(old_sig[i], dtype=np.int64).view(np.uint64) for i in old_rows]
    sig = np.vstack([np.array(stacked, dtype=np.uint64).reshape(len(old_rows), cfg.num_perm), new_sig])
    sig_rows = old_rows + new_rows
    focus = np.r_[np.zeros(len(old_rows), bool), np.ones(len(new_rows), bool)]
    _link(corpus, uf, sig, sig_rows, focus, exact_from=n_old)
    groups = uf.groups()
    affected = {uf.find(i) for i in range(n_old, len(both))}
    keep = previous[[uf.find(pos[a]) not in affected for a in previous[R.article_id]]]
    rows = [r for root in affected if len(groups[root]) > 1 for r in corpus.rows(groups[root])]
    out = _table_of(keep.to_dict("records") + rows)
    return out, _signature_frame(corpus, list(range(n_old, len(both))), new_sig, new_rows)


def link_copies(claims: pd.DataFrame, reprints: pd.DataFrame) -> pd.DataFrame:
    """Set ``original_claim_id`` on claims of reprinted articles whose text appears in the original article."""
    C = CLAIMS.c
    out = claims.copy()
    out[C.original_claim_id] = None
    if reprints.empty or claims.empty:
        return out
    original_of = dict(zip(reprints[R.article_id], reprints[R.original_article_id]))
    originals = set(original_of.values())
    involved = in_ids(out[C.article_id], originals | set(original_of))  # only these claims can link
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
