"""Incremental runs against one run over everything, each command in a cold process (what a scheduler pays).

Generates the demo corpus at --articles (default 4,000 articles, ~30k claims), holds back the last 1% of the
articles by date as "today's batch", and times:
  full         `narratives run all.jsonl` on an empty database (everything embedded and clustered)
  incremental  `narratives run today.jsonl` on a database that already holds the other 99%
  unchanged    `narratives run today.jsonl` again on the updated database (nothing new: the floor of any run)
  refit-warm   `narratives run today.jsonl --recluster` on that database (full re-fit, embeddings cached)
and prints the ratio incremental / full, which the issue wants <= 0.10 (the full and the incremental run are each
timed --repeat times, interleaved, the incremental one on fresh copies of the same base database, and their
medians used; no timed run finds embeddings an earlier one left in Prefect's task cache),
and the agreement (ARI) of the incremental database with the full one. Each run is `narratives run`, so the
incremental ones prepare their batch in a forked process while Prefect imports (narratives/ahead.py); --no-ahead
times every run with runner.ahead_max_records: 0 instead (the flow does every step).

By default every command runs against one real Prefect server started for the bench, as the runs of the served
deployment (`narratives serve`, the way daily runs are scheduled) do; the incremental run is then also timed with
Prefect's temporary server, on a copy of the same database, for comparison. With --temporary-server every command
starts Prefect's temporary server instead (what a cron job calling `narratives run` without a server pays).

    .venv/bin/python bench/incremental.py [--articles 4000] [--seed 7] [--share 0.01] [--temporary-server] [--no-ahead]
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import shutil
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from flows.cli import setup_environment
from flows.local_server import running_server
from narratives.demo import write_demo_corpus
from narratives.evaluate import with_singletons
from narratives.store import read_tables


CONFIG: list[str] = []  # --config for every run (--no-ahead)


def timed_run(input_path: Path, db: Path, *extra: str, env: dict | None = None) -> tuple[float, dict]:
    """One `narratives run` in a cold process. PREFECT_HOME is this bench's own (set up once in main), so no
    run finds embeddings in Prefect's task cache from an earlier bench, and none pays for creating Prefect's
    database, as a scheduled deployment would not."""
    out = db.parent
    cmd = [sys.executable, "-m", "flows.cli", "run", str(input_path), "--db", str(db),
           "--report", str(out / "report.html"), "--tables-dir", str(out / "tables"), *CONFIG, *extra]
    env = dict(env or os.environ)
    start = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    took = time.time() - start
    if proc.returncode:
        sys.exit(proc.stdout[-2000:] + proc.stderr[-3000:])
    runs = read_tables(db, ["runs"])["runs"].sort_values("started_at")
    return took, runs.iloc[-1].to_dict()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--share", type=float, default=0.01, help="share of articles in the new batch")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary folder)")
    ap.add_argument("--temporary-server", dest="server", action="store_false",
                    help="start Prefect's temporary server in every command instead of running them all against one "
                         "real server (the default, as served deployment runs are)")
    ap.add_argument("--server", dest="server", action="store_true", help=argparse.SUPPRESS)  # the default; old name
    ap.set_defaults(server=True)
    ap.add_argument("--repeat", type=int, default=3,
                    help="time the full and the incremental run this many times each, interleaved (the incremental "
                         "one on a fresh copy of the base database, the full one on an empty database), and use the "
                         "medians: one cold process varies by 1-2 s on a busy 2-core machine, and the machine's speed "
                         "drifts (the same full 30k run took 63-94 s within two hours)")
    ap.add_argument("--no-ahead", action="store_true",
                    help="runner.ahead_max_records: 0 for every run: the flow does the batch's own steps itself "
                         "(to time what preparing the batch ahead gains)")
    args = ap.parse_args()
    if args.repeat < 1:  # the ratio needs at least one timing of each run
        ap.error(f"--repeat={args.repeat} must be >= 1")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with (contextlib.nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory()) as tmp:
        t = Path(tmp)
        demo = write_demo_corpus(t / "demo", seed=args.seed, n_articles=args.articles)
        lines = Path(demo["articles"]).read_text(encoding="utf-8").splitlines()
        dates = pd.to_datetime([json.loads(x)["published_at"] for x in lines], utc=True)
        order = np.argsort(dates.to_numpy(), kind="stable")
        n_new = max(1, round(len(lines) * args.share))
        (t / "all.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (t / "base.jsonl").write_text("\n".join(lines[i] for i in order[:-n_new]) + "\n", encoding="utf-8")
        (t / "today.jsonl").write_text("\n".join(lines[i] for i in order[-n_new:]) + "\n", encoding="utf-8")
        if args.no_ahead:  # the built-in defaults, but for this one setting
            (t / "no-ahead.yaml").write_text("runner:\n  ahead_max_records: 0\n", encoding="utf-8")
            CONFIG[:] = ["--config", str(t / "no-ahead.yaml")]
        for d in ("full", "inc", "prefect"):
            shutil.rmtree(t / d, ignore_errors=True)
            (t / d).mkdir()
        os.environ["PREFECT_HOME"] = str(t / "prefect")
        setup_environment()  # the CLI's own (e.g. the temporary server's start-up timeout); PREFECT_HOME stays
        for package in ("narratives", "flows"):  # bytecode up to date, as `make install` leaves it: no timed
            compileall.compile_dir(Path(__file__).resolve().parent.parent / package, quiet=1)  # run compiles
        warm = subprocess.run([sys.executable, "-c", "from prefect import flow; flow(lambda: None)()"],
                              capture_output=True, text=True)  # create Prefect's database before timing anything
        if warm.returncode:
            sys.exit("could not start Prefect's temporary server:\n" + warm.stderr[-3000:])

        with (running_server(t / "server") if args.server else contextlib.nullcontext()) as server:
            env = server.env if server else None
            storage = Path((env or os.environ)["PREFECT_HOME"]) / "storage"  # Prefect's task results (embeddings)
            before = set(storage.glob("*"))

            def fresh_task_cache() -> None:  # no timed run finds embeddings an earlier run left in Prefect's cache
                for f in set(storage.glob("*")) - before:
                    f.unlink()

            base_s, _ = timed_run(t / "base.jsonl", t / "inc" / "base.duckdb", env=env)
            full_times, inc_times = [], []
            for i in range(args.repeat):  # interleaved, so that a change in the machine's speed hits both alike
                fresh_task_cache()
                full_db = t / "full" / f"n{i}.duckdb"  # an empty database each time
                took, full_run = timed_run(t / "all.jsonl", full_db, env=env)
                full_times.append(took)
                fresh_task_cache()
                shutil.copy(t / "inc" / "base.duckdb", t / "inc" / "n.duckdb")  # the same run on the same state
                took, inc_run = timed_run(t / "today.jsonl", t / "inc" / "n.duckdb", env=env)
                inc_times.append(took)
            full_s, inc_s = float(np.median(full_times)), float(np.median(inc_times))
            # the floor: the same batch again on the updated database (nothing new: mode 'unchanged'), what any
            # run on this database pays (interpreter, imports, Prefect, the whole-corpus report, export, commit)
            shutil.copy(t / "inc" / "n.duckdb", t / "inc" / "noop.duckdb")
            noop_times = []
            for _ in range(args.repeat):
                fresh_task_cache()
                took, noop_run = timed_run(t / "today.jsonl", t / "inc" / "noop.duckdb", env=env)
                noop_times.append(took)
            noop_s = float(np.median(noop_times))
            if server:  # the same incremental run with the temporary server, on a copy of the base database
                (t / "temp").mkdir(exist_ok=True)
                shutil.copy(t / "inc" / "base.duckdb", t / "temp" / "n.duckdb")
                temp_s, _ = timed_run(t / "today.jsonl", t / "temp" / "n.duckdb")
            inc_ids = read_tables(t / "inc" / "n.duckdb", ["claims"])["claims"].set_index("claim_id")["narrative_id"]
            if args.keep:  # the incremental database as it was before the forced re-cluster, for profiling
                shutil.copy(t / "inc" / "n.duckdb", t / "inc" / "incremental.duckdb")
            refit_s, refit_run = timed_run(t / "today.jsonl", t / "inc" / "n.duckdb", "--recluster", env=env)

        full_ids = read_tables(full_db, ["claims"])["claims"].set_index("claim_id")["narrative_id"]
        after_refit = read_tables(t / "inc" / "n.duckdb", ["claims"])["claims"].set_index("claim_id")["narrative_id"]
    inc_ids = inc_ids.reindex(full_ids.index)
    ari = adjusted_rand_score(with_singletons(full_ids.fillna(-1).to_numpy()), with_singletons(inc_ids.fillna(-1).to_numpy()))
    kept = ((after_refit.reindex(inc_ids.index) == inc_ids) & inc_ids.notna()).sum() / inc_ids.notna().sum()
    print(f"articles            {args.articles:,} ({n_new:,} in today's batch)")
    print(f"claims              {int(full_run['n_claims']):,} ({int(inc_run['n_new_claims']):,} new in today's batch, "
          f"{int(inc_run['n_embedded']):,} embedded by the incremental run)")
    print(f"full_s              {full_s:.1f}  (one run over everything, empty database, cold process; median of "
          f"{len(full_times)}: {', '.join(f'{x:.1f}' for x in full_times)})")
    print(f"base_s              {base_s:.1f}  (setup: the other 99%)")
    where = "against the real Prefect server" if args.server else "incl. Prefect temporary server"
    how = "one real server for every run" if args.server else "temporary server per run (--temporary-server)"
    print(f"prefect             {how}")
    print(f"batch ahead         {'off (--no-ahead)' if args.no_ahead else 'on (narratives/ahead.py)'}")
    print(f"incremental_s       {inc_s:.1f}  (mode={inc_run['mode']}, cold process {where}; median of "
          f"{len(inc_times)}: {', '.join(f'{x:.1f}' for x in inc_times)})")
    print(f"unchanged_s         {noop_s:.1f}  (the same batch again, nothing new: mode={noop_run['mode']}; median of "
          f"{len(noop_times)}: {', '.join(f'{x:.1f}' for x in noop_times)}; the floor of any run on this database, "
          f"{noop_s / full_s:.3f} of the full run)")
    if args.server:
        print(f"incremental_temp_s  {temp_s:.1f}  (the same run with Prefect's temporary server instead)")
    print(f"refit_warm_s        {refit_s:.1f}  (--recluster, embeddings cached; mode={refit_run['mode']})")
    print(f"agreement_ari       {ari:.3f}  (incremental database vs the full run, claim -> narrative)")
    print(f"ids_kept_by_refit   {kept:.3f}  (share of assigned claims keeping their narrative_id across --recluster)")
    print(f"ratio               {inc_s / full_s:.3f}  (incremental / full; target <= 0.10)")


if __name__ == "__main__":
    main()
