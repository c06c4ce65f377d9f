"""Turn a clustering of claims into the output tables ``claims``, ``narratives`` and ``themes``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from narratives.cluster import NarrativeClusterer
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


def assemble(claims: pd.DataFrame, X: np.ndarray, fit: NarrativeClusterer, cfg: LabelConfig) -> Assembled:
    """Assign narrative/theme ids (1-based, 1 = largest) to claims and build the narratives and themes tables.

    ``fit`` was fitted on the claims without ``original_claim_id`` (in order); copies of an original claim
    inherit its narrative and membership."""
    labels, membership = expand_to_copies(claims, np.asarray(fit.labels_), np.asarray(fit.membership_))
    k = fit.n_narratives_
    out = claims.copy()
    theme_of = np.asarray(fit.themes_)
    claim_theme = np.where(labels >= 0, theme_of[np.maximum(labels, 0)], -1) if k else np.full(len(labels), -1)
    out[C.narrative_id] = pd.array(np.where(labels >= 0, labels + 1, None), dtype="Int64")
    out[C.theme_id] = pd.array(np.where(labels >= 0, claim_theme + 1, None), dtype="Int64")
    out[C.membership] = np.where(labels >= 0, membership, np.nan)
    out = out[CLAIMS.columns]

    docs = out[C.embed_text].tolist()
    labelled = label_narratives(docs, X, labels, fit.centroids_, cfg.n_keywords, cfg.n_representatives, cfg.mmr_diversity)
    extent = narrative_extent(out)
    rows = []
    for c in range(k):
        lab = labelled[c]
        ext = extent.loc[c + 1]
        rows.append({
            N.narrative_id: c + 1,
            N.theme_id: int(theme_of[c]) + 1,
            N.label: lab.label,
            N.keywords: lab.keywords,
            N.size: int(ext["size"]),
            N.n_articles: int(ext["n_articles"]),
            N.n_outlets: int(ext["n_outlets"]),
            N.first_seen: ext["first_seen"],
            N.last_seen: ext["last_seen"],
            N.representative_claim_ids: [out[C.claim_id].iat[i] for i in lab.representative_idx],
            N.representative_claims: [out[C.text].iat[i] for i in lab.representative_idx],
        })
    narratives = pd.DataFrame(rows, columns=NARRATIVES.columns)

    theme_rows = []
    if k:
        theme_kw = class_tfidf_keywords(docs, claim_theme, cfg.n_keywords)
        for t in sorted(set(theme_of.tolist())):
            members = narratives[narratives[N.theme_id] == t + 1]
            kw = theme_kw.get(t, [])
            theme_rows.append({
                TH.theme_id: t + 1,
                TH.label: ", ".join(kw[:4]) if kw else members[N.label].iat[0],
                TH.keywords: kw,
                TH.n_narratives: len(members),
                TH.size: int(members[N.size].sum()),
            })
    themes = pd.DataFrame(theme_rows, columns=THEMES.columns)
    return Assembled(claims=out, narratives=narratives, themes=themes)
