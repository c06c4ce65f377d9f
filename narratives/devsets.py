"""Loaders for the labelled development corpora in ``../shared/data`` (used by ``bench/accuracy.py`` and tests).

Each loader returns a DataFrame with one row per item to cluster: ``item_id, text, gold, coarse_gold, scored``.
Every item is clustered; only ``scored`` items (those whose gold group has at least two members) are scored,
as the task defines. Nothing here is copied into the project: the files are read where they are.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

COLUMNS = ["item_id", "text", "gold", "coarse_gold", "scored"]


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    sizes = df.loc[df["gold"].notna()].groupby("gold").size()
    df["scored"] = df["gold"].map(sizes).fillna(0).ge(2)
    return df[COLUMNS].reset_index(drop=True)


def euvsdisinfo(data: Path) -> pd.DataFrame:
    """EUvsDisinfo (kalkun): exact duplicate rows dropped; input = summary; gold = title; scored = rows whose
    title repeats."""
    raw = pd.read_csv(data / "euvsdisinfo_kalkun" / "full_dataset.csv", sep=";", dtype=str, keep_default_na=False)
    raw = raw.drop_duplicates()
    raw = raw[raw["summary"].str.strip() != ""]
    df = pd.DataFrame({
        "item_id": [f"euvs-{i}" for i in raw.index], "text": raw["summary"].str.strip(),
        "gold": raw["title"].str.strip(), "coarse_gold": None,
    })
    return _finish(df)


def clef(data: Path) -> pd.DataFrame:
    """CLEF 2020 CheckThat! task 2: all tweets (train, dev, test); gold = verified claim id; scored = tweets
    whose claim has >= 2 tweets."""
    root = data / "clef2020_t2_claimretrieval"
    frames = []
    for split, folder in (("train", root / "v3.0" / "train"), ("dev", root / "v3.0" / "dev"), ("test", root / "test")):
        tweets = pd.read_csv(folder / "tweets.queries.tsv", sep="\t", dtype=str, quoting=csv.QUOTE_NONE)
        tweets.columns = ["tweet_id", "text"][: len(tweets.columns)]
        qrels = pd.read_csv(folder / "tweet-vclaim-pairs.qrels", sep="\t", header=None, dtype=str,
                            names=["tweet_id", "zero", "vclaim_id", "rel"])
        m = tweets.merge(qrels[["tweet_id", "vclaim_id"]], on="tweet_id", how="left")
        m["item_id"] = f"clef-{split}-" + m["tweet_id"]
        frames.append(m)
    df = pd.concat(frames, ignore_index=True)
    df = df[df["text"].fillna("").str.strip() != ""]
    out = pd.DataFrame({"item_id": df["item_id"], "text": df["text"], "gold": df["vclaim_id"], "coarse_gold": None})
    return _finish(out)


def _semeval_labels(path: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) >= 3 and parts[2] and parts[2].lower() not in {"none", "other"} and not parts[2].endswith(": Other"):
            out[parts[0]] = (parts[2], parts[1])
    return out


def semeval(data: Path) -> pd.DataFrame:
    """SemEval-2025 Task 10, English: every train and dev document; gold = the dominant subnarrative (subtask 3
    files), coarse gold = its narrative; scored = documents whose subnarrative has >= 2 documents."""
    root = data / "semeval25t10"
    sets = [
        (root / "data" / "train_data" / "EN" / "raw-documents", root / "data" / "train_data" / "EN" / "subtask-3-annotations.txt"),
        (root / "data_gold" / "dev_set" / "EN" / "subtask-2-documents", root / "data_gold" / "dev_set" / "EN" / "subtask-3-dominant-narratives.txt"),
    ]
    rows = []
    for docs, labels_path in sets:
        labels = _semeval_labels(labels_path) if labels_path.exists() else {}
        for p in sorted(docs.glob("*.txt")):
            text = p.read_text(encoding="utf-8-sig", errors="replace").strip()
            gold, coarse = labels.get(p.name, (None, None))
            rows.append({"item_id": p.stem, "text": text, "gold": gold, "coarse_gold": coarse})
    return _finish(pd.DataFrame(rows))


LOADERS = {"euvsdisinfo": euvsdisinfo, "clef": clef, "semeval": semeval}
