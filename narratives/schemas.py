"""Declared schemas of every table the pipeline reads or writes.

One place names every column: code refers to ``CLAIMS.c.narrative_id`` rather than a loose string, so a
typo fails at once. Tables only grow: a new column is appended here and ``store`` adds it to existing
databases with ``ALTER TABLE ... ADD COLUMN``. ``SCHEMA_VERSION`` is written to every ``runs`` row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd
import pyarrow as pa

from narratives.errors import SchemaError

SCHEMA_VERSION = 6  # 2: reprints, claims.original_claim_id, runs.n_reprints; 3: outlets/spread/bursts/drift;
# 4: incremental runs (narratives.centroid/born_run_id/updated_run_id, narrative_lineage, runs.mode ...);
# 5: article_signatures (stored near-duplicate fingerprints); 6: term_cache and term_vocab (stored term lists)

TS = pa.timestamp("us")  # naive UTC


class _Cols:
    """Attribute access to declared column names; unknown names raise instead of passing silently."""

    def __init__(self, table: str, names: list[str]):
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_names", tuple(names))
        for name in names:  # plain attributes: a declared name is found without a call (hot loops use them)
            object.__setattr__(self, name, name)

    def __getattr__(self, name: str) -> str:  # (only reached for names not declared)
        if name.startswith("__") or "_table" not in self.__dict__:  # (copy/pickle probing a bare instance)
            raise AttributeError(name)
        raise AttributeError(f"table {self._table!r} declares no column {name!r}")

    def __reduce__(self):
        return _Cols, (self._table, list(self._names))

    def __setattr__(self, name, value):  # pragma: no cover - guard
        raise AttributeError("column names are read-only")


@dataclass(frozen=True)
class TableDef:
    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    grain: str
    doc: str
    column_docs: dict[str, str] = field(default_factory=dict)

    @cached_property
    def c(self) -> _Cols:
        return _Cols(self.name, self.schema.names)

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)


def _table(name: str, key: tuple[str, ...], grain: str, doc: str, cols: list[tuple[str, pa.DataType, bool, str]]) -> TableDef:
    schema = pa.schema([pa.field(n, t, nullable=nullable) for n, t, nullable, _ in cols])
    schema = schema.with_metadata({b"table": name.encode(), b"schema_version": str(SCHEMA_VERSION).encode()})
    return TableDef(name, schema, key, grain, doc, {n: d for n, _, _, d in cols})


STR, I64, I32, F64, BOOL = pa.string(), pa.int64(), pa.int32(), pa.float64(), pa.bool_()

# The DuckDB column type of every Arrow type a schema may use (DDL in store, type column in tables_doc).
DUCKDB_TYPES = {
    pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.int32(): "INTEGER", pa.float64(): "DOUBLE",
    pa.float32(): "FLOAT", pa.bool_(): "BOOLEAN", pa.timestamp("us"): "TIMESTAMP", pa.date32(): "DATE",
    pa.list_(pa.string()): "VARCHAR[]", pa.list_(pa.float32()): "FLOAT[]", pa.list_(pa.float64()): "DOUBLE[]",
    pa.list_(pa.int64()): "BIGINT[]",
}
STR_LIST = pa.list_(pa.string())

ARTICLES = _table(
    "articles", ("article_id",), "one row per accepted article (or per claim record with ingest.unit=claim)",
    "Accepted input records after cleaning.",
    [
        ("article_id", STR, False, "Record id from the input (`id` field) or derived from the raw page's file name."),
        ("url", STR, True, "Link to the original page, when known."),
        ("outlet", STR, True, "Publishing outlet (canonical name); NULL when it could not be inferred."),
        ("published_at", TS, True, "Publication time (UTC, naive); NULL = undated, excluded from time series."),
        ("title", STR, True, "Headline."),
        ("text", STR, False, "Raw text as delivered by the scraper."),
        ("clean_text", STR, False, "Body text with page cruft (navigation, ads, related headlines) removed."),
        ("source", STR, False, "Where the record came from: file name and line/row number."),
        ("content_hash", STR, False, "SHA-256 prefix of title+text; the same id with another hash is quarantined."),
        ("run_id", STR, False, "Run that first ingested the record."),
    ],
)

CLAIMS = _table(
    "claims", ("claim_id",), "one row per claim sentence",
    "Claim sentences extracted from articles, with their narrative assignment.",
    [
        ("claim_id", STR, False, "Stable id: hash of article_id, sentence position and text."),
        ("article_id", STR, False, "Article the claim comes from (-> articles.article_id)."),
        ("sentence_index", I32, False, "Position of the sentence in the cleaned article body (0-based)."),
        ("text", STR, False, "The claim sentence as written."),
        ("embed_text", STR, False, "Text that was embedded (attribution such as 'X said' removed when configured)."),
        ("speaker", STR, True, "Person or body the claim is attributed to; NULL when unattributed."),
        ("is_quote", BOOL, False, "True when the claim is (or contains) a direct quotation."),
        ("outlet", STR, True, "Outlet of the article."),
        ("published_at", TS, True, "Publication time of the article; NULL = undated."),
        ("narrative_id", I64, True, "Narrative (recurring claim) it belongs to; NULL = unassigned."),
        ("theme_id", I64, True, "Broader theme of its narrative; NULL when unassigned."),
        ("membership", F64, True, "Cosine similarity of the claim to its narrative centroid; NULL when unassigned."),
        ("source", STR, False, "Where the article came from (file name and line/row)."),
        ("original_claim_id", STR, True,
         "For a claim of a reprinted article that repeats the original's sentence: the original claim "
         "(clustered once, counted for every outlet). NULL otherwise."),
    ],
)

REPRINTS = _table(
    "reprints", ("article_id",), "one row per article that copies an earlier one",
    "Syndication: exact and near-duplicate articles (MinHash on word shingles, verified by Jaccard), each linked "
    "to the earliest original of its group.",
    [
        ("article_id", STR, False, "The copy."),
        ("original_article_id", STR, False, "Earliest article of the group (undated articles count as latest)."),
        ("similarity", F64, False, "Jaccard similarity of word shingles to the original (1.0 = identical text)."),
        ("outlet", STR, True, "Outlet of the copy."),
        ("original_outlet", STR, True, "Outlet of the original."),
    ],
)

NARRATIVES = _table(
    "narratives", ("narrative_id",), "one row per narrative",
    "Recurring claims found by clustering, with labels and extent.",
    [
        ("narrative_id", I64, False, "Narrative id (1 = largest in the run that created it)."),
        ("theme_id", I64, True, "Theme grouping this narrative with related ones (-> themes.theme_id)."),
        ("label", STR, False, "Short readable label (the most central claim, shortened)."),
        ("keywords", STR_LIST, False, "Top class-based TF-IDF terms, best first, as of the run that last changed its claims "
                                       "(or re-fitted): an unchanged narrative keeps its keywords, label and representatives."),
        ("size", I64, False, "Number of claims assigned."),
        ("n_articles", I64, False, "Distinct articles carrying it."),
        ("n_outlets", I64, False, "Distinct outlets carrying it."),
        ("first_seen", TS, True, "Earliest dated claim; NULL when all its claims are undated."),
        ("last_seen", TS, True, "Latest dated claim."),
        ("representative_claim_ids", STR_LIST, False, "Claims chosen by centrality with diversity (MMR), best first."),
        ("representative_claims", STR_LIST, False, "Texts of those claims."),
        ("centroid", pa.list_(pa.float32()), True,
         "Unit-length mean embedding of its claims: the state incremental runs assign new claims against."),
        ("born_run_id", STR, True, "Run that created the narrative (its id never changes afterwards)."),
        ("updated_run_id", STR, True, "Last run that changed its claims (one joined or left) or re-fitted it."),
    ],
)

THEMES = _table(
    "themes", ("theme_id",), "one row per theme",
    "Broader narratives: groups of narratives whose centroids are close (average-linkage on cosine distance).",
    [
        ("theme_id", I64, False, "Theme id."),
        ("label", STR, False, "Label of its largest narrative."),
        ("keywords", STR_LIST, False, "Class-based TF-IDF terms of the theme's claims."),
        ("n_narratives", I64, False, "Narratives in the theme."),
        ("size", I64, False, "Claims in the theme."),
    ],
)

NARRATIVE_LINEAGE = _table(
    "narrative_lineage", ("run_id", "event", "narrative_id"), "one row per birth, split, merge or death",
    "How narratives come and go across runs. Ids are never reused; a full re-fit keeps the id of each narrative "
    "it matches (Hungarian matching on shared claims) and records what it could not match.",
    [
        ("run_id", STR, False, "Run in which it happened."),
        ("event", STR, False, "'birth' (new narrative), 'split' (new narrative carved out of related_narrative_id), "
                              "'merge' (narrative_id ended, its claims joined related_narrative_id) or 'death' "
                              "(narrative_id ended, its claims left unassigned or scattered)."),
        ("narrative_id", I64, False, "The narrative born, split off, merged away or ended."),
        ("related_narrative_id", I64, True, "The parent of a split, the survivor of a merge; NULL otherwise."),
        ("overlap", F64, True, "Claims shared with related_narrative_id / claims of narrative_id (split, merge); "
                               "NULL otherwise."),
    ],
)

NARRATIVE_TIMESERIES = _table(
    "narrative_timeseries", ("narrative_id", "grain", "period_start", "outlet"),
    "narrative x grain x period x outlet (outlet NULL = all outlets)",
    "Volume of each narrative per period, overall and per outlet. Undated claims are excluded.",
    [
        ("narrative_id", I64, False, "Narrative."),
        ("grain", STR, False, "'day', 'week' (ISO, starting Monday) or 'month'."),
        ("period_start", TS, False, "First day of the period."),
        ("outlet", STR, True, "Outlet; NULL = all outlets together."),
        ("n_claims", I64, False, "Claims of the narrative in the period (and outlet)."),
        ("n_articles", I64, False, "Distinct articles carrying it."),
        ("n_outlets", I64, False, "Distinct outlets carrying it (1 on outlet rows)."),
        ("share", F64, False, "n_claims / all dated claims in the same period and outlet scope."),
    ],
)

NARRATIVE_OUTLETS = _table(
    "narrative_outlets", ("narrative_id", "outlet"), "narrative x outlet",
    "Which outlets carry each narrative, how much of their output it is, and when they started. Dated claims only.",
    [
        ("narrative_id", I64, False, "Narrative."),
        ("outlet", STR, False, "Outlet ('(unknown)' when it could not be inferred)."),
        ("n_claims", I64, False, "Claims of the narrative at this outlet (reprinted copies included)."),
        ("n_articles", I64, False, "Articles of this outlet carrying it."),
        ("share_of_outlet", F64, False, "n_claims / all dated claims of the outlet."),
        ("first_seen", TS, False, "First dated claim at this outlet."),
        ("last_seen", TS, False, "Last dated claim at this outlet."),
        ("lag_days", F64, False, "Days from the narrative's first appearance anywhere to its first at this outlet."),
        ("n_reprinted", I64, False, "Of n_claims, how many are syndicated copies of another outlet's claim."),
    ],
)

NARRATIVE_SPREAD = _table(
    "narrative_spread", ("narrative_id",), "one row per narrative",
    "How each narrative spread: who carried it first and how many days it took to reach more outlets.",
    [
        ("narrative_id", I64, False, "Narrative."),
        ("first_seen", TS, False, "First dated claim anywhere."),
        ("first_outlet", STR, False, "Outlet of that first claim (ties: more claims that day, then name)."),
        ("n_outlets", I64, False, "Outlets that carried it."),
        ("days_to_2_outlets", F64, True, "Days until a second outlet carried it (NULL: never)."),
        ("days_to_3_outlets", F64, True, "Days until a third outlet carried it."),
        ("days_to_5_outlets", F64, True, "Days until a fifth outlet carried it."),
        ("outlet_join_days", pa.list_(F64), False, "The spread curve: days after first_seen at which each outlet joined, in order."),
        ("n_reprints", I64, False, "Claims that reached an outlet as a syndicated copy."),
        ("n_reprint_outlets", I64, False, "Outlets that carried it through copies."),
    ],
)

NARRATIVE_BURSTS = _table(
    "narrative_bursts", ("narrative_id", "grain", "period_start"), "one row per burst",
    "Periods where a narrative rose well above its own trailing baseline (Poisson z-score; see narratives/dynamics.py).",
    [
        ("narrative_id", I64, False, "Narrative."),
        ("grain", STR, False, "'day' or 'week'."),
        ("period_start", TS, False, "First day of the burst."),
        ("period_end", TS, False, "Last day of the burst."),
        ("score", F64, False, "Highest z-score (count - baseline) / sqrt(max(baseline, 0.5)) in the burst."),
        ("baseline", F64, False, "Mean claims per period over the trailing window before the burst."),
        ("peak_claims", I64, False, "Most claims in one period of the burst."),
    ],
)

NARRATIVE_DRIFT = _table(
    "narrative_drift", ("narrative_id", "grain", "period_start"), "narrative x grain x period with claims",
    "How each narrative's wording moves: centroid shifts and rising/falling terms per period.",
    [
        ("narrative_id", I64, False, "Narrative."),
        ("grain", STR, False, "'week' or 'month'."),
        ("period_start", TS, False, "First day of the period."),
        ("n_claims", I64, False, "Dated claims of the narrative in the period."),
        ("shift_prev", F64, True, "Cosine distance of the period's centroid to the previous period's (NULL for the first)."),
        ("shift_first", F64, False, "Cosine distance of the period's centroid to the first period's."),
        ("rising_terms", STR_LIST, False, "Terms whose class-based TF-IDF (over this narrative's periods) rose most since the previous period."),
        ("falling_terms", STR_LIST, False, "Terms whose class-based TF-IDF fell most since the previous period."),
        ("representative_claim_id", STR, False, "The period's claim closest to its centroid."),
        ("drift_score", F64, True, "shift_prev * min(1, n_claims / 5): sort by it to find wording changes."),
    ],
)

RUNS = _table(
    "runs", ("run_id",), "one row per run attempt",
    "Every run attempt, its status and counts.",
    [
        ("run_id", STR, False, "Run id (UTC time + random suffix)."),
        ("started_at", TS, False, "Start (UTC)."),
        ("finished_at", TS, True, "End (UTC); NULL while running or when killed."),
        ("status", STR, False, "'running', 'succeeded', 'failed' or 'interrupted' (killed; found by the next run)."),
        ("config_hash", STR, False, "Hash of the full configuration."),
        ("schema_version", I32, False, "Schema version of the tables written."),
        ("input", STR, True, "Input path of the run."),
        ("n_input_records", I64, True, "Records read from the input."),
        ("n_new_articles", I64, True, "Articles added by this run."),
        ("n_articles", I64, True, "Articles in the database after the run."),
        ("n_claims", I64, True, "Claims in the database after the run."),
        ("n_narratives", I64, True, "Narratives after the run."),
        ("n_themes", I64, True, "Themes after the run."),
        ("n_unassigned", I64, True, "Claims with narrative_id NULL."),
        ("n_undated", I64, True, "Claims without a trustworthy date (excluded from time series)."),
        ("n_quarantined", I64, True, "Records quarantined by this run."),
        ("n_embedded", I64, True, "Texts embedded by this run (not found in the embedding cache)."),
        ("error", STR, True, "Error message of a failed run."),
        ("n_reprints", I64, True, "Articles linked to an earlier original (syndication) after the run."),
        ("mode", STR, True, "'full' (all claims clustered, ids matched to the previous ones), 'incremental' (new "
                            "claims assigned to existing narratives, the rest clustered) or 'unchanged' (no new claims)."),
        ("n_new_claims", I64, True, "Claims added by this run."),
        ("n_assigned_existing", I64, True, "Claims this run assigned to narratives that already existed."),
        ("n_new_narratives", I64, True, "Narratives born (or split off) in this run."),
        ("n_ended_narratives", I64, True, "Narratives that ended (merged or died) in this run."),
    ],
)

QUARANTINE = _table(
    "quarantine", ("run_id", "source", "record_ref"), "one row per rejected record",
    "Rejected input records with the exact reason and the raw record; nothing is silently dropped.",
    [
        ("run_id", STR, False, "Run that rejected it."),
        ("source", STR, False, "Input file."),
        ("record_ref", STR, False, "Line, row or file name inside the source."),
        ("reason", STR, False, "Why it was rejected, naming the field and the fix."),
        ("raw", STR, True, "The raw record (truncated to 10,000 characters)."),
    ],
)

EMBEDDING_CACHE = _table(
    "embedding_cache", ("model", "text_hash"), "one row per (model, text)",
    "Internal: embeddings by model and text hash, so no text is embedded twice across runs.",
    [
        ("model", STR, False, "Model identifier."),
        ("text_hash", STR, False, "SHA-256 prefix of the embedded text."),
        ("embedding", pa.list_(pa.float32()), False, "Embedding vector."),
    ],
)

ARTICLE_SIGNATURES = _table(
    "article_signatures", ("article_id",), "one row per article",
    "Internal: each article's near-duplicate fingerprint, so a run compares only its new articles with the stored "
    "ones instead of fingerprinting every article again (narratives/syndication.py).",
    [
        ("article_id", STR, False, "The article."),
        ("params", STR, False, "The syndication settings the row was made with; rows made with other settings are "
                               "recomputed."),
        ("text_hash", STR, False, "BLAKE2b of the article's normalised words (exact copies share it; empty for no words)."),
        ("signature", pa.list_(pa.int64()), True, "MinHash of the word shingles (unsigned 64-bit values stored "
                                                  "bit for bit); NULL below syndication.min_words words."),
    ],
)

TERM_CACHE = _table(
    "term_cache", ("tokenizer", "text_hash"), "one row per (tokenizer, text)",
    "Internal: the keyword terms of each claim text (narratives/label.py), so a run tokenises only its new texts.",
    [
        ("tokenizer", STR, False, "Fingerprint of the tokenisation (pattern, stop words, n-grams); rows of another "
                                  "are not used."),
        ("text_hash", STR, False, "SHA-256 prefix of the text (as in embedding_cache)."),
        ("term_ids", pa.list_(pa.int64()), False, "The text's terms in order, repeats kept, as term_vocab ids."),
    ],
)

TERM_VOCAB = _table(
    "term_vocab", ("term_id",), "one row per term",
    "Internal: the terms term_cache refers to (ids are given in order of first appearance and never change).",
    [
        ("term_id", I64, False, "Term id."),
        ("term", STR, False, "The term (a word, or two words separated by one space)."),
    ],
)

ALL_TABLES: dict[str, TableDef] = {
    t.name: t
    for t in (ARTICLES, CLAIMS, REPRINTS, NARRATIVES, THEMES, NARRATIVE_LINEAGE, NARRATIVE_TIMESERIES, NARRATIVE_OUTLETS,
              NARRATIVE_SPREAD, NARRATIVE_BURSTS, NARRATIVE_DRIFT, RUNS, QUARANTINE, EMBEDDING_CACHE,
              ARTICLE_SIGNATURES, TERM_CACHE, TERM_VOCAB)
}
# state between runs, not exported
INTERNAL_TABLES = (EMBEDDING_CACHE.name, ARTICLE_SIGNATURES.name, TERM_CACHE.name, TERM_VOCAB.name)
EXPORTED_TABLES = [n for n in ALL_TABLES if n not in INTERNAL_TABLES]


def empty_frame(table: TableDef) -> pd.DataFrame:
    """An empty DataFrame with the table's columns (for stages that produce nothing)."""
    return table.schema.empty_table().to_pandas()


def to_arrow(table: TableDef, df: pd.DataFrame) -> pa.Table:
    """Convert ``df`` to the declared schema or raise :class:`SchemaError` naming the problem.

    Missing or extra columns, values that do not convert, and NULLs in non-nullable columns all fail:
    a run never writes an off-schema table.
    """
    missing = [c for c in table.columns if c not in df.columns]
    extra = [c for c in df.columns if c not in table.columns]
    if missing or extra:
        raise SchemaError(
            f"table {table.name!r} does not match its schema v{SCHEMA_VERSION}: "
            f"missing columns {missing}, undeclared columns {extra} (declare new columns in narratives/schemas.py)"
        )
    try:
        out = pa.Table.from_pandas(df[table.columns], schema=table.schema, preserve_index=False, safe=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as err:
        raise SchemaError(f"table {table.name!r}: values do not fit the declared types: {err}") from None
    for f in table.schema:
        if not f.nullable and out.column(f.name).null_count:
            raise SchemaError(
                f"table {table.name!r}: column {f.name!r} is declared NOT NULL but has "
                f"{out.column(f.name).null_count} NULL value(s)"
            )
    return out


def check_arrow(table: TableDef, tbl: pa.Table) -> None:
    """Raise :class:`SchemaError` unless ``tbl`` has exactly the declared columns and types."""
    got = [(f.name, f.type) for f in tbl.schema]
    want = [(f.name, f.type) for f in table.schema]
    if got != want:
        raise SchemaError(f"table {table.name!r} is off-schema: got {got}, declared {want}")
