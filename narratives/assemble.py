"""Turn a clustering of claims into the output tables ``claims``, ``narratives`` and ``themes``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from narratives.incremental import Partition
from narratives.config import LabelConfig
from narratives.label import class_tfidf_keywords, label_narratives
from narratives.schemas import CLAIMS, NARRATIVES, THEMES
from narratives.track import narrative_extent

C, N, TH = CLAIMS.c, NARRATIVES.c, THEMES.c


def unique_mask(claims: pd.DataFrame) -> np.ndarray:
    """Claims that are clustered: all but copies of an original claim."""
    return claims[C.original_claim_id].isna().to_numpy()


def expand_to_copies(claims: pd.DataFrame, labels: np.ndarray, membership: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels and memberships for all claims, given those of the unique claims (in order)."""
    mask = unique_mask(claims)
    full_labels = np.full(len(claims), -1, dtype=np.int64)
    full_member = np.full(len(claims), np.nan)
    full_labels[mask] = labels
    full_member[mask] = membership
    pos = {cid: i for i, cid in enumerate(claims[C.claim_id])}
    for i in np.flatnonzero(~mask):
        j = pos[claims[C.original_claim_id].iat[i]]
        full_labels[i], full_member[i] = full_labels[j], full_member[j]
    return full_labels, full_member


@dataclass
class Assembled:
    claims: pd.DataFrame
    narratives: pd.DataFrame
    themes: pd.DataFrame


def previous_ids(claims: pd.DataFrame, stored: pd.DataFrame) -> np.ndarray:
    """Each clustered claim's narrative id in the database before this run (-1: new or unassigned)."""
    prev = stored.set_index(C.claim_id)[C.narrative_id] if len(stored) else pd.Series(dtype="Int64")
    ids = claims.loc[unique_mask(claims), C.claim_id].map(prev)
    return pd.to_numeric(ids, errors="coerce").fillna(-1).astype(np.int64).to_numpy()


def assemble(claims: pd.DataFrame, X: np.ndarray, part: Partition, cfg: LabelConfig, run_id: str,
             previous: pd.DataFrame | None = None) -> Assembled:
    """Build the ``claims``, ``narratives`` and ``themes`` tables from ``part``, the partition of the claims
    without ``original_claim_id`` (in order); copies of an original claim inherit its narrative and membership.
    ``previous`` (the narratives table before the run) gives ``born_run_id``; ``updated_run_id`` is this run for
    narratives whose claims changed."""
    ids, membership = expand_to_copies(claims, part.ids, part.membership)
    out = claims.copy()
    theme_of = part.theme_of
    claim_theme = np.array([theme_of.get(int(i), -1) if i >= 0 else -1 for i in ids.tolist()], dtype=np.int64)
    out[C.narrative_id] = pd.array(np.where(ids >= 0, ids, None), dtype="Int64")
    out[C.theme_id] = pd.array(np.where(ids >= 0, claim_theme, None), dtype="Int64")
    out[C.membership] = np.where(ids >= 0, membership, np.nan)
    out = out[CLAIMS.columns]

    nids = part.narrative_ids
    dense = np.where(ids >= 0, np.searchsorted(nids, np.maximum(ids, 0)), -1) if len(nids) else np.full(len(ids), -1)
    docs = out[C.embed_text].tolist()
    labelled = label_narratives(docs, X, dense, part.centroids, cfg.n_keywords, cfg.n_representatives, cfg.mmr_diversity)
    extent = narrative_extent(out)
    prev = previous.set_index(N.narrative_id) if previous is not None and len(previous) else None
    before = dict(zip(previous[N.narrative_id].tolist(), previous[N.size].tolist())) if prev is not None else {}
    changed = {n for n in nids.tolist() if part.mode == "full" or before.get(n) != int(extent.at[n, "size"])}
    rows = []
    for c, nid in enumerate(nids.tolist()):
        lab = labelled[c]
        ext = extent.loc[nid]
        born = prev.at[nid, N.born_run_id] if prev is not None and nid in prev.index else run_id
        updated = run_id if nid in changed or prev is None or nid not in prev.index else prev.at[nid, N.updated_run_id]
        rows.append({
            N.narrative_id: nid,
            N.theme_id: theme_of[nid],
            N.label: lab.label,
            N.keywords: lab.keywords,
            N.size: int(ext["size"]),
            N.n_articles: int(ext["n_articles"]),
            N.n_outlets: int(ext["n_outlets"]),
            N.first_seen: ext["first_seen"],
            N.last_seen: ext["last_seen"],
            N.representative_claim_ids: [out[C.claim_id].iat[i] for i in lab.representative_idx],
            N.representative_claims: [out[C.text].iat[i] for i in lab.representative_idx],
            N.centroid: part.centroids[c].astype(np.float32).tolist(),
            N.born_run_id: born if isinstance(born, str) else run_id,
            N.updated_run_id: updated if isinstance(updated, str) else run_id,
        })
    narratives = pd.DataFrame(rows, columns=NARRATIVES.columns)

    theme_rows = []
    if len(nids):
        theme_kw = class_tfidf_keywords(docs, claim_theme, cfg.n_keywords)
        for t in sorted(set(part.theme_ids.tolist())):
            members = narratives[narratives[N.theme_id] == t]
            kw = theme_kw.get(t, [])
            theme_rows.append({
                TH.theme_id: t,
                TH.label: ", ".join(kw[:4]) if kw else members[N.label].iat[0],
                TH.keywords: kw,
                TH.n_narratives: len(members),
                TH.size: int(members[N.size].sum()),
            })
    themes = pd.DataFrame(theme_rows, columns=THEMES.columns)
    return Assembled(claims=out, narratives=narratives, themes=themes)

