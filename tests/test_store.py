from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from narratives import store
from narratives.caches import DuckDBEmbeddingCache
from narratives.errors import NarrativesError, SchemaError
from narratives.schemas import ALL_TABLES, ARTICLES, CLAIMS, NARRATIVES, RUNS, SCHEMA_VERSION, to_arrow


def article(i, **kw):
    row = {"article_id": f"a{i}", "url": None, "outlet": "RT", "published_at": pd.Timestamp("2026-01-05"),
           "title": "t", "text": "x", "clean_text": "x", "source": "f:1", "content_hash": "h", "run_id": "r1"}
    row.update(kw)
    return row


def empty(table):
    return table.schema.empty_table().to_pandas()


def test_to_arrow_rejects_off_schema_frames():
    df = pd.DataFrame([article(1)])
    assert to_arrow(ARTICLES, df).num_rows == 1
    with pytest.raises(SchemaError, match="missing columns \\['run_id'\\]"):
        to_arrow(ARTICLES, df.drop(columns="run_id"))
    with pytest.raises(SchemaError, match="undeclared columns \\['extra'\\]"):
        to_arrow(ARTICLES, df.assign(extra=1))
    with pytest.raises(SchemaError, match="non-nullable|NOT NULL"):
        to_arrow(ARTICLES, df.assign(text=None))
    with pytest.raises(AttributeError, match="declares no column 'narativ_id'"):
        CLAIMS.c.narativ_id


def test_schema_creation_and_migration_adds_columns(tmp_path):
    db = tmp_path / "n.duckdb"
    con = duckdb.connect(str(db))
    con.execute('CREATE TABLE narratives (narrative_id BIGINT NOT NULL, label VARCHAR)')  # an older, smaller table
    con.close()
    with store.connect(db) as con:
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name='narratives' ORDER BY ordinal_position").fetchall()]
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert cols[:2] == ["narrative_id", "label"] and set(NARRATIVES.columns) <= set(cols)
    assert set(ALL_TABLES) <= tables


def test_tables_are_checked_once_per_locked_run_and_on_every_connection_otherwise(tmp_path, monkeypatch):
    db = tmp_path / "n.duckdb"
    checks = []
    real = store.ensure_schema
    monkeypatch.setattr(store, "ensure_schema", lambda con: (checks.append(1), real(con)))

    def drop_narratives_elsewhere() -> None:  # what an older narratives or a user could do between runs
        con = duckdb.connect(str(db))
        con.execute("DROP TABLE narratives")
        con.close()

    with store.connect(db):
        pass
    drop_narratives_elsewhere()
    with store.connect(db) as con:  # no run lock: every read-write connection checks, and mends
        assert con.execute("SELECT count(*) FROM narratives").fetchone() == (0,)
    assert len(checks) == 2
    with store.run_lock(db):  # a run: its first read-write connection checks, the later ones trust it
        for _ in range(3):
            with store.connect(db) as con:
                con.execute("SELECT count(*) FROM narratives")
        with pytest.raises(NarrativesError, match="in use by another narratives run"):
            with store.run_lock(db):  # a second run refused meanwhile changes nothing for the first
                pass
        with store.held_open(db):
            with store.connect(db):
                pass
    assert len(checks) == 2 + 1
    drop_narratives_elsewhere()  # after the run the next connection checks again
    with store.connect(db) as con:
        assert con.execute("SELECT count(*) FROM narratives").fetchone() == (0,)
    assert len(checks) == 4
    with store.run_lock(db):  # and so does the next run's first one
        with store.connect(db):
            pass
    assert len(checks) == 5


def test_runs_lifecycle(tmp_path):
    db = tmp_path / "n.duckdb"
    store.start_run(db, "r1", "cfg", "in.jsonl")
    store.finish_run(db, "r1", "succeeded", {"n_claims": 5})
    runs = store.read_tables(db, ["runs"])["runs"]
    row = runs.iloc[0]
    assert (row.status, row.n_claims, row.schema_version, row.config_hash) == ("succeeded", 5, SCHEMA_VERSION, "cfg")
    assert row.finished_at >= row.started_at
    with pytest.raises(NarrativesError, match="no column 'n_bogus'"):
        store.finish_run(db, "r1", "failed", {"n_bogus": 1})


def test_commit_is_all_or_nothing(tmp_path):
    db = tmp_path / "n.duckdb"
    arts = pd.DataFrame([article(1), article(2)])
    store.commit_results(db, "r1", arts, [{"source": "f", "record_ref": "line 3", "reason": "bad", "raw": "{"}], {})
    bad_narratives = empty(NARRATIVES).drop(columns="label")
    with pytest.raises(SchemaError):
        store.commit_results(db, "r2", pd.DataFrame([article(3)]), [], {"narratives": bad_narratives})
    with pytest.raises(NarrativesError, match="not tables a run replaces"):
        store.commit_results(db, "r3", pd.DataFrame([article(4)]), [], {"articles": empty(ARTICLES)})
    t = store.read_tables(db, ["articles", "quarantine"])
    assert sorted(t["articles"].article_id) == ["a1", "a2"]  # a3 not half-written
    assert t["quarantine"].reason.tolist() == ["bad"]
    narrow = store.read_tables(db, ["articles", "quarantine"], columns={"articles": ["url", "article_id"]})
    assert list(narrow["articles"].columns) == ["article_id", "url"]  # declared order, nothing else read
    assert narrow["articles"].equals(t["articles"][["article_id", "url"]])
    assert list(narrow["quarantine"].columns) == list(t["quarantine"].columns)  # tables not named: whole
    with pytest.raises(NarrativesError, match=r"\['bogus'\] are not columns of articles"):
        store.read_tables(db, ["articles"], columns={"articles": ["article_id", "bogus"]})


def _claim(i, **kw):
    row = {"claim_id": f"c{i}", "article_id": f"a{i % 3}", "sentence_index": i, "text": f"Claim number {i}.",
           "embed_text": f"claim number {i}", "speaker": None, "is_quote": False, "outlet": "RT",
           "published_at": pd.Timestamp("2026-01-05") + pd.Timedelta(hours=i), "narrative_id": i % 4,
           "theme_id": 1, "membership": 0.5 + i / 100, "source": "f:1", "original_claim_id": None}
    row.update(kw)
    return row


@pytest.mark.parametrize("case", ["difference", "reordered", "stale"])
def test_claims_written_as_a_difference_equal_a_replaced_table(tmp_path, case):
    """With the stored claims given, only changed values are updated and new claims appended; the table read back
    equals (rows and order) the same commit without them, also when the new claims do not start with the stored
    ones (reordered) or the given stored claims are not what the table holds (stale): then the table is replaced."""
    before = pd.DataFrame([_claim(i) for i in range(6)])
    after = pd.DataFrame([_claim(0), _claim(1, narrative_id=None, theme_id=None, membership=None),
                          _claim(2, narrative_id=9, original_claim_id="c0"), _claim(3), _claim(4, membership=0.25),
                          _claim(5, speaker="Lavrov"), _claim(6), _claim(7, narrative_id=None)])
    if case == "reordered":
        after = after.iloc[[1, 0, *range(2, len(after))]].reset_index(drop=True)
    results = []
    for given in (False, True):
        db = tmp_path / f"{given}.duckdb"
        store.commit_results(db, "r1", pd.DataFrame([article(i) for i in range(3)]), [], {"claims": before})
        stored = store.read_tables(db, ["claims"])["claims"]
        if case == "stale":
            stored = stored.iloc[:4]
        store.commit_results(db, "r2", empty(ARTICLES), [], {"claims": after},
                             stored_claims=stored if given else None)
        results.append(store.read_tables(db, ["claims"])["claims"])
    pd.testing.assert_frame_equal(results[0], results[1])
    assert results[1]["claim_id"].tolist() == after["claim_id"].tolist()
    assert results[1]["narrative_id"].isna().tolist() == [False, True, False, False, False, False, False, True] or \
        case == "reordered"
    diff = store._claims_difference(before, after)
    if case == "difference":
        assert diff[0] == 6 and set(diff[1]) == {"narrative_id", "theme_id", "membership", "original_claim_id", "speaker"}
        assert diff[2].tolist() == [False, True, True, False, True, True]
    elif case == "reordered":
        assert diff is None


def test_embedding_cache_roundtrip(tmp_path):
    cache = DuckDBEmbeddingCache(tmp_path / "n.duckdb")
    assert cache.get("m", ["h1"]) == {}
    v = np.arange(8, dtype=np.float32).reshape(2, 4)
    cache.put("m", ["h1", "h2"], v)
    cache.put("m", ["h1"], v[:1] + 100)  # existing entries are kept, not duplicated
    got = cache.get("m", ["h1", "h2", "h3"])
    assert set(got) == {"h1", "h2"} and np.allclose(got["h2"], v[1]) and np.allclose(got["h1"], v[0])
    assert cache.get("other-model", ["h1"]) == {}
    M, found = cache.rows("m", ["h3", "h2", "h1", "h2"])  # in the asked order, repeats and misses included
    assert found.tolist() == [False, True, True, True] and M.dtype == np.float32
    assert np.array_equal(M, np.stack([np.zeros(4), v[1], v[0], v[1]]))
    assert cache.rows("other-model", ["h1"])[0] is None
    assert cache.has("m", ["h1", "h3", "h2"]) == {"h1", "h2"} and cache.has("other-model", ["h1"]) == set()


def _stored_claims(tmp_path, texts: list[str], n_stored: int):
    """A database holding claims with the first ``n_stored`` of ``texts`` (nothing cached yet): (path, the texts'
    hashes, one distinct float32 vector per text, its embedding cache)."""
    from narratives.embed import text_hashes

    db = tmp_path / "n.duckdb"
    stored = pd.DataFrame([_claim(i, embed_text=texts[i]) for i in range(n_stored)])
    store.commit_results(db, "r1", pd.DataFrame([article(i) for i in range(3)]), [], {"claims": stored})
    v = np.arange(4 * len(texts), dtype=np.float32).reshape(len(texts), 4) + 1
    return db, text_hashes(texts).tolist(), v, DuckDBEmbeddingCache(db)


def test_known_vectors_read_ahead_answer_as_plain_lookups(tmp_path, monkeypatch):
    """with_known_vectors (the CLI's read ahead) hashes the stored claims' texts in DuckDB exactly as text_hashes
    does (non-ASCII too) and reads their cached vectors; a cache given them takes the found ones as they are and
    looks up only the rest: rows and has answer as the cache alone, also for rows added after the read ahead;
    hashes that do not start with the known ones, or another model, are looked up in full; claim_text_hashes takes
    the known hashes for an unchanged prefix only."""
    from narratives.caches import claim_text_hashes, with_known_vectors
    from narratives.embed import text_hashes

    texts = ["claim number 0", "Ärger über Kyiv — «NATO»", "claim number 2", "emoji 🚀 claim", "claim number 4"]
    db, h, v, plain = _stored_claims(tmp_path, texts, 4)
    assert with_known_vectors(store.load_state(db), db, "m").known_vectors is None  # nothing cached: nothing known
    plain.put("m", [h[0], h[2], h[3]], v[[0, 2, 3]])
    state = with_known_vectors(store.load_state(db), db, "m")
    known = state.known_vectors
    assert known.hashes.tolist() == h[:4] and known.found.tolist() == [True, False, True, True]
    assert np.array_equal(known.vectors, np.stack([v[0], np.zeros(4), v[2], v[3]]))
    plain.put("m", [h[1], h[4]], v[[1, 4]])  # added after the read ahead (this run's embeddings)
    asked = []
    cache = DuckDBEmbeddingCache(db, known)
    real = cache._rows
    monkeypatch.setattr(cache, "_rows", lambda model, hs, *a, **k: asked.append(list(hs)) or real(model, hs, *a, **k))
    want = [*h, "missing"]
    for got, exp in zip(cache.rows("m", want), plain.rows("m", want)):
        assert np.array_equal(got, exp)
    assert asked == [[h[1], h[4], "missing"]]  # only what the read ahead did not find
    assert cache.has("m", [h[4], h[0], "missing", h[1]]) == plain.has("m", [h[4], h[0], "missing", h[1]]) == {h[4], h[0], h[1]}
    assert asked[-1] == [h[4], "missing", h[1]]
    for other in (h[::-1], h[:2]):  # not starting with the known hashes: looked up in full
        for got, exp in zip(cache.rows("m", other), plain.rows("m", other)):
            assert np.array_equal(got, exp)
        assert asked[-1] == other
    assert cache.rows("other-model", h)[0] is None and cache.has("other-model", h) == set()
    run = pd.concat([state.claims, pd.DataFrame([_claim(4, embed_text=texts[4])])], ignore_index=True)
    assert claim_text_hashes(run, state).tolist() == h
    assert claim_text_hashes(run, replace(state, known_vectors=replace(known, hashes=np.array(["x"] * 4, dtype=object)))
                             )[:4].tolist() == ["x"] * 4  # the prefix is taken as known
    changed = run.assign(embed_text=run["embed_text"].where(run.index != 2, "edited"))
    assert claim_text_hashes(changed, state).tolist() == text_hashes(changed["embed_text"].tolist()).tolist()
    shuffled = replace(state, claims=state.claims.iloc[::-1], known_vectors=None)  # not the stored order: none
    assert with_known_vectors(shuffled, db, "m").known_vectors is None


def test_new_vectors_are_taken_from_memory_before_the_cache_is_asked(tmp_path, monkeypatch):
    """A cache given the vectors a run just embedded (NewVectors, perhaps not stored yet) answers rows() as the
    cache does once they are stored, and asks the database only for hashes found neither in the read ahead (at
    their own row or, for a repeated text, another's) nor among them (nothing when all are found); another
    model's new vectors are not used."""
    from narratives.caches import with_known_vectors
    from narratives.embed import NewVectors, fill_cache

    texts = ["claim number 0", "claim number 1", "claim number 2", "новый claim", "claim number 4"]
    db, h, v, plain = _stored_claims(tmp_path, texts, 3)
    plain.put("m", h[:2], v[:2])  # claim 2 was never embedded
    known = with_known_vectors(store.load_state(db), db, "m").known_vectors
    new = NewVectors.of("m", [texts[3], texts[2], texts[3]], v[[3, 2, 3]])  # (a repeated text: its first row)
    import narratives.caches as caches_mod

    opened = []
    real_connect = caches_mod.connect
    monkeypatch.setattr(caches_mod, "connect", lambda *a, **kw: opened.append(a) or real_connect(*a, **kw))
    for k, rest in ((known, [h[4]]), (None, [h[0], h[1], h[4]])):  # with and without the read ahead
        cache = DuckDBEmbeddingCache(db, k, new)
        real = cache._rows
        asked = []
        monkeypatch.setattr(cache, "_rows", lambda model, hs, *a, **kw: asked.append(list(hs)) or real(model, hs, *a, **kw))
        opened.clear()
        M, found = cache.rows("m", h)
        assert found.tolist() == [True, True, True, True, False]
        assert np.array_equal(M, np.stack([v[0], v[1], v[2], v[3], np.zeros(4)]))
        assert asked == [rest] and len(opened) == 1  # only what neither the read ahead nor the new vectors hold
    opened.clear()
    M, found = DuckDBEmbeddingCache(db, known, new).rows("m", [*h[:4], h[1], h[3]])  # (+ repeats of known/new texts)
    assert found.all() and np.array_equal(M, v[[0, 1, 2, 3, 1, 3]]) and opened == []  # all in memory: not opened
    assert DuckDBEmbeddingCache(db, None, new).rows("other", h[2:4])[0] is None  # another model's: not used
    fill_cache(new, plain)
    for got, exp in zip(DuckDBEmbeddingCache(db, known, new).rows("m", h), plain.rows("m", h)):
        assert np.array_equal(got, exp)
    with pytest.raises(ValueError, match="one model"):
        NewVectors.concat([new, NewVectors.of("other", ["x"], v[:1])])
    assert NewVectors.concat([new, new]).hashes.tolist() == [h[3], h[2], h[3]] * 2


def test_export_parquet_matches_schema(tmp_path):
    db = tmp_path / "n.duckdb"
    store.start_run(db, "r1", "cfg", None)
    paths = store.export_parquet(db, tmp_path / "tables")
    names = {p.stem for p in paths}
    assert {"articles", "claims", "reprints", "narratives", "themes", "narrative_timeseries", "narrative_outlets",
            "narrative_spread", "narrative_bursts", "narrative_drift", "narrative_lineage", "runs", "quarantine"} == names
    runs = pq.read_table(tmp_path / "tables" / "runs.parquet")
    assert runs.schema.names == RUNS.columns and runs.num_rows == 1
    assert not list((tmp_path / "tables").glob(".*tmp"))


def test_read_only_missing_db_is_clear(tmp_path):
    with pytest.raises(NarrativesError, match="does not exist; run `narratives run"):
        store.read_tables(tmp_path / "none.duckdb")


def test_outputs_readme_documents_every_table_and_column():
    from pathlib import Path

    from narratives.tables_doc import render

    readme = (Path(__file__).resolve().parent.parent / "outputs" / "README.md").read_text()
    for name, table in ALL_TABLES.items():
        assert f"## `{name}`" in readme, name
        for col in table.columns:
            assert f"| `{col}` |" in readme, f"{name}.{col}"
    assert readme == render(), "outputs/README.md is stale: run python -m narratives.tables_doc > outputs/README.md"


def test_read_only_old_database_reads_new_columns_as_null(tmp_path):
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE runs (run_id VARCHAR NOT NULL, status VARCHAR)")
    con.execute("INSERT INTO runs VALUES ('r0', 'succeeded')")
    con.close()
    t = store.read_tables(db, ["runs", "reprints"])
    assert t["runs"].columns.tolist() == RUNS.columns
    assert t["runs"]["run_id"].tolist() == ["r0"] and t["runs"]["n_claims"].isna().all()
    assert t["reprints"].empty


def test_held_open_shares_the_database_and_checkpoints_it_after_in_the_background(tmp_path):
    """Inside held_open every connection, read-only ones too, shares the open database (one process cannot open
    a file read-only and read-write at once); after it the checkpoint runs in a thread, a connection opened in the
    meantime waits for it, and the run lock is handed on only after it (another process can then open the file)."""
    db = tmp_path / "n.duckdb"
    store.start_run(db, "r0", "cfg", None)
    wal = tmp_path / "n.duckdb.wal"
    with store.run_lock(db):
        with store.held_open(db):
            store.start_run(db, "r1", "cfg", None)  # committed to the write-ahead log, not yet to the file
            assert wal.exists()
            with store.connect(db, read_only=True) as con:  # would fail beside an open read-write connection
                assert sorted(r[0] for r in con.execute("SELECT run_id FROM runs").fetchall()) == ["r0", "r1"]
            assert "n.duckdb" in str(next(iter(store._HELD)))
        closer = store._CLOSING.get(store._key(db))
    with store.connect(db, read_only=True) as con:  # waits for the checkpoint
        assert sorted(r[0] for r in con.execute("SELECT run_id FROM runs").fetchall()) == ["r0", "r1"]
    assert not wal.exists() and not store._HELD and store._key(db) not in store._CLOSING
    if closer is not None:
        closer.join()
    # another process can open it read-write (the lock and the file were both released)
    import subprocess
    import sys

    code = f"import duckdb; print(duckdb.connect({str(db)!r}).execute('SELECT count(*) FROM runs').fetchone()[0])"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "2"
    with store.run_lock(db, wait_seconds=10):  # the lock was handed on (by a thread, after the checkpoint)
        pass


def test_a_commit_to_a_held_database_is_checkpointed_beside_the_next_steps(tmp_path):
    """commit_results on a held database starts DuckDB's checkpoint in a thread: the log is written into the file
    while the database is still held and read (as the export and the report read it), and the close after is
    left with nothing to write."""
    db = tmp_path / "n.duckdb"
    store.start_run(db, "r0", "cfg", None)
    wal = tmp_path / "n.duckdb.wal"
    claims = pd.DataFrame([_claim(0)])
    with store.held_open(db):
        store.commit_results(db, "r0", empty(ARTICLES), [], {"claims": claims})
        checkpoint = store._CHECKPOINTS.get(store._key(db))
        assert checkpoint is not None
        with store.connect(db, read_only=True) as con:  # reading while it runs
            assert con.execute("SELECT count(*) FROM claims").fetchone()[0] == 1
        checkpoint.join()
        assert not wal.exists() or wal.stat().st_size == 0  # in the file before the close
        store.commit_results(db, "r0", empty(ARTICLES), [], {"claims": claims})
        assert store._CHECKPOINTS.get(store._key(db)) is checkpoint  # one per hold: the close writes the rest
    store._CLOSING.get(store._key(db), checkpoint).join()
    assert store.read_tables(db, ["claims"])["claims"]["claim_id"].tolist() == ["c0"]
    assert not store._CHECKPOINTS and not wal.exists()


def test_reserved_run_hands_its_lock_and_read_ahead_state_to_the_run(tmp_path, monkeypatch):
    """reserved_run (the CLI's: lock taken before Prefect is imported) lets the run's own run_lock enter without
    locking again, refuses other runs meanwhile, and its load_state takes the state read ahead in a thread: the
    same state a read under the lock gives, the lock's own 'interrupted' marking included; read once, then read
    afresh."""
    db = tmp_path / "n.duckdb"
    store.commit_results(db, "r1", pd.DataFrame([article(i) for i in range(3)]), [], {"claims": pd.DataFrame(
        [_claim(i) for i in range(4)])}, counts={"mode": "full"})
    store.start_run(db, "r2", "h", None)  # killed: still 'running'
    reads = []
    real = store._read_state
    modes = []
    monkeypatch.setattr(store, "_read_state", lambda p, read_only=False: reads.append(p) or modes.append(read_only)
                        or real(p, read_only))
    with store.reserved_run(db):
        with store.run_lock(db):  # the run's own lock enters the reserved one
            assert len(reads) == 1  # read ahead, done before the run opens the database
            assert modes == [True]  # read-only (another process may read it meanwhile: narratives/ahead.py)
            with pytest.raises(NarrativesError, match="in use by another narratives run"):
                with store.run_lock(db):  # a second run is still refused
                    pass
            state = store.load_state(db)
            assert len(reads) == 1  # taken, not read again
            again = store.load_state(db)
            assert len(reads) == 2
            for name in ("articles", "claims", "narratives", "signatures"):
                pd.testing.assert_frame_equal(getattr(state, name), getattr(again, name))
            assert (state.next_narrative_id, state.runs_since_full) == (again.next_narrative_id, again.runs_since_full)
            assert state.claims["claim_id"].tolist() == [f"c{i}" for i in range(4)] and len(state.articles) == 3
            runs = store.read_tables(db, ["runs"])["runs"].set_index("run_id")
            assert runs.at["r2", "status"] == "interrupted"  # marked when the lock was taken, before the read
    with store.run_lock(db, wait_seconds=1):  # released after the block
        pass
    with store.reserved_run(db, prefetch=False):
        with store.run_lock(db):
            store.load_state(db)
    assert len(reads) == 3


def test_reserved_run_refuses_a_busy_database_and_survives_a_failed_read(tmp_path, monkeypatch):
    db = tmp_path / "n.duckdb"
    store.start_run(db, "r1", "h", None)
    with store.run_lock(db):  # another run (here: this process's other lock) holds it
        with pytest.raises(NarrativesError, match="in use by another narratives run"):
            with store.reserved_run(db):
                pass
    failing = iter([OSError("disk"), None])

    def read(p, read_only=False):
        err = next(failing)
        if err:
            raise err
        return real(p, read_only)

    real = store._read_state
    monkeypatch.setattr(store, "_read_state", read)
    with store.reserved_run(db):
        with store.run_lock(db):
            assert store.load_state(db).next_narrative_id == 1  # the failed read ahead is read again
    monkeypatch.undo()
    with store.reserved_run(db, read_ahead=lambda s: replace(s, runs_since_full=99)):
        with store.run_lock(db):
            assert store.load_state(db).runs_since_full == 99  # what the read ahead added
    with store.reserved_run(db, read_ahead=lambda s: 1 / 0):
        with store.run_lock(db):
            assert store.load_state(db).runs_since_full == 0  # a failed read ahead: read again


def test_commit_results_returns_the_replaced_tables_as_read_back(tmp_path):
    db = tmp_path / "n.duckdb"
    store.commit_results(db, "r1", pd.DataFrame([article(i) for i in range(3)]), [], {"claims": pd.DataFrame(
        [_claim(i) for i in range(5)])})
    written = store.commit_results(db, "r2", pd.DataFrame([article(3)]), [], {"claims": pd.DataFrame(
        [_claim(i, speaker="Lavrov" if i == 2 else None) for i in range(7)])},
        stored_claims=store.read_tables(db, ["claims"])["claims"])  # written as a difference
    assert set(written) == {t.name for t in store.REPLACED}
    back = store.read_tables(db, list(written))
    for name, tbl in written.items():
        pd.testing.assert_frame_equal(tbl.to_pandas(), back[name])
    assert written["claims"].column("speaker").to_pylist()[:3] == [None, None, "Lavrov"]
