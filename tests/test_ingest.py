import json

import pandas as pd
import pytest

from narratives.config import IngestConfig
from narratives.errors import InputError
from narratives.ingest import ingest, parse_date, split_new

GOOD = {"id": "a1", "url": "https://x.test/a1", "outlet": "Sputnik", "published_at": "2026-01-05",
        "title": "T", "text": "NATO is moving closer to the borders of Russia, the Kremlin said."}


def _jsonl(path, lines):
    path.write_bytes(b"\n".join(l if isinstance(l, bytes) else l.encode() for l in lines) + b"\n")
    return path


def test_jsonl_accepts_and_quarantines_with_reasons(tmp_path):
    big = dict(GOOD, id="big", text="x " * 150)
    lines = [
        json.dumps(GOOD),
        "{not json",
        json.dumps([1, 2]),
        json.dumps(dict(GOOD, id="")),
        json.dumps(dict(GOOD, id="e", text="   ")),
        json.dumps(dict(GOOD, id="d", published_at="31/02/2026")),
        json.dumps(big),
        json.dumps(GOOD),                                  # exact duplicate: skipped, not quarantined
        json.dumps(dict(GOOD, text="Different content.")),  # same id, other content
        b'{"id": "bad-bytes", "text": "caf\xe9"}',
        json.dumps(dict(GOOD, id="u", published_at=None)),  # undated: kept
    ]
    res = ingest(_jsonl(tmp_path / "in.jsonl", lines), IngestConfig(max_text_chars=200))
    assert sorted(res.records["article_id"]) == ["a1", "u"]
    assert res.n_read == 11 and res.n_duplicates == 1
    reasons = {q["record_ref"]: q["reason"] for q in res.quarantine}
    assert reasons["line 2"].startswith("malformed JSON")
    assert "not a record" in reasons["line 3"]
    assert reasons["line 4"].startswith("missing id: field 'id'")
    assert reasons["line 5"].startswith("empty text: field 'text'")
    assert reasons["line 6"].startswith("unparseable date in field 'published_at'")
    assert reasons["line 7"].startswith("text too large: 300 characters > ingest.max_text_chars=200")
    assert "duplicate id 'a1' with different content" in reasons["line 9"]
    assert "undecodable bytes" in reasons["line 10"]
    assert len(res.quarantine) == 8
    assert all(q["raw"] for q in res.quarantine)
    undated = res.records.set_index("article_id").loc["u"]
    assert pd.isna(undated["published_at"])
    assert res.records.set_index("article_id").loc["a1", "source"] == "in.jsonl:line 1"


def test_csv_semicolon_with_field_map_and_date_format(tmp_path):
    p = tmp_path / "cases.csv"
    p.write_text('"date";"outlet";"title";"summary";"source"\n'
                 '"03.10.2017";"TV Zvezda";"Claim A";"Explosions were organised by soldiers.";"https://t/1"\n'
                 '"02.10.2017";"Sputnik";"Claim B";"EU officials supported the violence.";"https://t/2"\n')
    cfg = IngestConfig(field_map={"id": "source", "url": "source", "published_at": "date", "text": "summary"},
                       date_format="%d.%m.%Y")
    res = ingest(p, cfg)
    assert res.quarantine == []
    df = res.records.set_index("article_id")
    assert df.loc["https://t/1", "published_at"] == pd.Timestamp("2017-10-03")
    assert df.loc["https://t/2", "outlet"] == "Sputnik"
    assert df.loc["https://t/2", "source"] == "cases.csv:row 3"


def test_parquet_and_timezones(tmp_path):
    df = pd.DataFrame([dict(GOOD, published_at="2026-01-05T23:30:00+02:00")])
    df.to_parquet(tmp_path / "a.parquet")
    res = ingest(tmp_path / "a.parquet", IngestConfig())
    assert res.records["published_at"].iloc[0] == pd.Timestamp("2026-01-05 21:30:00")


def test_folder_of_pages(tmp_path):
    (tmp_path / "001_abc.txt").write_text("Listen Live\nNATO is expanding, Peskov said.\n")
    (tmp_path / "002_bad.txt").write_bytes(b"\xff\xfe\xfa broken")
    res = ingest(tmp_path, IngestConfig())
    assert list(res.records["article_id"]) == ["001_abc"]
    assert res.records["source"].iloc[0] == "001_abc.txt"
    assert res.quarantine[0]["record_ref"] == "002_bad.txt"


def test_unusable_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        ingest(tmp_path / "missing.jsonl", IngestConfig())
    (tmp_path / "x.xml").write_text("<a/>")
    with pytest.raises(InputError, match="unsupported format '.xml'"):
        ingest(tmp_path / "x.xml", IngestConfig())


def test_parse_date():
    assert parse_date("2026-01-05").year == 2026
    assert parse_date(None) is None
    with pytest.raises(ValueError, match="ingest.date_format"):
        parse_date("05.01.2026")
    with pytest.raises(ValueError, match="outside"):
        parse_date("1066-10-14")


def test_split_new_skips_known_and_quarantines_changed(tmp_path):
    res = ingest(_jsonl(tmp_path / "in.jsonl", [json.dumps(GOOD), json.dumps(dict(GOOD, id="b"))]), IngestConfig())
    existing = res.records.iloc[:1].copy()
    new, q, n_known = split_new(res.records, existing)
    assert list(new["article_id"]) == ["b"] and q == [] and n_known == 1
    changed = existing.assign(content_hash="other")
    new, q, n_known = split_new(res.records, changed)
    assert list(new["article_id"]) == ["b"] and n_known == 0
    assert "already holds different content" in q[0]["reason"]
