"""Scoring clusterings against a known truth (planted demo narratives, labelled dev sets).

Unassigned items count as singletons (each its own cluster), so leaving hard items out is never rewarded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from narratives.schemas import CLAIMS

C = CLAIMS.c


def _norm(s: str) -> str:
    return " ".join(str(s).split())


def with_singletons(pred: np.ndarray) -> np.ndarray:
    """Replace unassigned (-1 / NaN) by unique negative ids so each is its own cluster."""
    p = np.asarray(pd.Series(pred).fillna(-1).astype(np.int64))
    out = p.copy()
    noise = np.flatnonzero(p < 0)
    out[noise] = -(np.arange(len(noise)) + 2)
    return out


def pairwise_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    """F1 over same-cluster pairs (pred with singletons for unassigned)."""
    from sklearn.metrics.cluster import pair_confusion_matrix

    (_, fp), (fn, tp) = pair_confusion_matrix(gold, pred)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


@dataclass(frozen=True)
class Score:
    n: int
    k_pred: int
    k_gold: int
    coverage: float
    ari: float
    nmi: float
    pairwise_f1: float

    def line(self) -> str:
        return (f"n={self.n} k={self.k_pred} (gold {self.k_gold}) coverage={self.coverage:.3f} "
                f"ARI={self.ari:.3f} NMI={self.nmi:.3f} pairF1={self.pairwise_f1:.3f}")


def score(gold, pred) -> Score:
    gold = np.asarray(gold)
    raw = np.asarray(pd.Series(pred).fillna(-1).astype(np.int64))
    p = with_singletons(raw)
    return Score(
        n=len(gold), k_pred=len(set(raw[raw >= 0].tolist())), k_gold=len(set(gold.tolist())),
        coverage=float((raw >= 0).mean()) if len(raw) else 0.0,
        ari=float(adjusted_rand_score(gold, p)), nmi=float(normalized_mutual_info_score(gold, p)),
        pairwise_f1=pairwise_f1(gold, p),
    )


def match_truth(claims: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Join claims to planted truth rows (article_id + sentence text); returns truth rows with narrative_id
    (NaN where the claim was unassigned or the planted sentence was not extracted) and a ``found`` flag."""
    c = claims.assign(_key=claims[C.article_id].astype(str) + "\x00" + claims[C.text].map(_norm))
    t = truth.assign(_key=truth["article_id"].astype(str) + "\x00" + truth["sentence"].map(_norm))
    merged = t.merge(c[["_key", C.narrative_id, C.theme_id]], on="_key", how="left", indicator=True)
    merged["found"] = merged.pop("_merge") == "both"
    return merged.drop(columns="_key")


def planted_scores(claims: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """ARI etc. of narrative_id against the planted narratives (and theme_id against planted themes),
    plus recall of planted sentences as claims and the share of background claims put in a narrative."""
    m = match_truth(claims, truth)
    narr = score(m["narrative_key"].to_numpy(), m[C.narrative_id].to_numpy())
    theme = score(m["theme"].to_numpy(), m[C.theme_id].to_numpy())
    planted_keys = set(truth["article_id"].astype(str) + "\x00" + truth["sentence"].map(_norm))
    ckeys = claims[C.article_id].astype(str) + "\x00" + claims[C.text].map(_norm)
    background = claims[~ckeys.isin(planted_keys)]
    return {
        "ari": narr.ari, "nmi": narr.nmi, "pairwise_f1": narr.pairwise_f1, "coverage": narr.coverage,
        "k": narr.k_pred, "k_gold": narr.k_gold, "theme_ari": theme.ari, "k_themes": theme.k_pred,
        "planted_recall": float(m["found"].mean()) if len(m) else 0.0,
        "background_assigned": float(background[C.narrative_id].notna().mean()) if len(background) else 0.0,
        "n_planted": len(m), "n_background": len(background),
    }
