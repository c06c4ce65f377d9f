"""Speaker attribution measured on the five raw seed pages against labels written by hand for this project
(page prefix, first characters of the claim, the person or body the claim is attributed to; None = the outlet's
own narration). The seeds themselves stay in ../shared/seeds."""

import pandas as pd
import pytest

from narratives.claims import extract_claims
from narratives.clean import clean_articles
from narratives.config import load_config
from narratives.ingest import ingest
from narratives.outlets import OutletAliases

GOLD = [
    ('000', 'The Kremlin spokesman said', 'Dmitry Peskov'),
    ('000', "Russia's actions to\xa0ensure", 'Dmitry Peskov'),
    ('000', '"In terms of\xa0national secu', 'Dmitry Peskov'),
    ('000', 'NATO Secretary Jens Stolte', 'Jens Stoltenberg'),
    ('000', 'UK Permanent Representativ', 'Adam Thomson'),
    ('000', '"Such statements by\xa0the NA', 'Dmitry Peskov'),
    ('000', '"Let us not forget that th', 'Dmitry Peskov'),
    ('001', 'Kremlin spokesman Dmitry P', 'Dmitry Peskov'),
    ('001', 'Russia is concerned over\xa0N', 'Dmitry Peskov'),
    ('001', '"Actions are taken to\xa0chan', 'Dmitry Peskov'),
    ('001', 'According to\xa0the spokesman', 'Dmitry Peskov'),
    ('001', '"The deterrent effect of\xa0n', 'Dmitry Peskov'),
    ('001', 'Russian President Vladimir', 'Vladimir Putin'),
    ('001', 'Russia claimed previously ', 'Russia'),
    ('001', 'Last year, Moscow announce', 'Moscow'),
    ('001', 'Russia has repeatedly expr', 'Russia'),
    ('002', 'The bloc’s expansion and i', 'Dmitry Peskov'),
    ('002', 'The current state of relat', 'Dmitry Peskov'),
    ('002', 'He claimed that the US-led', 'Dmitry Peskov'),
    ('002', 'He made his comment on Thu', None),
    ('002', 'Since the start of the Ukr', None),
    ('002', '“The bloc itself is alread', 'Dmitry Peskov'),
    ('002', 'He stated that the organiz', 'Dmitry Peskov'),
    ('002', '“NATO continues to fulfill', 'Dmitry Peskov'),
    ('002', 'Multiple Western leaders h', 'Multiple Western leaders'),
    ('002', 'Moscow has repeatedly dism', 'Moscow'),
    ('002', 'Russian President Vladimir', 'Vladimir Putin'),
    ('002', 'Moscow has for years voice', 'Moscow'),
    ('002', 'However, it has also warne', 'Moscow'),
    ('002', 'This, according to an earl', 'Vladimir Putin'),
    ('003', 'NATO is approaching Russia', 'Dmitry Peskov'),
    ('003', '“NATO is not a dove of pea', 'Dmitry Peskov'),
    ('003', 'A spokesman for the Russia', 'Dmitry Peskov'),
    ('003', '“This brought us closer to', 'Dmitry Peskov'),
    ('003', 'Peskov noted that NATO in ', 'Dmitry Peskov'),
    ('003', 'According to him, after so', 'Dmitry Peskov'),
    ('003', '“The United States began t', 'Dmitry Peskov'),
    ('003', 'Relations between Russia a', 'Dmitry Peskov'),
    ('003', 'According to him, the Russ', 'Dmitry Peskov'),
    ('003', 'According to Vladimir Puti', 'Dmitry Peskov'),
    ('003', 'Peskov also said that Russ', 'Dmitry Peskov'),
    ('003', '“We consider it necessary ', 'Dmitry Peskov'),
    ('003', 'On January 12, negotiation', None),
    ('003', 'The Kremlin also demanded ', 'Kremlin'),
    ('003', 'On January 10, negotiation', None),
    ('003', 'Press Secretary of the Pre', 'Dmitry Peskov'),
    ('003', 'According to him, this pos', 'Dmitry Peskov'),
    ('003', 'Russian President Vladimir', 'Vladimir Putin'),
    ('003', 'At the same time, he warne', 'Vladimir Putin'),
    ('004', 'Russia will get “more NATO', 'Jens Stoltenberg'),
    ('004', 'The Western alliance has p', 'Western alliance'),
    ('004', 'If Russia takes steps to t', 'Jens Stoltenberg'),
    ('004', 'Speaking at the Munich Sec', 'Jens Stoltenberg'),
    ('004', '“So, if the Kremlin’s aim ', 'Jens Stoltenberg'),
    ('004', 'At the same time, Stoltenb', 'Jens Stoltenberg'),
    ('004', 'The NATO chief made his re', 'Maria Zakharova'),
    ('004', 'Moscow has repeatedly stat', 'Moscow'),
    ('004', 'NATO, meanwhile, has refus', None),
    ('004', 'Western countries have bee', 'Western countries'),
    ('004', 'Moscow, however, denies ha', 'Moscow'),
]


def _same(pred, gold) -> bool:
    if gold is None or pred is None:
        return gold is None and pred is None
    return pred == gold or pred.split()[-1] == gold.split()[-1]  # "Peskov" == "Dmitry Peskov"


@pytest.fixture(scope="module")
def seed_claims(seeds_dir):
    cfg = load_config(None)
    arts = clean_articles(ingest(seeds_dir, cfg.ingest).records, OutletAliases.load(cfg.ingest.outlet_aliases))
    return extract_claims(arts, cfg.claims)


def test_every_labelled_statement_is_extracted_once(seed_claims):
    keys = list(zip(seed_claims["article_id"].str[:3], seed_claims["text"].str[:26]))
    gold_keys = [(p, t) for p, t, _ in GOLD]
    assert sorted(keys) == sorted(gold_keys)
    per_page = seed_claims.groupby(seed_claims["article_id"].str[:3]).size().to_dict()
    print("claims per page:", per_page)
    assert per_page == {"000": 7, "001": 9, "002": 14, "003": 19, "004": 11}


def test_speaker_accuracy_on_labelled_seeds(seed_claims):
    pred = {(a[:3], t[:26]): (None if pd.isna(s) else s)
            for a, t, s in zip(seed_claims["article_id"], seed_claims["text"], seed_claims["speaker"])}
    hits = [_same(pred[(p, t)], g) for p, t, g in GOLD]
    accuracy = sum(hits) / len(hits)
    attributed = [_same(pred[(p, t)], g) for p, t, g in GOLD if g is not None]
    print(f"speaker accuracy {accuracy:.3f} on {len(hits)} claims; {sum(attributed)}/{len(attributed)} attributed")
    assert accuracy >= 0.9
    assert seed_claims["outlet"].tolist().count("Sputnik") == 16


def test_quotes_are_flagged(seed_claims):
    quoted = seed_claims[seed_claims["text"].str.match(r"^[\"“]")]
    assert len(quoted) >= 12 and quoted["is_quote"].all()
