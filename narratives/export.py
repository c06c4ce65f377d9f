"""Write a table to .parquet, .csv or .jsonl chosen by the file suffix (atomically)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from narratives.errors import InputError

FORMATS = (".parquet", ".csv", ".jsonl")


def write_frame(df: pd.DataFrame, path: str | Path) -> Path:
    p = Path(path)
    if p.suffix not in FORMATS:
        raise InputError(f"--out {str(p)!r}: unsupported suffix {p.suffix!r}; use one of {', '.join(FORMATS)}")
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    if p.suffix == ".parquet":
        df.to_parquet(tmp, index=False)
    elif p.suffix == ".csv":
        df.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S")
    else:
        df.to_json(tmp, orient="records", lines=True, date_format="iso", force_ascii=False)
    os.replace(tmp, p)
    return p
