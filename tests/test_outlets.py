from pathlib import Path

import pandas as pd
import pytest

from narratives.clean import clean_articles
from narratives.config import load_config
from narratives.errors import ConfigError
from narratives.ingest import ingest
from narratives.outlets import OutletAliases, outlet_key

ROOT = Path(__file__).resolve().parent.parent


def test_outlet_key():
    assert outlet_key("https://www.RT.com/news/123") == "rt.com"
    assert outlet_key("  Sputnik  Italia ") == "sputnik italia"
    assert outlet_key("Vremya pokazhet @Pervyi kanal, 21:55") == "vremya pokazhet @pervyi kanal, 21:55"


def test_alias_table_normalises_known_names_and_keeps_unknown():
    a = OutletAliases.load(str(ROOT / "configs" / "outlet_aliases.yaml"))
    assert {a.canonical(n) for n in ("sputniknews.com", "Sputnik", "SPUTNIK")} == {"Sputnik"}
    assert {a.canonical(n) for n in ("SNA.IT", "Sputnik Italia", "sputniknews.it")} == {"Sputnik Italia"}
    assert a.canonical("https://www.rt.com/russia/1") == "RT"
    assert a.canonical("Read Full Article at RT.com".split()[-1]) == "RT"
    assert a.canonical("Some Local Blog") == "Some Local Blog"
    assert a.canonical("  ") is None


def test_alias_errors(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        OutletAliases.load(str(tmp_path / "none.yaml"))
    bad = tmp_path / "a.yaml"
    bad.write_text("Sputnik: sputniknews.com\n")
    with pytest.raises(ConfigError, match="list of aliases"):
        OutletAliases.load(str(bad))
    assert OutletAliases.load(None).canonical("rt.com") == "rt.com"


def test_seed_outlets_normalised(seeds_dir):
    cfg = load_config(None)
    arts = clean_articles(ingest(seeds_dir, cfg.ingest).records, OutletAliases.load(cfg.ingest.outlet_aliases))
    outlets = dict(zip(arts["article_id"].str[:3], arts["outlet"]))
    assert outlets["000"] == outlets["001"] == "Sputnik"
    assert outlets["003"] == "Segodnya" and outlets["004"] == "RT"
    assert arts["published_at"].isna().all()  # page clocks and weather widgets are never taken as dates


def test_euvsdisinfo_ingests_through_config_mapping(data_dir):
    path = data_dir / "euvsdisinfo_kalkun" / "full_dataset.csv"
    cfg = load_config(ROOT / "configs" / "examples" / "euvsdisinfo_kalkun.yaml")
    res = ingest(path, cfg.ingest)
    raw = pd.read_csv(path, sep=";")
    assert res.n_read == len(raw) == 3071
    distinct = raw.drop_duplicates(subset=["source", "date", "outlet", "title", "summary"])
    empty = distinct["summary"].isna().sum()
    assert empty == 2 and len(res.quarantine) == 2
    assert all(q["reason"].startswith("empty text: field 'summary'") for q in res.quarantine)
    assert len(res.records) == len(distinct) - empty  # exact copies collapse; nothing else is lost
    assert res.records["published_at"].min() == pd.Timestamp("2015-02-11")
    assert res.records["published_at"].notna().all()
    arts = clean_articles(res.records, OutletAliases.load(cfg.ingest.outlet_aliases))
    counts = arts["outlet"].value_counts()
    assert "sputniknews.com" not in counts and "ria.ru" not in counts and "Russia Today" not in counts
    kept = distinct[distinct["summary"].notna()]
    assert counts["Sputnik"] == (kept["outlet"].isin(["Sputnik", "sputniknews.com", "Sputnik News"])).sum()
    assert counts["Sputnik"] > (kept["outlet"] == "Sputnik").sum()  # aliases merged
    assert counts["RIA Novosti"] > (kept["outlet"] == "RIA Novosti").sum()
