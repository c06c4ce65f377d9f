"""Replay a corpus as a sequence of batches (what a daily scrape delivers), for incremental runs and benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd


def write_batches(records_path: str | Path, out_dir: str | Path, n_batches: int, date_field: str = "published_at") -> list[Path]:
    """Split a JSONL file of records into ``n_batches`` files of consecutive dates (undated records go last),
    named ``batch-01.jsonl`` ... in ``out_dir``. Records are written unchanged."""
    if n_batches < 1:
        raise ValueError(f"n_batches={n_batches} must be >= 1")
    lines = [ln for ln in Path(records_path).read_text(encoding="utf-8").splitlines() if ln.strip()]
    dates = pd.to_datetime(pd.Series([json.loads(ln).get(date_field) for ln in lines]), errors="coerce", utc=True)
    order = np.argsort(dates.fillna(pd.Timestamp.max.tz_localize("UTC")).to_numpy(), kind="stable")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, part in enumerate(np.array_split(order, n_batches), start=1):
        p = out / f"batch-{i:02d}.jsonl"
        p.write_text("".join(lines[j] + "\n" for j in part), encoding="utf-8")
        paths.append(p)
    return paths
