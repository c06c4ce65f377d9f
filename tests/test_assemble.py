"""assemble: labels of narratives whose claims did not change are kept from the database (not a full re-fit)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from narratives.assemble import assemble
from narratives.config import LabelConfig
from narratives.incremental import Partition
from synthetic import blobs

WORDS = [["nato", "troops", "border", "expansion"], ["gas", "prices", "sanctions", "winter"],
         ["biolabs", "pentagon", "secret", "ukraine"]]


def _claims(groups: np.ndarray, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(groups)
    texts = [" ".join(rng.choice(WORDS[g], 5)) + f" claim {i}" for i, g in enumerate(groups)]
    return pd.DataFrame({
        "claim_id": [f"c{i}" for i in range(n)], "article_id": [f"a{i}" for i in range(n)],
        "sentence_index": np.zeros(n, dtype=np.int32), "text": texts, "is_quote": False, "speaker": None,
        "embed_text": texts, "outlet": "RT",
        "published_at": (pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(n) % 20, unit="D")).astype("datetime64[us]"),
        "narrative_id": pd.array([None] * n, dtype="Int64"), "theme_id": pd.array([None] * n, dtype="Int64"),
        "membership": np.nan, "source": "s", "original_claim_id": None,
    })


def _partition(X: np.ndarray, ids: np.ndarray, mode: str) -> Partition:
    nids = np.unique(ids[ids >= 0])
    cen = np.stack([X[ids == n].mean(axis=0) for n in nids])
    cen /= np.linalg.norm(cen, axis=1, keepdims=True)
    return Partition(ids=ids, membership=np.where(ids >= 0, 0.9, np.nan), narrative_ids=nids, centroids=cen,
                     theme_ids=np.arange(len(nids)), mode=mode)


def test_a_narrative_whose_claims_did_not_change_keeps_its_stored_label_and_keywords():
    X, groups = blobs(n_per=20, k=3, dim=16, seed=3)
    claims = _claims(groups)
    cfg = LabelConfig()
    first = assemble(claims, X, _partition(X, groups.astype(np.int64) + 10, "full"), cfg, "run1")
    stored, narrs = first.claims, first.narratives.copy()
    # an analyst-visible mark on the stored narratives: a kept label comes back as stored, a fresh one does not
    narrs["label"] = narrs["label"] + " (stored)"
    narrs["keywords"] = [["stored", *k[:2]] for k in narrs["keywords"]]

    # a new claim joins narrative 11; 10 and 12 keep exactly their claims
    X2 = np.vstack([X, X[groups == 1][:1]])
    new = _claims(np.r_[groups, 1])
    ids = np.r_[groups + 10, 11].astype(np.int64)
    part = _partition(X2, ids, "incremental")
    out = assemble(new, X2, part, cfg, "run2", narrs, stored=stored).narratives.set_index("narrative_id")
    for nid in (10, 12):
        was = narrs.set_index("narrative_id").loc[nid]
        assert out.loc[nid, "label"] == was["label"] and list(out.loc[nid, "keywords"]) == list(was["keywords"])
        assert list(out.loc[nid, "representative_claim_ids"]) == list(was["representative_claim_ids"])
        assert out.loc[nid, "updated_run_id"] == "run1"
    assert not out.loc[11, "label"].endswith("(stored)") and "stored" not in list(out.loc[11, "keywords"])
    assert out.loc[11, "updated_run_id"] == "run2" and out.loc[11, "size"] == 21

    # a claim that moves from 10 to 12 changes both (11 gained one): all three are labelled afresh
    moved = ids.copy()
    moved[0] = 12
    again = assemble(new, X2, _partition(X2, moved, "incremental"), cfg, "run2", narrs, stored=stored).narratives
    assert not again["label"].str.endswith("(stored)").any() and (again["updated_run_id"] == "run2").all()
    # a full re-fit labels every narrative afresh
    refit = assemble(new, X2, _partition(X2, ids, "full"), cfg, "run3", narrs, stored=stored).narratives
    assert not refit["label"].str.endswith("(stored)").any() and (refit["updated_run_id"] == "run3").all()


def test_kept_labels_come_out_as_a_fresh_labelling_would_for_the_representatives():
    """Without the mark, a kept narrative's label and representatives are what labelling it again gives."""
    X, groups = blobs(n_per=20, k=3, dim=16, seed=5)
    claims = _claims(groups, seed=1)
    cfg = LabelConfig()
    first = assemble(claims, X, _partition(X, groups.astype(np.int64), "full"), cfg, "run1")
    X2 = np.vstack([X, X[groups == 2][:2]])
    new = _claims(np.r_[groups, 2, 2], seed=1)
    ids = np.r_[groups, 2, 2].astype(np.int64)
    kept = assemble(new, X2, _partition(X2, ids, "incremental"), cfg, "run2", first.narratives, stored=first.claims)
    fresh = assemble(new, X2, _partition(X2, ids, "incremental"), cfg, "run2", first.narratives)
    cols = ["narrative_id", "label", "representative_claim_ids", "size"]
    a, b = kept.narratives[cols], fresh.narratives[cols]
    assert a["label"].tolist() == b["label"].tolist()
    assert [list(v) for v in a["representative_claim_ids"]] == [list(v) for v in b["representative_claim_ids"]]
