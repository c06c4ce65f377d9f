"""The bad-input corpus (``tests/data/bad_input``, every kind listed in its README.md).

Each kind of broken record gets exactly its expected outcome: quarantined at the expected ``record_ref`` with a
reason that starts with the expected prefix, accepted, skipped as an exact duplicate, or ignored (blank lines,
files that are not pages). The good records between the broken ones are all accepted and the counts add up.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from narratives.config import IngestConfig
from narratives.errors import InputError
from narratives.ingest import RAW_LIMIT, ingest

BAD = Path(__file__).parent / "data" / "bad_input"
SEMICOLON_MAP = {"id": "source", "url": "source", "published_at": "date", "text": "summary"}
CONFIGS = {
    "broken.jsonl": IngestConfig(max_text_chars=500),
    "broken.csv": IngestConfig(),
    "broken_semicolon.csv": IngestConfig(field_map=SEMICOLON_MAP, date_format="%d.%m.%Y"),
    "pages": IngestConfig(),
}
Q, OK, DUP, SKIP = "quarantined", "accepted", "duplicate", "ignored"
NEEDS = "; give every record a unique id"
EMPTY = "; records need text to extract claims from"

# (kind, file, record_ref, outcome, detail). detail: the reason's expected start (quarantined), the article id
# (accepted), the id it duplicates (duplicate); ignored rows are not records at all.
KINDS: list[tuple[str, str, str, str, str]] = [
    # ---- broken.jsonl (read with ingest.max_text_chars=500) ----
    ("UTF-8 BOM at the start of the file", "broken.jsonl", "line 1", OK, "g1"),
    ("truncated JSON", "broken.jsonl", "line 2",
     Q, "malformed JSON (Unterminated string starting at column 22): the line ends before the JSON value is closed"),
    ("trailing comma", "broken.jsonl", "line 4",
     Q, "malformed JSON (Expecting property name enclosed in double quotes at column 58): a trailing comma before '}'"),
    ("single-quoted JSON", "broken.jsonl", "line 5",
     Q, "malformed JSON (Expecting property name enclosed in double quotes at column 2): single-quoted strings"),
    ("Python literal None instead of null", "broken.jsonl", "line 6",
     Q, "malformed JSON (Expecting value at column 60): None is a Python literal, not JSON"),
    ("two objects on one line", "broken.jsonl", "line 7",
     Q, "malformed JSON (Extra data at column 33): more than one JSON value on the line"),
    ("CRLF line ending", "broken.jsonl", "line 8", OK, "g3"),
    ("JSON array instead of an object", "broken.jsonl", "line 9", Q, "not a record: the line is a JSON array"),
    ("JSON string instead of an object", "broken.jsonl", "line 10", Q, "not a record: the line is a JSON string"),
    ("JSON number instead of an object", "broken.jsonl", "line 11", Q, "not a record: the line is a JSON number (42)"),
    ("JSON null instead of an object", "broken.jsonl", "line 12", Q, "not a record: the line is a JSON null"),
    ("id missing", "broken.jsonl", "line 14", Q, "missing id: field 'id' is absent" + NEEDS),
    ("id null", "broken.jsonl", "line 15", Q, "missing id: field 'id' is null" + NEEDS),
    ("id empty", "broken.jsonl", "line 16", Q, "missing id: field 'id' is empty" + NEEDS),
    ("id whitespace only", "broken.jsonl", "line 17", Q, "missing id: field 'id' holds only whitespace" + NEEDS),
    ("id is an object", "broken.jsonl", "line 18",
     Q, "id must be a string or number: field 'id' holds an object"),
    ("id is a list", "broken.jsonl", "line 19", Q, "id must be a string or number: field 'id' holds an array"),
    ("id is a boolean", "broken.jsonl", "line 20",
     Q, "id must be a string or number: field 'id' holds a boolean (true)"),
    ("id is a number", "broken.jsonl", "line 21", OK, "1234"),
    ("line of only whitespace", "broken.jsonl", "line 22", SKIP, ""),
    ("text missing", "broken.jsonl", "line 23", Q, "empty text: field 'text' is absent" + EMPTY),
    ("text null", "broken.jsonl", "line 24", Q, "empty text: field 'text' is null" + EMPTY),
    ("text empty", "broken.jsonl", "line 25", Q, "empty text: field 'text' is empty" + EMPTY),
    ("text whitespace only", "broken.jsonl", "line 26", Q, "empty text: field 'text' holds only whitespace" + EMPTY),
    ("text only zero-width characters", "broken.jsonl", "line 27",
     Q, "empty text: field 'text' holds only zero-width characters" + EMPTY),
    ("text is an object", "broken.jsonl", "line 28", Q, "text must be a string: field 'text' holds an object"),
    ("text is a list", "broken.jsonl", "line 29", Q, "text must be a string: field 'text' holds an array"),
    ("text is a number", "broken.jsonl", "line 30", Q, "text must be a string: field 'text' holds a number (12345)"),
    ("title is an object", "broken.jsonl", "line 32", Q, "title must be a string: field 'title' holds an object"),
    ("outlet is a list", "broken.jsonl", "line 33", Q, "outlet must be a string: field 'outlet' holds an array"),
    ("url is an object", "broken.jsonl", "line 34", Q, "url must be a string: field 'url' holds an object"),
    ("unparseable date 'yesterday'", "broken.jsonl", "line 35",
     Q, "unparseable date in field 'published_at': 'yesterday' is not an ISO date"),
    ("impossible date 2026-02-30", "broken.jsonl", "line 36",
     Q, "unparseable date in field 'published_at': '2026-02-30' is not a real calendar date or time (day is out"),
    ("year out of range (1066)", "broken.jsonl", "line 37",
     Q, "unparseable date in field 'published_at': year 1066 is outside 1900-2100"),
    ("published_at is a list", "broken.jsonl", "line 38", Q, "unparseable date in field 'published_at': got an array"),
    ("published_at is an epoch number", "broken.jsonl", "line 39",
     Q, "unparseable date in field 'published_at': got a number (1767571200) (epoch numbers are not read as dates)"),
    ("date with a timezone offset", "broken.jsonl", "line 40", OK, "g7"),
    ("text larger than max_text_chars", "broken.jsonl", "line 41",
     Q, "text too large: 600 characters > ingest.max_text_chars=500 in field 'text'"),
    ("exact duplicate (same id, same content)", "broken.jsonl", "line 42", DUP, "g2"),
    ("same id, different content", "broken.jsonl", "line 43",
     Q, "duplicate id 'g3' with different content (first seen at broken.jsonl:line 8)"),
    ("invalid UTF-8 byte in a line", "broken.jsonl", "line 44",
     Q, "undecodable bytes: byte 0xe9 at offset 26 of the line is not valid utf-8"),
    ("NUL as a \\u0000 escape in text", "broken.jsonl", "line 45",
     Q, "text contains NUL bytes: field 'text' holds 1 NUL character(s)"),
    ("raw NUL byte inside the text string", "broken.jsonl", "line 46",
     Q, "text contains NUL bytes: field 'text' holds 1 NUL character(s)"),
    ("unpaired surrogate escape (cut emoji)", "broken.jsonl", "line 47",
     Q, "invalid unicode in field 'text': unpaired surrogate \\ud83d"),
    ("the same key twice in one object", "broken.jsonl", "line 48", Q, "duplicate key 'text': a JSON object on"),
    ("JSON nested too deeply", "broken.jsonl", "line 49", Q, "malformed JSON (nested too deeply to read)"),
    ("HTML injection (script tag) in text", "broken.jsonl", "line 50", OK, "g8"),
    ("unknown extra fields", "broken.jsonl", "line 51", OK, "g9"),
    ("keys in the wrong case (ID, Text)", "broken.jsonl", "line 52",
     Q, "empty text: field 'text' is absent (the record has 'Text': map it in ingest.field_map)"),
    ("BOM at the start of a later line (joined files)", "broken.jsonl", "line 53", OK, "g10"),
    ("raw tab inside a JSON string", "broken.jsonl", "line 54", OK, "g11"),
    ("text is NaN", "broken.jsonl", "line 55", Q, "empty text: field 'text' is NaN" + EMPTY),
    ("id is Infinity", "broken.jsonl", "line 56",
     Q, "id must be a string or number: field 'id' holds a non-finite number (Infinity)"),
    ("empty line", "broken.jsonl", "line 57", SKIP, ""),
    ("integer id longer than Python reads (5,000 digits)", "broken.jsonl", "line 59",
     Q, "malformed JSON (Exceeds the limit (4300 digits) for integer string conversion"),
    # ---- broken.csv (',' found from the header, LF) ----
    ("UTF-8 BOM before the CSV header", "broken.csv", "row 2", OK, "c1"),
    ("CSV row with too many fields", "broken.csv", "row 3",
     Q, "too many fields: 8 where the header has 6 (delimiter ','); quote values that contain ','"),
    ("CSV row with too few fields", "broken.csv", "row 4", Q, "too few fields: 5 where the header has 6"),
    ("CSV empty id cell", "broken.csv", "row 6", Q, "missing id: field 'id' is empty" + NEEDS),
    ("CSV empty text cell", "broken.csv", "row 7", Q, "empty text: field 'text' is empty" + EMPTY),
    ("CSV date not in ISO form (no date_format)", "broken.csv", "row 8",
     Q, "unparseable date in field 'published_at': '05/01/2026' is not an ISO date"),
    ("CSV stray quote inside a quoted value", "broken.csv", "row 9",
     Q, "stray quote on line 9 (',' expected after '\"'); write a quote inside a quoted value as \"\""),
    ("CSV NUL byte in a cell", "broken.csv", "row 11", Q, "text contains NUL bytes: field 'text'"),
    ("CSV invalid UTF-8 byte in a row", "broken.csv", "row 12",
     Q, "undecodable bytes: byte 0xe9 at offset 60 of the line is not valid utf-8"),
    ("CSV row of empty cells", "broken.csv", "row 13", SKIP, ""),
    ("CSV exact duplicate row", "broken.csv", "row 14", DUP, "c5"),
    ("CSV HTML injection (script tag) in text", "broken.csv", "row 15", OK, "c2"),
    ("CSV quoted value over two lines (valid)", "broken.csv", "row 16", OK, "c16"),
    ("CSV unclosed quote running to the end of the file", "broken.csv", "row 17",
     Q, "unclosed quote: the quoted value opened on line 18 runs on to line 20 (unexpected end of data)"),
    ("CSV rows after an unclosed quote are kept", "broken.csv", "row 18", OK, "c18"),
    # ---- broken_semicolon.csv (';', CRLF, all quoted, field_map id/url=source text=summary published_at=date) ----
    ("CRLF, ';' and quoted cells with a field_map", "broken_semicolon.csv", "row 2", OK, "https://t/1"),
    ("unquoted ';' inside a value", "broken_semicolon.csv", "row 3",
     Q, "too many fields: 7 where the header has 6 (delimiter ';')"),
    ("mapped text column empty (named by the user's column)", "broken_semicolon.csv", "row 4",
     Q, "empty text: field 'summary' is empty" + EMPTY),
    ("impossible date with ingest.date_format", "broken_semicolon.csv", "row 5",
     Q, "unparseable date in field 'date': '31.02.2017' is not a real calendar date or time"),
    ("date not matching ingest.date_format", "broken_semicolon.csv", "row 6",
     Q, "unparseable date in field 'date': '2017-10-03' does not match ingest.date_format='%d.%m.%Y'"),
    ("mapped id column empty", "broken_semicolon.csv", "row 7", Q, "missing id: field 'source' is empty" + NEEDS),
    ("unescaped quotes inside a quoted value", "broken_semicolon.csv", "row 9", Q, "stray quote on line 9"),
    ("unclosed quote running into the next line", "broken_semicolon.csv", "row 10",
     Q, "unclosed quote: the quoted value opened on line 10 runs on to line 11"),
    ("exact duplicate differing only in an unmapped column", "broken_semicolon.csv", "row 12", DUP, "https://t/7"),
    # ---- pages/ (raw .txt pages; the file name is the record_ref) ----
    ("page: ordinary page", "pages", "001_good.txt", OK, "001_good"),
    ("page: empty file", "pages", "002_empty.txt",
     Q, "empty text: the page is empty (0 bytes); re-scrape it or remove the file"),
    ("page: whitespace only", "pages", "003_blank.txt", Q, "empty text: the page is only whitespace"),
    ("page: undecodable bytes (Latin-1)", "pages", "004_latin1.txt",
     Q, "undecodable bytes: byte 0xe9 at offset 6 of the page is not valid utf-8; re-save the page as UTF-8"),
    ("page: binary file (PNG)", "pages", "005_binary.txt", Q, "binary page: the file holds 6 NUL bytes"),
    ("page: UTF-16 with its BOM", "pages", "006_utf16.txt",
     Q, "undecodable bytes: byte 0xff at offset 0 of the page is not valid utf-8; it starts with a UTF-16 "
        "byte-order mark: set ingest.encoding: utf-16"),
    ("page: only navigation cruft (left to cleaning)", "pages", "007_nav_cruft.txt", OK, "007_nav_cruft"),
    ("page: UTF-8 BOM and CRLF", "pages", "008_bom_crlf.txt", OK, "008_bom_crlf"),
    ("page: UTF-8 text with NUL bytes", "pages", "009_nul_utf8.txt", Q, "binary page: the file holds 3 NUL bytes"),
    ("page: HTML injection (script tag)", "pages", "010_script.txt", OK, "010_script"),
    ("page: not a .txt file", "pages", "011_notes.md", SKIP, ""),
]
# Good records placed between the broken ones: all must be accepted (nothing accepted is lost).
GOOD = {
    "broken.jsonl": {"line 3": "g2", "line 13": "g4", "line 31": "g6", "line 58": "g12", "line 60": "g13"},
    "broken.csv": {"row 5": "c5", "row 10": "c10", "row 19": "c19"},
    "broken_semicolon.csv": {"row 8": "https://t/7", "row 11": "https://t/10"},
    "pages": {},
}
CONTINUATION_LINES = {"broken.csv": 1, "broken_semicolon.csv": 0}  # extra physical lines of valid multi-line rows


@pytest.fixture(scope="module")
def results():
    return {name: ingest(BAD / name, cfg) for name, cfg in CONFIGS.items()}


def _kinds(name: str, outcome: str | None = None) -> list[tuple[str, str, str, str, str]]:
    return [k for k in KINDS if k[1] == name and (outcome is None or k[3] == outcome)]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_kind_gets_its_outcome(results, name):
    res = results[name]
    reasons = {q["record_ref"]: q["reason"] for q in res.quarantine}
    assert len(reasons) == len(res.quarantine), "one quarantine row per record_ref"
    expected_q = {ref: prefix for _, _, ref, _, prefix in _kinds(name, Q)}
    assert set(reasons) == set(expected_q), "quarantined exactly the broken records"
    for kind, _, ref, _, prefix in _kinds(name, Q):
        assert reasons[ref].startswith(prefix), f"{kind} ({ref}): {reasons[ref]!r}"
        assert "; " in reasons[ref], f"{kind}: the reason says how to fix it"
    accepted = dict(zip(res.records["article_id"], res.records["source"]))
    expected_ok = {aid: ref for _, _, ref, _, aid in _kinds(name, OK)} | {aid: ref for ref, aid in GOOD[name].items()}
    assert set(accepted) == set(expected_ok), "accepted exactly the good records, none lost"
    for aid, ref in expected_ok.items():
        assert accepted[aid] == (ref if name == "pages" else f"{name}:{ref}")
    assert res.n_duplicates == len(_kinds(name, DUP))
    for _, _, ref, _, original in _kinds(name, DUP):
        assert ref not in reasons and original in accepted  # skipped silently, the first copy kept


@pytest.mark.parametrize("name", list(CONFIGS))
def test_bookkeeping_adds_up(results, name):
    res = results[name]
    assert len(res.records) + len(res.quarantine) + res.n_duplicates == res.n_read
    ignored = len(_kinds(name, SKIP))
    if name == "pages":
        assert res.n_read == len(list((BAD / name).glob("*.txt"))) == len(list((BAD / name).iterdir())) - ignored
    elif name.endswith(".jsonl"):
        lines = (BAD / name).read_bytes().split(b"\n")[:-1]
        assert len(lines) == res.n_read + ignored  # every line read is a record, a duplicate or a blank line
        assert ignored == sum(1 for line in lines if not line.strip())
    else:
        lines = (BAD / name).read_bytes().splitlines()
        assert len(lines) == 1 + res.n_read + ignored + CONTINUATION_LINES[name]  # 1: the header


@pytest.mark.parametrize("name", list(CONFIGS))
def test_raw_is_kept_and_storable(results, name):
    for q in results[name].quarantine:
        assert isinstance(q["raw"], str) and len(q["raw"]) <= RAW_LIMIT
        assert q["raw"] or q["record_ref"] == "002_empty.txt"  # an empty page's raw record is empty
        q["raw"].encode("utf-8")  # no lone surrogates: the row can be written to DuckDB
        assert q["source"] == (q["record_ref"] if name == "pages" else name)


def test_accepted_values_survive_intact(results):
    jl = results["broken.jsonl"].records.set_index("article_id")
    assert jl.loc["g1", "title"] == "Story 1" and not jl.loc["g1", "text"].startswith("\ufeff")
    assert "<script>alert(1)</script>" in jl.loc["g8", "text"]  # valid text; escaping is the report's job
    assert jl.loc["g7", "published_at"] == pd.Timestamp("2026-01-05 21:30:00")
    assert "\t" in jl.loc["g11", "text"] and pd.isna(jl.loc["g11", "published_at"])
    assert jl.loc["1234", "url"] == "https://news.example/a/5"
    assert not jl.loc["g3", "text"].endswith("\r")
    csv_ = results["broken.csv"].records.set_index("article_id")
    assert csv_.loc["c16", "text"] == "First paragraph of the story.\nSecond paragraph, with a comma."
    assert "<script>alert(1)</script>" in csv_.loc["c2", "text"]
    semi = results["broken_semicolon.csv"].records.set_index("article_id")
    assert semi.loc["https://t/1", "published_at"] == pd.Timestamp("2017-10-03")
    pages = results["pages"].records.set_index("article_id")
    assert pages.loc["008_bom_crlf", "text"].startswith("The governor said")
    assert pages.loc["007_nav_cruft", "text"].startswith("Home | World")  # cleaning decides, not ingest


def test_readme_lists_every_kind():
    readme = (BAD / "README.md").read_text(encoding="utf-8")
    missing = [k[0] for k in KINDS if f"| {k[0].replace('|', '&#124;')} |" not in readme]
    assert not missing, f"kinds missing from tests/data/bad_input/README.md: {missing}"


PARQUET_KINDS = [  # written by the test (no committed binary); row, outcome, detail
    ("parquet: good row", "row 1", OK, "p1"),
    ("parquet: null id", "row 2", Q, "missing id: field 'id' is null"),
    ("parquet: null text", "row 3", Q, "empty text: field 'text' is null"),
    ("parquet: timestamp in 1850", "row 4", Q, "unparseable date in field 'published_at': year 1850 is outside"),
    ("parquet: NUL in text", "row 5", Q, "text contains NUL bytes: field 'text'"),
    ("parquet: tz-aware timestamp", "row 6", OK, "p6"),
    ("parquet: exact duplicate row", "row 7", DUP, "p1"),
    ("parquet: list-typed title", "row 8", Q, "title must be a string: field 'title' holds an array"),
]


def test_parquet_kinds(tmp_path):
    table = pa.table({
        "id": pa.array(["p1", None, "p3", "p4", "p5", "p6", "p1", "p8"]),
        "text": ["Good text one.", "No id.", None, "Old.", "NUL\x00inside.", "Good text six.", "Good text one.", "T."],
        "published_at": pa.array([datetime(2026, 1, 5), None, None, datetime(1850, 1, 1), None,
                                  datetime(2026, 1, 5, 23, 30, tzinfo=timezone.utc), datetime(2026, 1, 5), None],
                                 type=pa.timestamp("us")),
        "title": pa.array([None] * 7 + [["a", "b"]], type=pa.list_(pa.string())),
    })
    pq.write_table(table, tmp_path / "broken.parquet")
    res = ingest(tmp_path / "broken.parquet", IngestConfig())
    reasons = {q["record_ref"]: q["reason"] for q in res.quarantine}
    assert set(reasons) == {ref for _, ref, outcome, _ in PARQUET_KINDS if outcome == Q}
    for kind, ref, outcome, detail in PARQUET_KINDS:
        if outcome == Q:
            assert reasons[ref].startswith(detail), kind
    assert sorted(res.records["article_id"]) == ["p1", "p6"] and res.n_duplicates == 1
    assert len(res.records) + len(res.quarantine) + res.n_duplicates == res.n_read == 8
    ints = pa.table({"id": pa.array([7, 8], pa.int64()), "text": ["Integer ids are fine.", "Another one."]})
    pq.write_table(ints, tmp_path / "ints.parquet")
    assert list(ingest(tmp_path / "ints.parquet", IngestConfig()).records["article_id"]) == ["7", "8"]


def test_unusable_files_and_empty_files(tmp_path):
    (tmp_path / "corrupt.parquet").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        ingest(tmp_path / "corrupt.parquet", IngestConfig())
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "header_only.csv").write_text("id,text\n")
    for name in ("empty.jsonl", "header_only.csv"):
        res = ingest(tmp_path / name, IngestConfig())
        assert res.n_read == 0 and res.records.empty and res.quarantine == []


def test_the_fixes_the_reasons_suggest_work(tmp_path):
    """'set ingest.encoding: utf-16' and 'map it in ingest.field_map' make the quarantined records acceptable."""
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "006_utf16.txt").write_bytes((BAD / "pages" / "006_utf16.txt").read_bytes())
    res = ingest(pages, IngestConfig(encoding="utf-16"))
    assert res.quarantine == [] and res.records["text"].iloc[0].startswith("The ministry denied")
    (tmp_path / "u16.jsonl").write_bytes('{"id": "a", "text": "UTF-16 lines."}\n{"id": "b", "text": "Two."}\n'
                                         .encode("utf-16"))
    (tmp_path / "u16.csv").write_bytes("id,text\na,UTF-16 rows.\nb,Two.\n".encode("utf-16"))
    for name in ("u16.jsonl", "u16.csv"):
        res = ingest(tmp_path / name, IngestConfig(encoding="utf-16"))
        assert list(res.records["article_id"]) == ["a", "b"] and res.quarantine == []
    (tmp_path / "case.jsonl").write_text('{"ID": "b52", "Text": "Capitalised keys."}\n')
    res = ingest(tmp_path / "case.jsonl", IngestConfig(field_map={"id": "ID", "text": "Text"}))
    assert list(res.records["article_id"]) == ["b52"]


def test_summary(results, capsys):
    kinds = {k[0] for k in KINDS} | {k[0] for k in PARQUET_KINDS}
    per_file = {name: len(res.quarantine) for name, res in results.items()}
    outcomes = Counter(k[3] for k in KINDS) + Counter(k[2] for k in PARQUET_KINDS)
    assert len(kinds) == len(KINDS) + len(PARQUET_KINDS) >= 30
    line = (f"bad-input corpus: {len(kinds)} kinds ({', '.join(f'{n} {o}' for o, n in outcomes.most_common())}); "
            f"quarantined per file: {', '.join(f'{k}={v}' for k, v in per_file.items())}, "
            f"broken.parquet={sum(1 for k in PARQUET_KINDS if k[2] == Q)} (written by the test)")
    with capsys.disabled():  # shown without -s: the closing note quotes it
        print("\n" + line)
