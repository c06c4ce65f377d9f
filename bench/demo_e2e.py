"""End-to-end benchmark on the generated demo corpus: wall time of `narratives demo` in a cold process and the
planted-narrative scores (ARI, coverage, ...). Prints one line per figure.

    .venv/bin/python bench/demo_e2e.py [--articles 400] [--seed 7]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from narratives.evaluate import planted_scores
from narratives.store import read_tables


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        cmd = [sys.executable, "-m", "flows.cli", "demo", "--out-dir", str(t / "demo"), "--seed", str(args.seed),
               "--articles", str(args.articles), "--db", str(t / "n.duckdb"), "--report", str(t / "report.html"),
               "--tables-dir", str(t / "tables")]
        start = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.time() - start
        if proc.returncode:
            sys.exit(proc.stderr[-3000:])
        tables = read_tables(t / "n.duckdb", ["claims", "narratives"])
        scores = planted_scores(tables["claims"], pd.read_csv(t / "demo" / "truth.csv"))
        report_kb = (t / "report.html").stat().st_size / 1024
    print(f"articles          {args.articles}")
    print(f"claims            {len(tables['claims'])}")
    print(f"wall_s            {wall:.1f}  (cold process, includes Prefect temporary server start)")
    print(f"narratives        {len(tables['narratives'])}  (planted-narrative clusters k={scores['k']}, gold {scores['k_gold']})")
    for key in ("ari", "pairwise_f1", "nmi", "coverage", "theme_ari", "planted_recall", "background_assigned"):
        print(f"{key:<17} {scores[key]:.3f}")
    print(f"report_kb         {report_kb:.0f}")


if __name__ == "__main__":
    main()
