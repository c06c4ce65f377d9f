"""Turn a clustering of claims into the output tables ``claims``, ``narratives`` and ``themes``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from narratives.incremental import Partition
from narratives.config import LabelConfig
from narratives.label import NarrativeLabel, class_tfidf_keywords, label_narratives, term_counts
from narratives.schemas import CLAIMS, NARRATIVES, THEMES
from narratives.track import affected_narratives, changed_claims, narrative_extent

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
    copies = np.flatnonzero(~mask)
    j = pd.Index(claims[C.claim_id]).get_indexer(claims[C.original_claim_id].to_numpy()[copies])
    full_labels[copies], full_member[copies] = full_labels[j], full_member[j]
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


def _kept_label(row: dict, claim_ids: dict[str, int]) -> NarrativeLabel | None:
    """The stored label of a narrative whose claims did not change, when it is complete (its representative
    claims still stored)."""
    label, kw, reps = row.get(N.label), row.get(N.keywords), row.get(N.representative_claim_ids)
    if not isinstance(label, str) or kw is None or reps is None:
        return None
    idx = [claim_ids.get(c) for c in list(reps)]
    if any(i is None for i in idx):
        return None
    return NarrativeLabel(keywords=[str(k) for k in kw], representative_idx=idx, label=label)


def assemble(claims: pd.DataFrame, X: np.ndarray, part: Partition, cfg: LabelConfig, run_id: str,
             previous: pd.DataFrame | None = None, counted=None, stored: pd.DataFrame | None = None) -> Assembled:
    """Build the ``claims``, ``narratives`` and ``themes`` tables from ``part``, the partition of the claims
    without ``original_claim_id`` (in order); copies of an original claim inherit its narrative and membership.
    ``previous`` (the narratives table before the run) gives ``born_run_id``; ``updated_run_id`` is this run for
    narratives whose claims changed. ``counted``: ``term_counts`` of the claims' ``embed_text`` when the caller
    already has it.

    With ``stored`` (the claims table before the run) and a run that is not a full re-fit, a narrative whose claims
    are exactly those it had keeps its stored label, keywords and representative claims: an analyst following it
    sees the same name until its claims change (its representatives would come out the same; only its keywords
    could move, with the idf of claims elsewhere). A full re-fit labels every narrative afresh (changed ``label``
    settings reach unchanged narratives there)."""
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
    if counted is None:  # one count matrix for the narratives' and the themes' keywords
        counted = term_counts(docs)
    has_prev = previous is not None and len(previous) > 0
    claim_ids, texts = out[C.claim_id].tolist(), out[C.text].tolist()
    kept: dict[int, NarrativeLabel] = {}
    moved = None
    if has_prev and stored is not None and part.mode != "full":
        moved = affected_narratives(out, stored, changed_claims(out, stored))  # a claim joined or left them
        row_of = {c: i for i, c in enumerate(claim_ids)}
        same = previous[previous[N.narrative_id].isin(set(nids.tolist()) - moved)]
        for r in same[[N.narrative_id, N.label, N.keywords, N.representative_claim_ids]].to_dict("records"):
            lab = _kept_label(r, row_of)
            if lab is not None:
                kept[int(np.searchsorted(nids, int(r[N.narrative_id])))] = lab
    todo = None if not kept else set(range(len(nids))) - set(kept)
    labelled = {**label_narratives(docs, X, dense, part.centroids, cfg.n_keywords, cfg.n_representatives,
                                   cfg.mmr_diversity, counted, todo), **kept}
    extent = narrative_extent(out).reindex(nids)
    sizes = extent["size"].to_numpy(dtype=np.int64) if len(nids) else np.zeros(0, dtype=np.int64)
    born_of = dict(zip(previous[N.narrative_id].tolist(), previous[N.born_run_id].tolist())) if has_prev else {}
    updated_of = dict(zip(previous[N.narrative_id].tolist(), previous[N.updated_run_id].tolist())) if has_prev else {}
    before = dict(zip(previous[N.narrative_id].tolist(), previous[N.size].tolist())) if has_prev else {}
    rows = []
    for c, (nid, size) in enumerate(zip(nids.tolist(), sizes.tolist())):
        lab = labelled[c]
        changed = part.mode == "full" or (nid in moved if moved is not None else before.get(nid) != size)
        born, updated = born_of.get(nid), updated_of.get(nid)
        rows.append({
            N.narrative_id: nid,
            N.theme_id: theme_of[nid],
            N.label: lab.label,
            N.keywords: lab.keywords,
            N.size: size,
            N.representative_claim_ids: [claim_ids[i] for i in lab.representative_idx],
            N.representative_claims: [texts[i] for i in lab.representative_idx],
            N.centroid: part.centroids[c].astype(np.float32).tolist(),
            N.born_run_id: born if isinstance(born, str) else run_id,
            N.updated_run_id: updated if isinstance(updated, str) and not changed else run_id,
        })
    narratives = pd.DataFrame(rows, columns=NARRATIVES.columns)
    if len(nids):
        for col in (N.n_articles, N.n_outlets, N.first_seen, N.last_seen):
            narratives[col] = extent[col].reset_index(drop=True)

    theme_rows = []
    if len(nids):
        theme_kw = class_tfidf_keywords(docs, claim_theme, cfg.n_keywords, counted)
        g = narratives.groupby(N.theme_id, sort=True)
        first_label, n_narr, size = g[N.label].first(), g.size(), g[N.size].sum()
        for t in sorted(set(part.theme_ids.tolist())):
            kw = theme_kw.get(t, [])
            theme_rows.append({
                TH.theme_id: t,
                TH.label: ", ".join(kw[:4]) if kw else first_label[t],
                TH.keywords: kw,
                TH.n_narratives: int(n_narr[t]),
                TH.size: int(size[t]),
            })
    themes = pd.DataFrame(theme_rows, columns=THEMES.columns)
    return Assembled(claims=out, narratives=narratives, themes=themes)

