import numpy as np
import pytest

from narratives.cluster import NarrativeClusterer, auto_params, group_themes
from narratives.config import ClusterConfig
from narratives.label import class_counts, class_tfidf_keywords, mmr_select, short_label, term_counts


def blobs(n_per=60, k=5, dim=32, seed=0, spread=0.05):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, dim))
    X = np.concatenate([c + spread * rng.normal(size=(n_per, dim)) * np.linalg.norm(c) for c in centers])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), np.repeat(np.arange(k), n_per)


def test_auto_params_rule():
    cfg = ClusterConfig(method="umap_hdbscan")
    assert auto_params(500, cfg).min_cluster_size == 11
    assert auto_params(3100, cfg).min_cluster_size == 28
    assert auto_params(100_000, cfg).min_cluster_size == 100
    assert auto_params(100, cfg).min_cluster_size == 5
    assert auto_params(3100, cfg).min_samples == 7
    assert auto_params(100_000, cfg).n_neighbors == 50
    assert auto_params(3100, ClusterConfig(method="umap_hdbscan", min_cluster_size=9)).min_cluster_size == 9
    assert auto_params(100_000, ClusterConfig()).min_cluster_size == 2  # agglomerative: N-independent


def test_group_themes():
    C = np.array([[1, 0, 0], [0.95, 0.31, 0], [0, 1, 0], [0, 0, 1.0]])
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    themes = group_themes(C, np.array([10, 5, 3, 1]), threshold=0.2)
    assert themes[0] == themes[1] and len(set(themes.tolist())) == 3 and themes[0] == 0


def test_tiny_input_yields_no_narratives():
    fit = NarrativeClusterer(ClusterConfig()).fit(np.eye(3, 8, dtype=np.float32))
    assert fit.n_narratives_ == 0 and (fit.labels_ == -1).all()


@pytest.mark.slow
def test_umap_hdbscan_recovers_blobs_and_is_deterministic():
    from sklearn.metrics import adjusted_rand_score

    X, y = blobs()
    a = NarrativeClusterer(ClusterConfig(method="umap_hdbscan", seed=3)).fit(X)
    b = NarrativeClusterer(ClusterConfig(method="umap_hdbscan", seed=3)).fit(X)
    assert a.n_narratives_ == 5
    assert adjusted_rand_score(y, a.labels_) > 0.95
    assert np.array_equal(a.labels_, b.labels_)
    sizes = np.bincount(a.labels_[a.labels_ >= 0])
    assert list(sizes) == sorted(sizes, reverse=True)  # id order = size order
    assert np.nanmin(a.membership_) > 0.5


def test_class_tfidf_prefers_distinguishing_terms():
    docs = ["NATO expands toward Russian borders", "NATO bases near Russian borders",
            "sanctions hurt Europe economy", "sanctions backfire on Europe economy", "random unrelated words"]
    kw = class_tfidf_keywords(docs, np.array([0, 0, 1, 1, -1]), 3)
    assert "borders" in kw[0] and "nato" in kw[0]
    assert "sanctions" in kw[1] and "economy" in kw[1]
    assert -1 not in kw


def test_class_tfidf_bigrams_stay_inside_one_claim():
    """Claims of a class are counted one by one: no bigram joins the end of one claim to the next one."""
    docs = ["Sanctions hurt Europe", "Moscow warns NATO", "Sanctions hurt Europe", "Moscow warns NATO"]
    terms, counts = term_counts(docs)
    assert {"hurt europe", "warns nato"} <= set(terms)
    assert not {"europe moscow", "nato sanctions"} & set(terms)
    classes, by_class = class_counts(counts, np.array([1, 1, 0, 1]))
    assert classes.tolist() == [0, 1]
    assert by_class[1, list(terms).index("warns nato")] == 2 and by_class[0, list(terms).index("hurt europe")] == 1


def test_term_counts_equal_sklearn_countvectorizer():
    """term_counts is a sklearn-free CountVectorizer: same stop words, same terms, same counts (on the demo claims,
    with repeated bigrams, hyphens, digits, non-ASCII, stop-word-only and empty texts)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    from narratives.demo import generate_demo_corpus
    from narratives.label import SKLEARN_STOP_WORDS, STOP_WORDS

    assert SKLEARN_STOP_WORDS == ENGLISH_STOP_WORDS
    docs = [a["text"] for a in generate_demo_corpus(seed=3, n_articles=60).articles]
    docs += ["", "the and of", "NATO NATO nato-led NATO-led", "Zelensky's 2024 plan: Ärger über Kyiv", "x y z", "one"]
    terms, counts = term_counts(docs)
    vec = CountVectorizer(stop_words=STOP_WORDS, ngram_range=(1, 2), token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z\-]+\b",
                          dtype=np.float64)
    want = vec.fit_transform(docs).tocsr()
    assert terms.tolist() == vec.get_feature_names_out().tolist()
    assert counts.shape == want.shape == (len(docs), len(terms)) and (counts != want).nnz == 0
    row, col = len(docs) - 4, terms.tolist().index
    assert counts[row, col("nato")] == counts[row, col("nato-led")] == 2 and counts[row, col("nato nato")] == 1
    empty_terms, empty = term_counts(["", "the of"])
    assert len(empty_terms) == 0 and empty.shape == (2, 0)


def test_cached_term_counts_equal_term_counts_and_tokenise_only_new_texts(tmp_path):
    """The term cache (narratives/caches.py) gives term_counts' terms, order and counts exactly: on a cold cache, on
    a superset of cached texts (only those are tokenised) and on a warm one; terms that sort differently by byte
    and by locale (space, hyphen, letters) keep Python's order; another tokenizer version gets nothing."""
    from narratives.demo import generate_demo_corpus
    from narratives.embed import text_hashes
    from narratives.label import TERMS_VERSION, cached_term_counts
    from narratives.caches import DuckDBTermCache
    from narratives.store import read_tables

    docs = [a["text"] for a in generate_demo_corpus(seed=3, n_articles=40).articles]
    docs += ["", "the and of", "NATO NATO nato-led NATO-led", "cold war ends", "cold-war ends", "coldwar ends",
             "Zelensky's 2024 plan: Ärger über Kyiv", "one", docs[0]]
    hashes = text_hashes(docs)
    cache = DuckDBTermCache(tmp_path / "n.duckdb")
    for part in (slice(0, 25), slice(0, len(docs)), slice(0, len(docs)), slice(10, 30)):
        terms, counts = cached_term_counts(docs[part], hashes[part], cache)
        want_terms, want = term_counts(docs[part])
        assert terms.tolist() == want_terms.tolist() and terms.dtype == object
        assert counts.shape == want.shape and (counts != want).nnz == 0 and counts.has_sorted_indices
    stored = read_tables(tmp_path / "n.duckdb", ["term_cache", "term_vocab"])
    assert len(stored["term_cache"]) == len(set(hashes))  # each distinct text tokenised and stored once
    assert sorted(stored["term_vocab"]["term"]) == term_counts(docs)[0].tolist()
    assert stored["term_vocab"]["term_id"].tolist() == list(range(len(stored["term_vocab"])))
    asked = []
    flat, lens, _, _ = cache.term_ids("another-tokenizer", list(hashes[:3]), lambda at: asked.extend(at) or [["x"]] * len(at))
    assert asked == [0, 1, 2] and lens.tolist() == [1, 1, 1] and TERMS_VERSION != "another-tokenizer"
    empty_terms, empty = cached_term_counts(["", "the of"], text_hashes(["", "the of"]), cache)
    assert len(empty_terms) == 0 and empty.shape == (2, 0)


def test_mmr_picks_central_then_diverse():
    X = np.array([[1, 0], [0.99, 0.14], [0.8, 0.6], [0.6, 0.8]], dtype=float)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    centroid = np.array([0.97, 0.24]) / np.linalg.norm([0.97, 0.24])
    picked = mmr_select(X, centroid, 2, diversity=0.7)
    assert picked[0] == 1 and picked[1] in (2, 3)
    texts = ["same", "same", "other", "x"]
    assert len(set(texts[i] for i in mmr_select(X, centroid, 3, 0.0, texts))) == 3


def test_short_label():
    assert short_label("NATO expands east.") == "NATO expands east"
    long = "The North Atlantic alliance keeps deploying battalions, tanks and air defence systems ever closer to the Russian frontier."
    lab = short_label(long)
    assert lab.endswith("…") and len(lab.split()) <= 12


def test_agglomerative_recovers_blobs_without_depending_on_the_seed():
    from sklearn.metrics import adjusted_rand_score

    X, y = blobs(n_per=40, spread=0.03)
    a = NarrativeClusterer(ClusterConfig(seed=1)).fit(X)
    b = NarrativeClusterer(ClusterConfig(seed=2)).fit(X)
    assert a.n_narratives_ == 5 and adjusted_rand_score(y, a.labels_) == 1.0
    assert np.array_equal(a.labels_, b.labels_)
    assert len(set(a.themes_.tolist())) >= 2


def test_agglomerative_threshold_singletons_and_sampling():
    from narratives.cluster import AgglomerativeClusterer

    X, y = blobs(n_per=30, k=4, spread=0.03)
    lone = np.eye(1, X.shape[1], 0, dtype=np.float32)  # far from every blob
    Xl = np.vstack([X, lone])
    exact = AgglomerativeClusterer(0.45).fit_predict(Xl)
    assert exact[-1] == -1 and len(set(exact[:-1].tolist())) == 4
    sampled = AgglomerativeClusterer(0.45, max_exact=40, seed=0).fit_predict(Xl)
    from sklearn.metrics import adjusted_rand_score
    assert adjusted_rand_score(y, sampled[:-1]) == 1.0 and sampled[-1] == -1
    assert (AgglomerativeClusterer(1e-5).fit_predict(X) == -1).all()  # nothing within a tiny cut


def test_link_leftovers_joins_or_pairs_nearest_within_distance():
    from narratives.cluster import link_leftovers

    X = np.array([[1, 0, 0], [0.99, 0.14, 0], [0, 1, 0], [0.05, 0.99, 0.1], [0, 0, 1.0]], dtype=np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    labels = np.array([0, -1, -1, -1, -1])
    out = link_leftovers(X, labels, 0.1)
    assert out[1] == 0  # joins the cluster of its nearest neighbour
    assert out[2] == out[3] == 1  # two lonely neighbours form a pair
    assert out[4] == -1  # nothing within reach
    assert (link_leftovers(X, labels, 0.1, block=2) == out).all()  # blocked search gives the same result


def test_average_linkage_without_a_matrix_is_exact():
    """Average linkage runs without a distance matrix at every size; its partition equals scipy's (``_exact``)."""
    from sklearn.metrics import adjusted_rand_score

    from narratives.cluster import AgglomerativeClusterer, threshold_components

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 24))
    X = np.repeat(centres, 25, axis=0) + 0.25 * rng.normal(size=(1000, 24))
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    sizes = np.bincount(threshold_components(X, 0.55))
    assert len(sizes) >= 10 and sizes.max() <= 400  # many components
    exact = AgglomerativeClusterer(0.45, "average", 2)._exact(X)  # scipy's linkage on the distance matrix
    blocked = AgglomerativeClusterer(0.45, "average", 2, max_exact=10_000).fit_predict(X)
    assert len(np.unique(exact[exact >= 0])) >= 30
    assert adjusted_rand_score(exact, blocked) == 1.0
    assert ((exact < 0) == (blocked < 0)).all()


def test_keyword_picking_skips_repeated_words_as_the_pairwise_check():
    """_pick_keywords (sets of picked words) picks what checking every candidate against every picked term picks,
    on random rankings of words, bigrams and trigrams."""
    import random

    from narratives.label import _pick_keywords

    def pairwise(ranked, n):
        picked = []
        for t in ranked:
            if any(t in p.split() or p in t.split() for p in picked if " " in t or " " in p):
                continue
            picked.append(t)
            if len(picked) == n:
                break
        return picked

    rng = random.Random(0)
    words = [f"w{i}" for i in range(10)]
    assert _pick_keywords(["nato", "nato expansion", "expansion", "russia nato", "russia"], 3) == ["nato", "expansion", "russia"]
    for trial in range(3000):
        sizes = [1, 2] if trial % 2 else [1, 1, 2, 2, 3]
        ranked = [" ".join(rng.choice(words) for _ in range(rng.choice(sizes))) for _ in range(rng.randint(0, 25))]
        n = rng.randint(1, 8)
        assert _pick_keywords(ranked, n) == pairwise(ranked, n), (ranked, n)


def test_term_cache_refuses_a_vocabulary_that_holds_a_term_twice(tmp_path):
    """A damaged term_vocab (a term under two ids) stops the run with a message naming the tables to clear, instead
    of storing term lists that point at the wrong terms."""
    import duckdb

    from narratives.caches import DuckDBTermCache
    from narratives.embed import text_hashes
    from narratives.errors import NarrativesError
    from narratives.label import cached_term_counts

    db = tmp_path / "n.duckdb"
    cache = DuckDBTermCache(db)
    cached_term_counts(["NATO expansion threatens Russia"], text_hashes(["NATO expansion threatens Russia"]), cache)
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO term_vocab VALUES (100, 'nato')")
    con.close()
    with pytest.raises(NarrativesError, match="term_vocab is inconsistent.*delete its rows and those of term_cache"):
        cached_term_counts(["NATO drills again"], text_hashes(["NATO drills again"]), cache)
