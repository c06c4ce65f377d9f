"""Render ``outputs/README.md`` (every table, column, type, grain and key, plus example SQL) from the declared
schemas: ``python -m narratives.tables_doc > outputs/README.md``. A test keeps the file in sync."""

from __future__ import annotations

from narratives.schemas import ALL_TABLES, DUCKDB_TYPES, INTERNAL_TABLES, SCHEMA_VERSION

INTRO = f"""# Output tables

A run writes these tables to the DuckDB file (`outputs/narratives.duckdb` by default) and exports each one to
`outputs/tables/<table>.parquet` (all but the internal {", ".join(f"`{n}`" for n in INTERNAL_TABLES)}). Their schemas are declared once, in
`narratives/schemas.py` (schema version **{SCHEMA_VERSION}**, written to every `runs` row); a run that would write an
off-schema table fails before anything is written, and all tables of a run are written in one transaction.
Tables only grow: new columns are appended and added to existing databases; columns are never renamed.

Times are UTC without a time zone. `published_at` NULL means undated: such claims are kept in `claims` but
excluded from `narrative_timeseries`, and counted in `runs.n_undated`.
"""

SQL = """## Example queries (DuckDB)

Each of these runs against a real run's database in the test suite (`tests/test_flow.py`).

```sql
-- Top growing narratives this week vs last week (all outlets)
WITH w AS (
  SELECT narrative_id, period_start, n_claims FROM narrative_timeseries
  WHERE grain = 'week' AND outlet IS NULL),
cur AS (SELECT narrative_id, n_claims FROM w WHERE period_start = (SELECT max(period_start) FROM w)),
prev AS (SELECT narrative_id, n_claims FROM w
         WHERE period_start = (SELECT max(period_start) FROM w) - INTERVAL 7 DAY)
SELECT n.narrative_id, n.label, coalesce(cur.n_claims, 0) AS this_week, coalesce(prev.n_claims, 0) AS last_week,
       coalesce(cur.n_claims, 0) - coalesce(prev.n_claims, 0) AS growth
FROM narratives n LEFT JOIN cur USING (narrative_id) LEFT JOIN prev USING (narrative_id)
ORDER BY growth DESC LIMIT 10;

-- Narrative x outlet matrix (reprinted claims count for every outlet that carried them)
SELECT narrative_id, outlet, count(*) AS n_claims FROM claims
WHERE narrative_id IS NOT NULL GROUP BY ALL ORDER BY narrative_id, n_claims DESC;

-- One narrative's weekly timeline, overall and per outlet
SELECT period_start, coalesce(outlet, '(all)') AS outlet, n_claims, share FROM narrative_timeseries
WHERE narrative_id = 1 AND grain = 'week' ORDER BY period_start, outlet NULLS FIRST;

-- Who said it: speakers of a narrative's claims
SELECT speaker, count(*) FROM claims WHERE narrative_id = 1 AND speaker IS NOT NULL GROUP BY ALL ORDER BY 2 DESC;

-- Syndication: which outlets reprint whom
SELECT original_outlet, outlet, count(*) AS n_reprints FROM reprints GROUP BY ALL ORDER BY 3 DESC;

-- Narratives that burst in the last 14 days of data
SELECT b.narrative_id, n.label, b.grain, b.period_start, b.peak_claims, b.score FROM narrative_bursts b
JOIN narratives n USING (narrative_id)
WHERE b.period_end >= (SELECT max(published_at) FROM claims) - INTERVAL 14 DAY ORDER BY b.score DESC;

-- Where a narrative came from and what became of the ones that ended (ids are never reused)
SELECT run_id, event, narrative_id, related_narrative_id, overlap FROM narrative_lineage
WHERE narrative_id = 1 OR related_narrative_id = 1 ORDER BY run_id;

-- The last runs: what each one did
SELECT run_id, status, mode, started_at, n_new_claims, n_assigned_existing, n_new_narratives, n_ended_narratives,
       n_claims, n_narratives, n_unassigned, n_quarantined FROM runs
ORDER BY started_at DESC;
```
"""


def render() -> str:
    out = [INTRO]
    for name, t in ALL_TABLES.items():
        out += [f"## `{name}`", "", t.doc, "", f"- grain: {t.grain}", f"- key: ({', '.join(t.key)})", "",
                "| column | type | null | meaning |", "|---|---|---|---|"]
        for f in t.schema:
            out.append(f"| `{f.name}` | {DUCKDB_TYPES[f.type]} | {'yes' if f.nullable else 'no'} | {t.column_docs[f.name]} |")
        out.append("")
    out.append(SQL)
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
