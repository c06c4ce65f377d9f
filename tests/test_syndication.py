import numpy as np
import pandas as pd

from narratives.assemble import expand_to_copies
from narratives.config import SyndicationConfig
from narratives.syndication import find_reprints, link_copies, minhash, shingles

BODY = ("NATO continues to move its military infrastructure toward the borders of Russia, Kremlin spokesman "
        "Dmitry Peskov said on Monday. He added that Moscow sees the deployment of new battalions in the Baltic "
        "states as a direct threat to its national security and will take measures in response. The alliance "
        "has held more than forty exercises near the Russian frontier this year, according to the ministry.")
OTHER = ("The regional government approved a new budget for park renovation next year. Officials said the "
         "works would start in spring and include new lighting, paths and a playground for children, while the "
         "old fountain in the central square will be restored by local craftsmen before the city festival.")


def arts(rows):
    df = pd.DataFrame(rows, columns=["article_id", "outlet", "published_at", "clean_text"])
    df["published_at"] = pd.to_datetime(df["published_at"])
    return df


def test_minhash_estimates_jaccard():
    a, b = shingles(BODY, 5), shingles(BODY.replace("Monday", "Tuesday"), 5)
    sig = minhash([a, b], 256)
    est = (sig[0] == sig[1]).mean()
    true = len(a & b) / len(a | b)
    assert abs(est - true) < 0.1 and 0.7 < true < 1.0


def test_minhash_is_universal_hashing_mod_mersenne_prime():
    """The blocked, division-free signatures equal min((a*x + b) mod (2^61 - 1)) computed set by set."""
    rng = np.random.default_rng(3)
    sets = [set(rng.integers(0, 2**61, size=n).tolist()) for n in (0, 1, 7, 300, 2000, 40)]
    sig = minhash(sets, 64, seed=5, block=500)
    r = np.random.default_rng(5)
    m = np.uint64((1 << 61) - 1)
    a = r.integers(1, int(m), size=64, dtype=np.uint64)
    b = r.integers(0, int(m), size=64, dtype=np.uint64)
    assert (sig[0] == np.iinfo(np.uint64).max).all()
    for row, s in zip(sig[1:], sets[1:]):
        x = np.fromiter(s, dtype=np.uint64)[:, None]
        with np.errstate(over="ignore"):
            assert np.array_equal(row, ((a * x + b) % m).min(axis=0))


def test_shingles_are_ordered_word_grams():
    """A shingle is the words in order: the same words reordered give other shingles; equal texts equal sets."""
    assert shingles("a b c d e f", 5) == shingles("A b, c d e f!", 5)
    assert len(shingles("a b c d e f", 5)) == 2
    assert not shingles("a b c d e f", 5) & shingles("b a c d e f", 5)
    assert len(shingles("a b", 5)) == 1 and shingles("", 5) == set()


def test_reprints_link_copies_to_earliest_original():
    edited = BODY.replace("on Monday", "on Monday evening").replace("more than forty", "over 40")
    df = arts([
        ("rt-1", "RT", "2026-01-06", edited),          # light edit, a day later
        ("sp-1", "Sputnik", "2026-01-05", BODY),       # the original
        ("nf-1", "News Front", None, BODY),            # undated exact copy
        ("x-1", "TASS", "2026-01-04", OTHER),          # unrelated
    ])
    rep = find_reprints(df, SyndicationConfig()).set_index("article_id")
    assert set(rep.index) == {"rt-1", "nf-1"}
    assert (rep["original_article_id"] == "sp-1").all()
    assert rep.loc["nf-1", "similarity"] == 1.0 and 0.5 <= rep.loc["rt-1", "similarity"] < 1.0
    assert rep.loc["rt-1", "original_outlet"] == "Sputnik"


def test_short_texts_link_only_when_identical_and_can_be_disabled():
    df = arts([("a", "RT", "2026-01-01", "NATO is expanding east."), ("b", "TASS", "2026-01-02", "NATO is expanding east!"),
               ("c", "X", "2026-01-03", "NATO is expanding west.")])
    rep = find_reprints(df, SyndicationConfig())
    assert rep[["article_id", "original_article_id"]].values.tolist() == [["b", "a"]]
    assert find_reprints(df, SyndicationConfig(enabled=False)).empty


def test_copied_claims_point_to_original_and_inherit_labels():
    claims = pd.DataFrame({
        "claim_id": ["o1", "o2", "c1", "c2"], "article_id": ["sp", "sp", "rt", "rt"],
        "text": ["NATO moves east.", "Sanctions hurt Europe.", "NATO moves east!", "A new sentence here."],
    })
    reprints = pd.DataFrame({"article_id": ["rt"], "original_article_id": ["sp"], "similarity": [0.9],
                             "outlet": ["RT"], "original_outlet": ["Sputnik"]})
    linked = link_copies(claims, reprints)
    assert [None if pd.isna(v) else v for v in linked["original_claim_id"]] == [None, None, "o1", None]
    labels, member = expand_to_copies(linked, np.array([0, 1, 2]), np.array([0.9, 0.8, 0.7]))
    assert labels.tolist() == [0, 1, 0, 2] and member.tolist() == [0.9, 0.8, 0.9, 0.7]


def _batches_vs_all(rows, cut, cfg=SyndicationConfig()):
    from narratives.syndication import reprints_and_signatures, update_reprints

    everything = arts(rows)
    old, new = everything.iloc[:cut].reset_index(drop=True), everything.iloc[cut:].reset_index(drop=True)
    prev, sigs = reprints_and_signatures(old, cfg)
    inc, new_sigs = update_reprints(old, new, prev, sigs, cfg)
    return inc, find_reprints(everything, cfg), sigs, new_sigs


def test_new_articles_are_compared_with_stored_signatures_only_and_give_the_full_result():
    edited = BODY.replace("on Monday", "on Monday evening").replace("more than forty", "over 40")
    rows = [
        ("sp-1", "Sputnik", "2026-01-05", BODY),
        ("x-1", "TASS", "2026-01-04", OTHER),
        ("s-1", "RT", "2026-01-01", "NATO is expanding east."),
        # the new batch: a near copy, an exact copy of a short text, an older original surfacing late, a new text
        ("rt-1", "RT", "2026-01-06", edited),
        ("s-2", "TASS", "2026-01-02", "NATO is expanding east!"),
        ("old-1", "News Front", "2026-01-03", BODY),
        ("y-1", "X", "2026-01-07", OTHER.replace("park", "school") + " " + BODY[:40]),
    ]
    inc, full, sigs, new_sigs = _batches_vs_all(rows, 3)
    assert inc.to_dict("records") == full.to_dict("records")
    by_copy = full.set_index("article_id")["original_article_id"].to_dict()
    # the late older article became the original; the edited school text copies x-1
    assert by_copy == {"sp-1": "old-1", "rt-1": "old-1", "s-2": "s-1", "y-1": "x-1"}
    assert sigs["article_id"].tolist() == ["sp-1", "x-1", "s-1"] and new_sigs["article_id"].tolist() == ["rt-1", "s-2", "old-1", "y-1"]
    assert sigs.set_index("article_id")["signature"]["s-1"] is None  # below min_words: compared by exact text only


def test_changed_settings_or_missing_signatures_recompute_everything():
    from narratives.syndication import update_reprints

    rows = [("a", "RT", "2026-01-01", BODY), ("b", "TASS", "2026-01-02", OTHER), ("c", "X", "2026-01-03", BODY)]
    everything = arts(rows)
    old, new = everything.iloc[:2].reset_index(drop=True), everything.iloc[2:].reset_index(drop=True)
    empty_prev = find_reprints(old, SyndicationConfig())
    _, stale = _batches_vs_all(rows[:2], 2, SyndicationConfig(shingle_words=3))[2:]
    for stored in (stale, stale.iloc[:0]):
        out, sigs = update_reprints(old, new, empty_prev, stored, SyndicationConfig())
        assert out[["article_id", "original_article_id"]].values.tolist() == [["c", "a"]]
        assert sigs["article_id"].tolist() == ["a", "b", "c"]  # every article's signature is made again
    assert update_reprints(old, new, empty_prev, stale, SyndicationConfig(enabled=False))[0].empty
