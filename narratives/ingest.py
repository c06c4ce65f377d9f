"""Read article records from JSONL, CSV, Parquet or a folder of raw ``.txt`` pages.

Every record that cannot be accepted becomes a quarantine row naming the record, the field and the fix;
the rest of the input goes on. Accepted records keep where they came from in ``source``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pyarrow.parquet as pq

from narratives.config import CANONICAL_FIELDS, IngestConfig
from narratives.errors import InputError

RAW_LIMIT = 10_000
SUFFIXES = (".jsonl", ".csv", ".parquet", ".txt")


@dataclass
class IngestResult:
    records: pd.DataFrame  # columns: RECORD_COLUMNS
    quarantine: list[dict] = field(default_factory=list)  # source, record_ref, reason, raw
    n_read: int = 0
    n_duplicates: int = 0


RECORD_COLUMNS = ["article_id", "url", "outlet", "published_at", "title", "text", "source", "content_hash", "is_raw_page"]


def content_hash(title: str | None, text: str) -> str:
    return hashlib.sha256(f"{title or ''}\x00{text}".encode("utf-8")).hexdigest()[:24]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def parse_date(value: Any, fmt: str | None = None) -> datetime | None:
    """Parse a record's date into naive UTC; ``None`` for a missing value; ``ValueError`` when unparseable."""
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        s = str(value).strip()
        if fmt:
            dt = datetime.strptime(s, fmt)
        else:
            try:
                dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"{s!r} is not an ISO date (YYYY-MM-DD[THH:MM]); set ingest.date_format, e.g. '%d.%m.%Y'"
                ) from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    if not 1900 <= dt.year <= 2100:
        raise ValueError(f"year {dt.year} is outside 1900-2100")
    return dt


def _raw(obj: Any) -> str:
    s = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, default=str)
    return s[:RAW_LIMIT]


def _iter_jsonl(path: Path, encoding: str) -> Iterator[tuple[str, Any, str | None]]:
    """Yield (record_ref, record-or-raw, error)."""
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            ref = f"line {lineno}"
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as err:
                yield ref, raw.decode(encoding, errors="replace"), (
                    f"undecodable bytes at offset {err.start} ({encoding}); re-encode the file as UTF-8 "
                    "or set ingest.encoding"
                )
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                yield ref, line, f"malformed JSON ({err.msg} at column {err.colno}); fix or remove the line"
                continue
            if not isinstance(obj, dict):
                yield ref, line, f"a JSON {type(obj).__name__} is not a record; each line must be a JSON object"
                continue
            yield ref, obj, None


def _iter_csv(path: Path, encoding: str, delimiter: str | None) -> Iterator[tuple[str, Any, str | None]]:
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        raise InputError(
            f"{path.name}: undecodable bytes at offset {err.start} ({encoding}); re-encode as UTF-8 or set ingest.encoding"
        ) from None
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:20_000], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    for rowno, row in enumerate(reader, start=2):
        ref = f"row {rowno}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield ref, delimiter.join(row), (
                f"{len(row)} fields where the header has {len(header)}; check quoting and the delimiter {delimiter!r}"
            )
            continue
        yield ref, dict(zip(header, row)), None


def _iter_parquet(path: Path) -> Iterator[tuple[str, Any, str | None]]:
    table = pq.read_table(path)
    for rowno, rec in enumerate(table.to_pylist(), start=1):
        yield f"row {rowno}", rec, None


def _iter_pages(folder: Path, encoding: str) -> Iterator[tuple[str, Any, str | None, str]]:
    for path in sorted(p for p in folder.iterdir() if p.suffix == ".txt" and p.is_file()):
        data = path.read_bytes()
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as err:
            yield path.name, data.decode(encoding, errors="replace"), (
                f"undecodable bytes at offset {err.start} ({encoding}); re-save the page as UTF-8"
            ), path.name
            continue
        yield path.name, {"id": path.stem, "text": text}, None, path.name


def _map_fields(rec: dict, field_map: dict[str, str]) -> dict:
    out = {}
    for canonical in CANONICAL_FIELDS:
        col = field_map.get(canonical, canonical)
        out[canonical] = rec.get(col)
    return out


def _accept(rec: dict, cfg: IngestConfig, ref: str, source: str, is_raw: bool) -> tuple[dict | None, str | None]:
    m = _map_fields(rec, cfg.field_map)
    id_col = cfg.field_map.get("id", "id")
    text_col = cfg.field_map.get("text", "text")
    if _missing(m["text"]):
        return None, f"empty text: field {text_col!r} is empty or absent; records need text to extract claims from"
    if _missing(m["id"]) and cfg.derive_ids:
        fields = "\x00".join("" if _missing(m[f]) else str(m[f]) for f in CANONICAL_FIELDS if f != "id")
        m["id"] = "h" + hashlib.sha256(fields.encode("utf-8")).hexdigest()[:20]
    if _missing(m["id"]):
        return None, (f"missing id: field {id_col!r} is empty or absent; give every record a unique id "
                      "(or set ingest.derive_ids: true to derive ids from the record's content)")
    text = str(m["text"])
    if len(text) > cfg.max_text_chars:
        return None, (
            f"text too large: {len(text):,} characters > ingest.max_text_chars={cfg.max_text_chars:,}; "
            "split the record or raise the limit"
        )
    try:
        published = parse_date(m["published_at"], cfg.date_format)
    except ValueError as err:
        date_col = cfg.field_map.get("published_at", "published_at")
        return None, f"unparseable date in field {date_col!r}: {err}"
    title = None if _missing(m["title"]) else str(m["title"]).strip()
    return {
        "article_id": str(m["id"]).strip(),
        "url": None if _missing(m["url"]) else str(m["url"]).strip(),
        "outlet": None if _missing(m["outlet"]) else str(m["outlet"]).strip(),
        "published_at": published,
        "title": title,
        "text": text,
        "source": f"{source}:{ref}" if not is_raw else source,
        "content_hash": content_hash(title, text),
        "is_raw_page": is_raw,
    }, None


def check_input(path: str | Path) -> Path:
    """Raise :class:`InputError` unless ``path`` is a readable input (checked before a run starts)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"input {str(p)!r} does not exist (give a .jsonl/.csv/.parquet file or a folder of .txt pages)")
    if p.is_dir():
        if not any(q.suffix == ".txt" for q in p.iterdir()):
            raise InputError(f"folder {str(p)!r} holds no .txt pages")
    elif p.suffix not in (".jsonl", ".ndjson", ".csv", ".tsv", ".parquet"):
        raise InputError(f"input {str(p)!r}: unsupported format {p.suffix!r}; use one of {', '.join(SUFFIXES)} or a folder")
    return p


def ingest(path: str | Path, cfg: IngestConfig) -> IngestResult:
    """Read every record under ``path``; accepted records in ``records``, the rest in ``quarantine``."""
    p = check_input(path)
    if p.is_dir():
        rows = ((ref, rec, err, src) for ref, rec, err, src in _iter_pages(p, cfg.encoding))
        is_raw = True
    elif p.suffix in (".jsonl", ".ndjson"):
        rows = ((ref, rec, err, p.name) for ref, rec, err in _iter_jsonl(p, cfg.encoding))
        is_raw = False
    elif p.suffix in (".csv", ".tsv"):
        delim = cfg.csv_delimiter or ("\t" if p.suffix == ".tsv" else None)
        rows = ((ref, rec, err, p.name) for ref, rec, err in _iter_csv(p, cfg.encoding, delim))
        is_raw = False
    elif p.suffix == ".parquet":
        rows = ((ref, rec, err, p.name) for ref, rec, err in _iter_parquet(p))
        is_raw = False
    else:
        raise InputError(f"input {str(p)!r}: unsupported format {p.suffix!r}; use one of {', '.join(SUFFIXES)} or a folder")

    accepted: dict[str, dict] = {}
    quarantine: list[dict] = []
    n_read = n_dup = 0
    for ref, rec, err, src in rows:
        n_read += 1
        if err is None:
            row, err = _accept(rec, cfg, ref, src, is_raw)
        if err is not None:
            quarantine.append({"source": src, "record_ref": ref, "reason": err, "raw": _raw(rec)})
            continue
        prev = accepted.get(row["article_id"])
        if prev is not None:
            if prev["content_hash"] == row["content_hash"]:
                n_dup += 1
                continue
            quarantine.append({
                "source": src, "record_ref": ref, "raw": _raw(rec),
                "reason": (
                    f"duplicate id {row['article_id']!r} with different content (first seen at {prev['source']}); "
                    "give each distinct record its own id"
                ),
            })
            continue
        accepted[row["article_id"]] = row
    df = pd.DataFrame(list(accepted.values()), columns=RECORD_COLUMNS)
    df["published_at"] = pd.to_datetime(df["published_at"]).astype("datetime64[us]")
    return IngestResult(records=df, quarantine=quarantine, n_read=n_read, n_duplicates=n_dup)


def split_new(records: pd.DataFrame, existing: pd.DataFrame) -> tuple[pd.DataFrame, list[dict], int]:
    """Records not yet in the database. The same id with the same content is skipped (ingesting the same input
    twice adds nothing); the same id with different content is quarantined. Returns (new, quarantine, n_known)."""
    known = dict(zip(existing["article_id"], existing["content_hash"])) if len(existing) else {}
    keep, quarantine, n_known = [], [], 0
    for row in records.itertuples(index=False):
        prev = known.get(row.article_id)
        if prev is None:
            keep.append(True)
            continue
        keep.append(False)
        if prev == row.content_hash:
            n_known += 1
        else:
            quarantine.append({
                "source": row.source.split(":")[0], "record_ref": row.source, "raw": _raw(row.text),
                "reason": (f"duplicate id {row.article_id!r}: the database already holds different content under "
                           "this id; give the changed record a new id"),
            })
    return records[pd.Series(keep, index=records.index, dtype=bool)].reset_index(drop=True), quarantine, n_known
