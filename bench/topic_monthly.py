"""Monthly series and rising terms of the largest narratives that mention a word, from a run's database.

    .venv/bin/python bench/topic_monthly.py outputs/euvsdisinfo.duckdb --word nato --top 3

Prints, for each of the ``--top`` largest narratives whose label, keywords or claims mention ``--word``: its label,
size and keywords, the monthly claim counts (all outlets) and the rising terms of its months (from
narrative_drift, grain month).
"""

from __future__ import annotations

import argparse

import pandas as pd

from narratives.store import read_tables


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--word", default="nato")
    ap.add_argument("--top", type=int, default=3)
    args = ap.parse_args()
    t = read_tables(args.db, ["narratives", "claims", "narrative_timeseries", "narrative_drift"])
    word = args.word.lower()
    claims = t["claims"]
    mentions = claims[claims["text"].str.lower().str.contains(word, regex=False)].groupby("narrative_id").size()
    n = t["narratives"].copy()
    n["mentions"] = n["narrative_id"].map(mentions).fillna(0)
    n["in_label"] = n["label"].str.lower().str.contains(word) | n["keywords"].map(lambda k: word in " ".join(k).lower())
    chosen = n[(n["mentions"] >= n["size"] * 0.5) | n["in_label"]].sort_values("size", ascending=False).head(args.top)
    ts, drift = t["narrative_timeseries"], t["narrative_drift"]
    for row in chosen.itertuples():
        print(f"\n## narrative {row.narrative_id}: {row.label}  (size {row.size}, {row.n_outlets} outlets)")
        print(f"   keywords: {', '.join(row.keywords)}")
        m = ts[(ts.narrative_id == row.narrative_id) & (ts.grain == "month") & ts.outlet.isna()]
        series = " ".join(f"{p:%Y-%m}:{c}" for p, c in zip(m.period_start, m.n_claims))
        print(f"   monthly claims: {series}")
        d = drift[(drift.narrative_id == row.narrative_id) & (drift.grain == "month")].sort_values("period_start")
        for r in d.itertuples():
            if r.rising_terms is not None and len(r.rising_terms):
                print(f"   {r.period_start:%Y-%m} rising: {', '.join(list(r.rising_terms)[:5])}"
                      + (f"  (shift {r.shift_prev:.2f})" if pd.notna(r.shift_prev) else ""))


if __name__ == "__main__":
    main()
