"""Read article records from JSONL, CSV, Parquet or a folder of raw ``.txt`` pages.

Every record that cannot be accepted becomes a quarantine row naming the record, the problem, the field and the
fix; the rest of the input goes on. Accepted records keep where they came from in ``source``. An exact duplicate
(same id, same content) is skipped and counted; blank lines are not records. ``tests/data/bad_input/README.md``
lists every kind of broken input and the reason it gets.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import json
import math
import numbers
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from narratives.config import CANONICAL_FIELDS, IngestConfig
from narratives.errors import InputError

RAW_LIMIT = 10_000
SUFFIXES = (".jsonl", ".csv", ".parquet", ".txt")
_BLANK = re.compile("[\\s\u200b\u200c\u200d\u2060\ufeff]*")  # whitespace and the zero-width characters strip() keeps
_SURROGATE = re.compile("[\ud800-\udfff]")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

Rows = Iterator[tuple[str, Any, "str | None"]]  # (record_ref, record-or-raw, error)


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
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return True
    return isinstance(value, str) and _BLANK.fullmatch(value) is not None


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for reasons ('an object', 'a number')."""
    name = ("null" if value is None else "boolean" if isinstance(value, bool) else "number"
            if isinstance(value, numbers.Real) else "string" if isinstance(value, str) else "object"
            if isinstance(value, dict) else "array"
            if isinstance(value, (list, tuple, set)) or hasattr(value, "__array__") else type(value).__name__)
    return name if value is None else ("an " if name[0] in "aeiou" else "a ") + name


def _short(value: Any, limit: int = 60) -> str:
    s = json.dumps(value, ensure_ascii=False, default=repr) if not isinstance(value, dict) else _raw(value)
    return s if len(s) <= limit else s[: limit - 3] + "..."


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
    elif not isinstance(value, str):
        epoch = " (epoch numbers are not read as dates)" if _kind(value) == "a number" else ""
        raise ValueError(f"got {_kind(value)} ({_short(value)}){epoch}; give one date string such as '2026-01-05'")
    else:
        s = value.strip()
        try:
            dt = datetime.strptime(s, fmt) if fmt else datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError as err:
            msg = str(err)
            raise ValueError(f"{s!r} " + (
                f"does not match ingest.date_format={fmt!r}; fix the value or the format"
                if msg.startswith(("time data", "unconverted data")) else
                "is not an ISO date (YYYY-MM-DD[THH:MM]); set ingest.date_format, e.g. '%d.%m.%Y'"
                if msg.startswith("Invalid isoformat") else
                f"cannot be read: ingest.date_format={fmt!r} is not a valid format ({msg}); fix the config"
                if "directive" in msg else f"is not a real calendar date or time ({msg}); fix the value")) from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    if not 1900 <= dt.year <= 2100:
        raise ValueError(f"year {dt.year} is outside 1900-2100; fix the year (a typo?) or leave the date empty")
    return dt


def _raw(obj: Any) -> str:
    s = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, default=str)
    s = s[:RAW_LIMIT].replace("\x00", "\\u0000")
    return s.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates cannot be stored as UTF-8


def _wide(encoding: str) -> bool:
    return codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


def _decode(raw: bytes, encoding: str, what: str) -> tuple[str, str | None]:
    """Decode one line or page; a leading BOM is dropped (file start, or files joined with ``cat``)."""
    try:
        return raw.decode(encoding).removeprefix("\ufeff"), None
    except UnicodeDecodeError as err:
        hint = ("it starts with a UTF-16 byte-order mark: set ingest.encoding: utf-16" if raw.startswith(_UTF16_BOMS)
                else "re-encode the file as UTF-8 or set ingest.encoding (e.g. 'cp1251')")
        return raw.decode(encoding, errors="replace"), (
            f"undecodable bytes: byte 0x{raw[err.start]:02x} at offset {err.start} of the {what} is not valid "
            f"{encoding}; {hint}")


def _text_lines(path: Path, encoding: str, newline: str) -> Iterator[tuple[str, str | None]]:
    """(line, error) for each line; a bad line does not stop the file (UTF-16/32 files are decoded whole)."""
    if _wide(encoding):
        try:
            yield from ((line, None) for line in io.StringIO(path.read_text(encoding), newline=newline))
        except UnicodeDecodeError as err:
            raise InputError(f"{path.name}: undecodable bytes at offset {err.start} ({encoding}); "
                             "re-encode as UTF-8 or set ingest.encoding") from None
        return
    with path.open("rb") as fh:  # JSONL streams line by line; CSV splits on \n, \r\n and \r like csv.reader
        yield from (_decode(raw, encoding, "line") for raw in (fh if newline == "\n" else fh.read().splitlines(True)))


class _DuplicateKey(Exception):
    """A JSON object names one key twice (``json`` would silently keep the last)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) < len(keys):
        raise _DuplicateKey(next(k for k in keys if keys.count(k) > 1))
    return dict(pairs)


def _json_problem(line: str, err: json.JSONDecodeError) -> str:
    before, at = line[: err.pos].rstrip(), line[err.pos: err.pos + 8]
    if err.msg == "Extra data":
        what, fix = ": more than one JSON value on the line", "put each object on its own line"
    elif before.endswith(",") and at[:1] in "}]":
        what, fix = f": a trailing comma before {at[0]!r}", "remove the comma"
    elif at.startswith("'"):
        what, fix = ": single-quoted strings are not JSON", "use double quotes"
    elif m := re.match(r"(None|True|False)\b", at):
        what, fix = f": {m.group(1)} is a Python literal, not JSON", "write null, true or false"
    elif err.msg.startswith("Unterminated string") or err.pos >= len(line.rstrip()):
        what, fix = ": the line ends before the JSON value is closed (truncated?)", "re-export the record"
    else:
        what, fix = "", "fix the line"
    return f"malformed JSON ({err.msg.removesuffix(' at')} at column {err.colno}){what}; {fix} (or remove the line)"


def _iter_jsonl(path: Path, encoding: str) -> Rows:
    for lineno, (line, err) in enumerate(_text_lines(path, encoding, "\n"), start=1):
        ref, line = f"line {lineno}", line.removeprefix("\ufeff")
        if err is not None:
            yield ref, line.rstrip("\r\n"), err
            continue
        if not line.strip():
            continue  # a blank line is not a record
        obj = err = None
        try:
            obj = json.loads(line, strict=False, object_pairs_hook=_unique_keys)  # strict=False: raw tabs are fine
        except json.JSONDecodeError as e:
            err = _json_problem(line, e)
        except RecursionError:
            err = "malformed JSON (nested too deeply to read); each line must be one flat JSON object"
        except _DuplicateKey as e:
            err = (f"duplicate key {e.args[0]!r}: a JSON object on the line names {e.args[0]!r} twice and only one "
                   "value can be kept; remove one of them")
        except ValueError as e:  # an integer longer than Python reads (4,300 digits)
            err = f"malformed JSON ({str(e).split(';')[0]}); write the number as a string in quotes or remove the line"
        if err is None and not isinstance(obj, dict):
            err = (f"not a record: the line is a JSON {_kind(obj).split()[-1]} ({_short(obj)}), not an object; "
                   'each line must be one JSON object {"id": ..., "text": ...}')
        yield ref, (obj if err is None else line.rstrip("\r\n")), err


def _iter_csv(path: Path, encoding: str, delimiter: str | None) -> Rows:
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 26))  # the default 128 KiB is smaller than long articles
    lines = list(_text_lines(path, encoding, ""))
    first = next((i for i, (line, _) in enumerate(lines) if line.strip()), None)
    if first is None:
        return
    if delimiter is None:  # the candidate the header uses most; a header names columns, so it is rarely quoted
        delimiter = max(",;\t|", key=lines[first][0].count)
    header = [h.strip() for h in next(csv.reader([lines[first][0]], delimiter=delimiter))]  # BOM already dropped
    cur, rowno = [first + 1], first + 1  # cur[0]: the next line csv.reader will be fed

    def feed() -> Iterator[str]:
        while cur[0] < len(lines):
            cur[0] += 1
            yield lines[cur[0] - 1][0]

    while cur[0] < len(lines):
        reader = csv.reader(feed(), delimiter=delimiter, strict=True)
        while True:
            start = cur[0]
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                rowno += 1
                yield f"row {rowno}", lines[start][0], (
                    f"unclosed quote: the quoted value opened on line {start + 1} runs on to line {cur[0]} ({err}); "
                    'close the quote, or write a quote inside a value as ""' if cur[0] - start > 1 else
                    f"stray quote on line {start + 1} ({err}); write a quote inside a quoted value as \"\"")
                cur[0] = start + 1  # resume on the next line: the lines the broken value swallowed may be good rows
                break
            rowno += 1
            ref, span, raw = f"row {rowno}", cur[0] - start, "".join(line for line, _ in lines[start:cur[0]])
            bad = next((e for _, e in lines[start:cur[0]] if e), None)
            if bad:
                yield ref, raw, bad
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                more = len(row) > len(header)
                yield ref, raw, (
                    f"{'too many' if more else 'too few'} fields: {len(row)} where the header has {len(header)} "
                    f"(delimiter {delimiter!r}); " + (
                        f"the row runs over lines {start + 1}-{cur[0]}: check for an unclosed quote on line {start + 1}"
                        if span > 1 else f"quote values that contain {delimiter!r}" if more else
                        "add the missing values (empty ones too) or check the delimiter"))
                if span > 1:
                    cur[0] = start + 1
                    break
                continue
            yield ref, dict(zip(header, row)), None


def _iter_parquet(path: Path) -> Rows:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{path.name}: not a readable Parquet file ({err}); re-export it") from None
    for rowno, rec in enumerate(table.to_pylist(), start=1):
        yield f"row {rowno}", rec, None


def _iter_pages(folder: Path, encoding: str) -> Rows:
    for path in sorted(p for p in folder.iterdir() if p.suffix == ".txt" and p.is_file()):
        data, name = path.read_bytes(), path.name
        if b"\x00" in data and not _wide(encoding) and not data.startswith(_UTF16_BOMS):
            yield name, data.decode(encoding, errors="replace"), (
                f"binary page: the file holds {data.count(0)} NUL bytes, so it is not a text page (an image, PDF "
                "or archive saved as .txt?); remove it or save the page's text")
            continue
        text, err = _decode(data, encoding, "page")
        if err is not None:
            yield name, text, err.replace("re-encode the file", "re-save the page")
        elif _missing(text):
            yield name, text, (f"empty text: the page is {'empty (0 bytes)' if not data else 'only whitespace'}; "
                               "re-scrape it or remove the file")
        else:
            yield name, {"id": path.stem, "text": text}, None


def _map_fields(rec: dict, field_map: dict[str, str]) -> dict:
    return {canonical: rec.get(field_map.get(canonical, canonical)) for canonical in CANONICAL_FIELDS}


def _how_missing(rec: dict, col: str, value: Any) -> str:
    if col not in rec:
        near = [k for k in rec if isinstance(k, str) and k.strip().lower() == col.lower()]
        return f"is absent (the record has {near[0]!r}: map it in ingest.field_map)" if near else "is absent"
    if not isinstance(value, str):
        return "is null" if value is None else f"is {_short(value)}"
    return ("is empty" if value == "" else "holds only whitespace" if not value.strip()
            else "holds only zero-width characters")


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 12.0 from a float column is the id 12
    return str(value).strip()


def _accept(rec: dict, cfg: IngestConfig, ref: str, source: str, is_raw: bool) -> tuple[dict | None, str | None]:
    m = _map_fields(rec, cfg.field_map)
    col = {f: cfg.field_map.get(f, f) for f in CANONICAL_FIELDS}
    for f in ("id", "text", "title", "outlet", "url"):
        v = m[f]
        if _missing(v) or isinstance(v, str):
            continue
        if f == "text":
            return None, (f"text must be a string: field {col[f]!r} holds {_kind(v)} ({_short(v)}); "
                          "put the article text there as a string")
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or math.isinf(v):
            what = "id must be a string or number" if f == "id" else f"{f} must be a string"
            kind = "a non-finite number" if isinstance(v, numbers.Real) and not isinstance(v, bool) else _kind(v)
            return None, f"{what}: field {col[f]!r} holds {kind} ({_short(v)}); give one plain value"
    if _missing(m["text"]):
        return None, (f"empty text: field {col['text']!r} {_how_missing(rec, col['text'], m['text'])}; "
                      "records need text to extract claims from")
    if _missing(m["id"]) and cfg.derive_ids:
        fields = "\x00".join("" if _missing(m[f]) else str(m[f]) for f in CANONICAL_FIELDS if f != "id")
        m["id"] = "h" + hashlib.sha256(fields.encode("utf-8", "backslashreplace")).hexdigest()[:20]
    if _missing(m["id"]):
        return None, (f"missing id: field {col['id']!r} {_how_missing(rec, col['id'], m['id'])}; give every record "
                      "a unique id (or set ingest.derive_ids: true to derive ids from the record's content)")
    for f in CANONICAL_FIELDS:
        v = m[f]
        if isinstance(v, str) and "\x00" in v:
            return None, (f"{f} contains NUL bytes: field {col[f]!r} holds {v.count(chr(0))} NUL character(s) "
                          f"(\\u0000) at character {v.index(chr(0))}; strip them from the export")
        if isinstance(v, str) and (s := _SURROGATE.search(v)):
            return None, (f"invalid unicode in field {col[f]!r}: unpaired surrogate \\u{ord(s.group()):04x} at "
                          f"character {s.start()} (a broken \\u escape, often a cut emoji); fix the escape or "
                          "re-export as UTF-8")
    text = m["text"]
    if len(text) > cfg.max_text_chars:
        return None, (f"text too large: {len(text):,} characters > ingest.max_text_chars={cfg.max_text_chars:,} in "
                      f"field {col['text']!r}; split the record or raise the limit")
    try:
        published = parse_date(m["published_at"], cfg.date_format)
    except ValueError as err:
        return None, f"unparseable date in field {col['published_at']!r}: {err}"
    opt = {f: None if _missing(m[f]) else _plain(m[f]) for f in ("url", "outlet", "title")}
    return {
        "article_id": _plain(m["id"]), **opt, "published_at": published, "text": text,
        "source": f"{source}:{ref}" if not is_raw else source,
        "content_hash": content_hash(opt["title"], text), "is_raw_page": is_raw,
    }, None


RECORD_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".tsv", ".parquet")


def check_input(path: str | Path, allow_empty_folder: bool = False) -> Path:
    """Raise :class:`InputError` unless ``path`` is a readable input (checked before a run starts): a record file,
    or a folder of raw .txt pages and/or record files (an inbox of daily batches). An empty folder is an error
    unless ``allow_empty_folder`` (a scheduled run on an inbox with nothing new yet)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"input {str(p)!r} does not exist (give a .jsonl/.csv/.parquet file or a folder of .txt pages)")
    if p.is_dir():
        if not allow_empty_folder and not any(q.suffix == ".txt" or q.suffix in RECORD_SUFFIXES for q in p.iterdir()):
            raise InputError(f"folder {str(p)!r} holds no .txt pages and no {'/'.join(RECORD_SUFFIXES)} record files")
    elif p.suffix not in RECORD_SUFFIXES:
        raise InputError(f"input {str(p)!r}: unsupported format {p.suffix!r}; use one of {', '.join(SUFFIXES)} or a folder")
    return p


def _file_rows(p: Path, cfg: IngestConfig):
    """(ref, record, error, source, is_raw_page) for every record of one record file."""
    if p.suffix in (".jsonl", ".ndjson"):
        rows = _iter_jsonl(p, cfg.encoding)
    elif p.suffix in (".csv", ".tsv"):
        rows = _iter_csv(p, cfg.encoding, cfg.csv_delimiter or ("\t" if p.suffix == ".tsv" else None))
    else:
        rows = _iter_parquet(p)
    for ref, rec, err in rows:
        yield ref, rec, err, p.name, False


def _all_rows(p: Path, cfg: IngestConfig):
    if not p.is_dir():
        yield from _file_rows(p, cfg)
        return
    if any(q.suffix == ".txt" for q in p.iterdir()):
        for ref, rec, err in _iter_pages(p, cfg.encoding):
            yield ref, rec, err, ref, True  # a raw page's source is its file name
    for f in sorted(q for q in p.iterdir() if q.is_file() and q.suffix in RECORD_SUFFIXES):
        yield from _file_rows(f, cfg)


def holds_more_records(path: str | Path, cfg: IngestConfig, limit: int) -> bool:
    """True when ``path`` holds more than ``limit`` records, rejected ones included (reads no further)."""
    p = check_input(path, allow_empty_folder=True)
    return sum(1 for _ in itertools.islice(_all_rows(p, cfg), limit + 1)) > limit


def ingest(path: str | Path, cfg: IngestConfig) -> IngestResult:
    """Read every record under ``path``; accepted records in ``records``, the rest in ``quarantine``. A folder
    may be empty (an inbox with nothing new): the result is then empty; the CLI rejects empty folders earlier."""
    p = check_input(path, allow_empty_folder=True)
    accepted: dict[str, dict] = {}
    quarantine: list[dict] = []
    n_read = n_dup = 0
    for ref, rec, err, source, is_raw in _all_rows(p, cfg):
        n_read += 1
        if err is None:
            row, err = _accept(rec, cfg, ref, source, is_raw)
        if err is not None:
            quarantine.append({"source": source, "record_ref": ref, "reason": err, "raw": _raw(rec)})
            continue
        prev = accepted.setdefault(row["article_id"], row)
        if prev is row:
            continue
        if prev["content_hash"] == row["content_hash"]:
            n_dup += 1  # an exact duplicate is skipped, not quarantined
        else:
            quarantine.append({"source": source, "record_ref": ref, "raw": _raw(rec), "reason": (
                f"duplicate id {row['article_id']!r} with different content (first seen at {prev['source']}); "
                "give each distinct record its own id")})
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
