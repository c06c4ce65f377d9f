import pandas as pd
import pytest

from narratives.claims import SpeakerResolver, extract_claims, is_claim, split_sentences, strip_attribution
from narratives.clean import clean_articles, clean_text, infer_outlet
from narratives.config import ClaimsConfig, IngestConfig
from narratives.ingest import ingest

CRUFT = ["Listen Live", "Get short URL", "Community standards", "- Advertisement -", "Read more",
         "You May Also Like", "Comment via Facebook", "Latest Posts", "Stay in touch", "New York",
         "19.9 C", "07:10 GMT26 January 2021", "Estimated read time 2 min read"]


def test_clean_text_removes_cruft_keeps_body():
    page = "\n".join([
        "07:10 GMT26 January 2021", "Listen Live", "    Get short URL", "NATO chief issues warning",
        "© Sputnik / Kirill Kallinikov", "MOSCOW (Sputnik) — Russia's actions threaten no one, Peskov said Monday.",
        "Read more", "Putin Launches Nuclear War Drills", "NATO, Kremlin, Dmitry Peskov, Russia",
        "- Advertisement -", "• The Kremlin also demanded guarantees from the West.", "Source From: Segodnya",
    ])
    res = clean_text(page, title="NATO chief issues warning")
    assert res.text.split("\n") == [
        "MOSCOW (Sputnik) — Russia's actions threaten no one, Peskov said Monday.",
        "The Kremlin also demanded guarantees from the West.",
    ]
    assert res.outlet_hint == "Segodnya"


def test_infer_outlet_markers():
    assert infer_outlet("blah has said Read Full Article at RT.com\nmore") == "RT.com"
    assert infer_outlet("MOSCOW (Sputnik) — Russia said.") == "Sputnik"
    assert infer_outlet("No marker here.", url="https://www.rt.com/news/1") == "RT"
    assert infer_outlet("No marker here.") is None


def test_segmentation_keeps_quotes_and_abbreviations():
    text = ('"Let us not forget this. The bloc was created for aggression," Peskov said. '
            'Gen. Smith met U.S. officials on Jan. 5 in Washington. Is this true? It is.')
    sents = [s.text for s in split_sentences(text)]
    assert sents == [
        '"Let us not forget this. The bloc was created for aggression," Peskov said.',
        "Gen. Smith met U.S. officials on Jan. 5 in Washington.",
        "Is this true?",
        "It is.",
    ]
    assert split_sentences(text)[0].is_quote


def test_curly_multi_sentence_quote():
    text = "“NATO is not a dove of peace. NATO is an instrument of confrontation,” Peskov said. Then he left the room."
    sents = [s.text for s in split_sentences(text)]
    assert sents[0].startswith("“NATO is not a dove") and sents[0].endswith("Peskov said.")
    assert len(sents) == 2


def test_claim_selection():
    cfg = ClaimsConfig()
    assert is_claim("NATO is moving its military infrastructure toward Russia's borders.", cfg)
    assert not is_claim("Will NATO keep moving toward Russia's borders again?", cfg)
    assert not is_claim("Putin vs. Ukraine in NATO.", cfg)  # fragment
    assert not is_claim("By John Smith and Anna Petrova of the newsroom.", cfg)
    assert not is_claim("NATO Moves Its Military Infrastructure Toward The Borders.", cfg)
    assert not is_claim("Russia and NATO in confrontation.", cfg, title="Russia and NATO in confrontation")


@pytest.mark.parametrize("sentence, speaker", [
    ("Kremlin spokesman Dmitry Peskov said that Russia is forced to respond to NATO.", "Dmitry Peskov"),
    ('"Such statements testify to the aggressive nature of NATO," Peskov stressed.', "Peskov"),
    ("At the same time, Stoltenberg insisted that NATO was a defensive alliance.", "Stoltenberg"),
    ("Moscow has repeatedly stated that it views NATO troops along its borders as a threat.", "Moscow"),
    ("Relations have reached the red line due to military support for Ukraine, Peskov also said.", "Peskov"),
    ("NATO is just a tool of Washington and nothing else.", None),
])
def test_speaker_single_sentence(sentence, speaker):
    assert SpeakerResolver().speaker(sentence) == speaker


def test_speaker_resolves_pronouns_roles_and_surnames():
    r = SpeakerResolver()
    assert r.speaker("Kremlin spokesman Dmitry Peskov said that NATO is expanding toward Russia.") == "Dmitry Peskov"
    assert r.speaker("According to the spokesman, Russia is forced to respond to such actions.") == "Dmitry Peskov"
    assert r.speaker("“This brought us closer to the red line,” he stressed.") == "Dmitry Peskov"
    assert r.speaker("According to him, this poses a danger to Moscow.") == "Dmitry Peskov"
    assert r.speaker("Peskov noted that NATO gave guarantees of non-expansion.") == "Dmitry Peskov"


def test_strip_attribution():
    assert strip_attribution('"NATO is an instrument of confrontation," Peskov said.') == "NATO is an instrument of confrontation."
    assert strip_attribution("Kremlin spokesman Dmitry Peskov said that Russia is forced to respond.") == "Russia is forced to respond."
    assert strip_attribution("According to Sergei Lavrov, the Baltic states oppress Russian speakers.") == "The Baltic states oppress Russian speakers."
    assert strip_attribution("Lavrov told reporters: The Baltic states oppress Russian speakers.") == "The Baltic states oppress Russian speakers."
    assert strip_attribution("As Moscow has long warned, NATO keeps expanding toward Russia.") == "NATO keeps expanding toward Russia."


def test_extract_claims_on_seeds(seeds_dir):
    res = ingest(seeds_dir, IngestConfig())
    arts = clean_articles(res.records)
    claims = extract_claims(arts, ClaimsConfig())
    texts = " ".join(claims["text"])
    for cruft in CRUFT + ["Overlap of NATO, Russian Military Drills", "Putin launches nuclear war drills",
                          "© Sputnik", "Source From"]:
        assert cruft not in texts, cruft
    per_page = claims.groupby("article_id").size()
    assert len(per_page) == 5 and per_page.min() >= 5
    assert dict(zip(arts["article_id"].str[:3], arts["outlet"]))["000"] == "Sputnik"
    quotes = claims[claims["text"].str.contains("instrument of confrontation. This instrument")]
    assert len(quotes) == 1 and quotes["speaker"].iloc[0] in {"Peskov", "Dmitry Peskov"}
    assert claims["speaker"].notna().mean() > 0.5
    assert not claims["text"].str.startswith("MOSCOW (Sputnik)").any()


def test_unit_claim_takes_each_record_whole():
    arts = pd.DataFrame([{"article_id": "c1", "url": None, "outlet": "x", "published_at": pd.NaT, "title": None,
                          "text": "Short claim. Second sentence.", "clean_text": "Short claim. Second sentence.",
                          "source": "f:1"}])
    claims = extract_claims(arts, ClaimsConfig(), unit="claim")
    assert claims["text"].tolist() == ["Short claim. Second sentence."]


def test_claim_records_lose_links_and_signatures_only():
    from narratives.clean import clean_claim_text

    tweet = ("Fact check: The U.S. Army is NOT contacting anyone regarding the draft pic.twitter.com/3S32De8ekP "
             "— U.S. Army CGSC (@USACGSC) January 8, 2020")
    assert clean_claim_text(tweet).text == "Fact check: The U.S. Army is NOT contacting anyone regarding the draft"
    assert clean_claim_text("Drone attack caught on camera.#IranUsa https://t.co/x1").text == "Drone attack caught on camera. #IranUsa"
    assert clean_claim_text("Listen Live is a phrase in this claim").text == "Listen Live is a phrase in this claim"


def test_semeval_articles_yield_claims(data_dir):
    folder = data_dir / "semeval25t10" / "data" / "train_data" / "EN" / "raw-documents"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    res = ingest(folder, IngestConfig())
    assert res.quarantine == [] and len(res.records) == 200
    claims = extract_claims(clean_articles(res.records), ClaimsConfig())
    per_doc = claims.groupby("article_id").size().reindex(res.records["article_id"], fill_value=0)
    assert (per_doc >= 3).mean() >= 0.9
    assert not claims["text"].str.contains(r"\?[\"”]?$").any()
    assert claims["speaker"].notna().mean() > 0.1
