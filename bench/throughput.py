"""End-to-end throughput and peak memory: narratives against BERTopic on the same claims, each in a cold process.

The claims are real short texts from ../shared/data (EUvsDisinfo titles and summaries, CLEF 2020 verified
claims, RUWA headlines and subheadings, sentences of the SemEval-2025 English articles), de-duplicated,
shuffled with a fixed seed and cut to N; each gets its source's date and outlet where it has one. Written to
a claim-unit JSONL file (never into the project).

  narratives - `narratives run FILE --unit claim` on a new database: the whole product path (ingest, cleaning,
               reprint search, embedding with the configured backend, clustering, labels, tracking,
               dynamics, DuckDB commit, Parquet export, HTML report), in a cold process (Prefect's temporary
               server included; Prefect's own database is created once before timing, as on an installed
               machine).
  bertopic   - BERTopic() with defaults and the same MiniLM weights (sentence-transformers, torch fp32):
               read the same file, fit_transform, topic table; in a cold process. Bench-only extra:
               pip install -c constraints.txt -e '.[bench]'.

Peak RSS is the largest summed RSS of the process tree (the run and its children, e.g. Prefect's server),
sampled every 0.2 s. The last line prints the throughput ratio at the largest N.

    .venv/bin/python bench/throughput.py [--sizes 10000,50000] [--skip-bertopic] [--backend onnx --precision int8]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"

BERTOPIC_SCRIPT = """
import json, sys
from bertopic import BERTopic
from sentence_transformers import SentenceTransformer
from narratives.embed import resolve_model_path
docs = [json.loads(line)["text"] for line in open(sys.argv[1], encoding="utf-8")]
model = SentenceTransformer(resolve_model_path("packaged:all-MiniLM-L6-v2"), device="cpu")
topics, _ = BERTopic(embedding_model=model).fit_transform(docs)
print("topics", len(set(topics)) - (1 if -1 in topics else 0), "outliers", sum(t == -1 for t in topics))
"""


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if 6 <= len(s.split()) <= 60]


def claim_pool(data: Path) -> pd.DataFrame:
    """Every usable short text in the dev corpora, one row each: text, outlet, published_at (ISO or None)."""
    rows: list[tuple[str, str | None, str | None]] = []
    kn = pd.read_csv(data / "euvsdisinfo_cknabs" / "posts.csv", dtype=str, keep_default_na=False)
    rows += [(t, o.split("+")[0] or None, d or None) for t, o, d in zip(kn["title"], kn["outlets"], kn["date"])]
    kk = pd.read_csv(data / "euvsdisinfo_kalkun" / "full_dataset.csv", sep=";", dtype=str, keep_default_na=False)
    dates = pd.to_datetime(kk["date"], format="%d.%m.%Y", errors="coerce").dt.strftime("%Y-%m-%d")
    for col in ("title", "summary"):
        rows += [(t, o or None, d if isinstance(d, str) else None) for t, o, d in zip(kk[col], kk["outlet"], dates)]
    vc = pd.read_csv(data / "clef2020_t2_claimretrieval" / "v3.0" / "verified_claims.docs.tsv", sep="\t",
                     dtype=str, keep_default_na=False)
    rows += [(t, "snopes.com", None) for col in ("vclaim", "title") for t in vc[col]]
    ru = pd.read_csv(data / "ruwa_events" / "RUWA_04.08.23.csv", dtype=str, keep_default_na=False)
    rdates = pd.to_datetime(ru["Date"], format="%m/%d/%Y", errors="coerce").dt.strftime("%Y-%m-%d")
    for col in ("title", "desc"):
        rows += [(t, s or None, d if isinstance(d, str) else None) for t, s, d in zip(ru[col], ru["Site"], rdates)]
    for p in sorted((data / "semeval25t10").rglob("EN/**/*.txt")):
        if "annotations" in p.name or "narratives" in p.name:
            continue
        rows += [(s, None, None) for s in _sentences(p.read_text(encoding="utf-8-sig", errors="replace"))]
    df = pd.DataFrame(rows, columns=["text", "outlet", "published_at"])
    df["text"] = df["text"].str.strip()
    df = df[df["text"].str.split().str.len() >= 5]
    return df.drop_duplicates("text").reset_index(drop=True)


def write_claims(n: int, out: Path, seed: int = 0) -> Path:
    pool = claim_pool(DATA)
    if n > len(pool):
        sys.exit(f"only {len(pool):,} distinct texts in {DATA}; ask for at most that many")
    pick = pool.iloc[np.random.default_rng(seed).permutation(len(pool))[:n]].reset_index(drop=True)
    with out.open("w", encoding="utf-8") as f:
        for i, r in pick.iterrows():
            f.write(json.dumps({"id": f"c{i}", "url": f"https://example.org/claim/{i}", "outlet": r.outlet or "unknown",
                                "published_at": r.published_at, "title": "", "text": r.text}) + "\n")
    return out


def measure(cmd: list[str], env: dict, cwd: Path) -> dict:
    """Wall seconds and peak summed RSS (MiB) of the process tree."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    out_chunks: list[str] = []
    import threading

    reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    while proc.poll() is None:
        try:
            procs = [ps] + ps.children(recursive=True)
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    reader.join()
    output = "".join(out_chunks)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd[:4])} failed ({proc.returncode}):\n{output[-3000:]}")
    return {"seconds": wall, "peak_mib": peak / 2**20, "output": output}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,50000")
    ap.add_argument("--skip-bertopic", action="store_true")
    ap.add_argument("--backend", default=None, help="embed.backend for narratives (default: the product default)")
    ap.add_argument("--precision", default=None, help="embed.precision for narratives")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"dev corpora not found at {DATA}: they live in ../shared/data beside the checkout")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.setdefault("NARRATIVES_CACHE_DIR", str(ROOT / ".cache"))
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
    results = []
    with tempfile.TemporaryDirectory(dir=ROOT / ".cache") as tmp:
        tmp = Path(tmp)
        env["PREFECT_HOME"] = str(tmp / "prefect")  # a fresh Prefect home: no task cache from earlier runs
        # Prefect creates and migrates its database on the first run in a home (once per installation, as
        # bench/incremental.py also does before timing): done here, outside the timing. Every timed run still
        # starts Prefect's temporary server.
        subprocess.run([sys.executable, "-c", "from prefect import flow; flow(lambda: None)()"], env=env, check=True,
                       capture_output=True)
        cfg = tmp / "cfg.yaml"
        embed = {k: v for k, v in (("backend", args.backend), ("precision", args.precision)) if v}
        import yaml

        cfg.write_text(yaml.safe_dump({"embed": embed} if embed else {}))
        for n in [int(s) for s in args.sizes.split(",")]:
            claims = write_claims(n, tmp / f"claims_{n}.jsonl")
            db = tmp / f"n{n}.duckdb"
            r = measure([sys.executable, "-m", "flows.cli", "run", str(claims), "--unit", "claim", "--config", str(cfg),
                         "--db", str(db), "--report", str(tmp / f"r{n}.html"), "--tables-dir", str(tmp / f"t{n}")],
                        env, ROOT)
            k = re.search(r"narratives\s+([\d,]+)", r["output"])
            results.append({"N": n, "method": "narratives", "seconds": r["seconds"], "claims/s": n / r["seconds"],
                            "peak RSS MiB": r["peak_mib"], "k": k.group(1) if k else "?"})
            print(results[-1], flush=True)
            if not args.skip_bertopic:
                r = measure([sys.executable, "-c", BERTOPIC_SCRIPT, str(claims)], env, ROOT)
                k = re.search(r"topics (\d+)", r["output"])
                results.append({"N": n, "method": "bertopic", "seconds": r["seconds"], "claims/s": n / r["seconds"],
                                "peak RSS MiB": r["peak_mib"], "k": k.group(1) if k else "?"})
                print(results[-1], flush=True)
    table = pd.DataFrame(results)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    if not args.skip_bertopic:
        n = table["N"].max()
        t = table[table["N"] == n].set_index("method")["claims/s"]
        print(f"throughput ratio at {n:,} claims: narratives / bertopic = {t['narratives'] / t['bertopic']:.2f}x")


if __name__ == "__main__":
    main()
