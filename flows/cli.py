"""The `narratives` command line: run, claims, demo, report, serve."""

from __future__ import annotations

import argparse
import atexit
import gc
import os
import sys
import time
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path

DEMO_DIR = "demo_data"


def setup_environment() -> None:
    """Keep Prefect's home, numba's compile cache and temp files inside the project's cache folder; never
    reach out to a model hub. Called by main(), not at import time."""
    from narratives.config import project_cache_dir

    cache = project_cache_dir()
    defaults = {
        "PREFECT_HOME": cache / "prefect",
        "NUMBA_CACHE_DIR": cache / "numba",
        "TMPDIR": cache / "tmp",
    }
    for key, path in defaults.items():
        if key not in os.environ:
            os.environ[key] = str(path)
        Path(os.environ[key]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect's temporary server migrates a new PREFECT_HOME's database on first start: on 2 busy cores that can
    # pass Prefect's 20 s default and fail the run before it begins.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # OpenBLAS's idle worker threads busy-wait for 2**28 cycles (~0.1 s) after each BLAS call before they sleep, so
    # a run's many small products kept a core spinning: 0.8 s of CPU in a 30k-claim incremental run, 2.4 s in a
    # full fit, taken from the Prefect server, the embedding and the export on a small machine. 2**4 cycles: they
    # sleep at once and wake on the next call (the full fit's wall time unchanged). Read when numpy loads.
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")


def _print_summary(summary: dict, started: float) -> None:
    print(
        f"\nnarratives: run {summary['run_id']} finished in {time.time() - started:.1f}s\n"
        f"  articles   {summary['n_articles']:>7,}  (+{summary['n_new_articles']:,} new, "
        f"{summary['n_duplicates_skipped']:,} duplicates or already stored skipped)\n"
        f"  claims     {summary['n_claims']:>7,}  ({summary['n_unassigned']:,} unassigned, {summary['n_undated']:,} undated)\n"
        f"  narratives {summary['n_narratives']:>7,}  in {summary['n_themes']:,} themes "
        f"({summary['mode']} run: {summary['n_new_narratives']:,} new, {summary['n_ended_narratives']:,} ended)\n"
        f"  quarantined{summary['n_quarantined']:>7,}\n"
        f"  database   {summary['db']}\n"
        f"  tables     {summary['tables_dir']}/\n"
        f"  report     {summary['report']}"
    )


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off while the libraries import, and what they made frozen after (kept out
    of later collections): imports allocate hundreds of thousands of long-lived objects that the collector would
    walk again and again for nothing (0.3 s of a 2.4 s start), and the first collections after the imports
    walked all of them once more (0.19 s: a young and a middle generation pass right after)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.freeze()
            gc.enable()


def cmd_run(args: argparse.Namespace) -> int:
    with ExitStack() as run:
        with _collector_paused():
            from narratives import ahead as batch_ahead
            from narratives.caches import with_known_vectors
            from narratives.config import load_config
            from narratives.embed import cache_key
            from narratives.ingest import check_input
            from narratives.store import reserved_run

            check_input(args.input)  # fail fast, before a Prefect server starts
            cfg = load_config(args.config)
            # The database's run lock is taken before Prefect is imported (a busy database is refused at once), and
            # the run's starting state, its claims' text hashes and their cached vectors are read meanwhile on the
            # other core; the flow's own lock enters it.
            db = args.db or cfg.output.db
            ahead = partial(with_known_vectors, db_path=db, model=cache_key(cfg.embed))
            # A small batch's own steps (ingest to embedding) run meanwhile in a process forked once the lock is
            # held, before any thread exists (narratives/ahead.py); the flow takes them.
            run_cfg = cfg.with_overrides(ingest={"unit": args.unit}) if args.unit else cfg
            beside = partial(batch_ahead.start, args.input, db, run_cfg)
            run.enter_context(reserved_run(db, getattr(args, "wait", 0.0), read_ahead=ahead, beside=beside))
            run.callback(batch_ahead.discard)  # (a child the flow did not take is stopped before the lock goes)
            from flows.runners import configured_flow

            narratives_flow = configured_flow(cfg)  # refuses runner.kind 'dask' without a Prefect server
        started = time.time()
        summary = narratives_flow(
            input_path=str(args.input), config_path=args.config, db=args.db, report=args.report,
            tables_dir=args.tables_dir, unit=args.unit, recluster=getattr(args, "recluster", False),
            wait_seconds=getattr(args, "wait", 0.0),
        )
    _print_summary(summary, started)
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    from narratives.claims import extract_claims
    from narratives.clean import clean_articles
    from narratives.config import load_config
    from narratives.export import write_frame
    from narratives.ingest import ingest
    from narratives.outlets import OutletAliases

    cfg = load_config(args.config)
    if args.unit:
        cfg = cfg.with_overrides(ingest={"unit": args.unit})
    result = ingest(args.input, cfg.ingest)
    aliases = OutletAliases.load(cfg.ingest.outlet_aliases)
    claims = extract_claims(clean_articles(result.records, aliases, unit=cfg.ingest.unit), cfg.claims, unit=cfg.ingest.unit,
                            strip=cfg.embed.strip_attribution)
    out = write_frame(claims, args.out)
    print(f"narratives: {len(claims):,} claims from {len(result.records):,} records "
          f"({len(result.quarantine):,} quarantined) -> {out}")
    for q in result.quarantine[:10]:
        print(f"  quarantined {q['source']} {q['record_ref']}: {q['reason']}", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from narratives.demo import write_demo_corpus

    paths = write_demo_corpus(Path(args.out_dir), seed=args.seed, n_articles=args.articles)
    print(f"narratives: demo corpus written to {paths['articles']} (planted truth: {paths['truth']})")
    args.input = paths["articles"]
    args.unit = None
    return cmd_run(args)


def cmd_report(args: argparse.Namespace) -> int:
    from narratives import report
    from narratives.config import load_config

    cfg = load_config(args.config)
    db = args.db or cfg.output.db
    out = report.write_report_from_db(db, args.out or cfg.output.report)
    print(f"narratives: report written to {out}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from narratives.config import load_config

    cfg = load_config(args.config)
    if args.interval:
        cfg = cfg.with_overrides(schedule={"interval_seconds": args.interval})
    if args.inbox:
        cfg = cfg.with_overrides(schedule={"inbox": args.inbox})
    from flows.deploy import serve

    serve(cfg, args.config, args.db)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="narratives", description="Turn scraped news into tracked narratives.")
    p.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    def outputs(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", help="YAML config (default: built-in defaults, see configs/default.yaml)")
        sp.add_argument("--db", help="DuckDB file (default outputs/narratives.duckdb)")
        sp.add_argument("--report", help="HTML report path (default outputs/report.html)")
        sp.add_argument("--tables-dir", help="Parquet folder (default outputs/tables)")

    r = sub.add_parser("run", help="run the Prefect flow once over INPUT")
    r.add_argument("input", type=Path, help=".jsonl/.csv/.parquet of article records, or a folder of raw .txt pages")
    r.add_argument("--unit", choices=["article", "claim"], help="'claim': each record's text is one claim")
    r.add_argument("--recluster", action="store_true", help="re-fit all claims (ids are kept by matching)")
    r.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for a run that holds the database (default: refuse at once)")
    outputs(r)
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("claims", help="extract claims only and write them to --out")
    c.add_argument("input", type=Path)
    c.add_argument("--out", required=True, help="output file: .parquet, .csv or .jsonl")
    c.add_argument("--config")
    c.add_argument("--unit", choices=["article", "claim"])
    c.set_defaults(func=cmd_claims)

    d = sub.add_parser("demo", help="write the built-in demo corpus and run the flow on it")
    d.add_argument("--out-dir", default=DEMO_DIR, help=f"where to write the demo corpus (default {DEMO_DIR}/)")
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--articles", type=int, default=400, help="number of demo articles (default 400)")
    outputs(d)
    d.set_defaults(func=cmd_demo)

    rp = sub.add_parser("report", help="rewrite the HTML report from the database")
    rp.add_argument("--db")
    rp.add_argument("--out")
    rp.add_argument("--config")
    rp.set_defaults(func=cmd_report)

    sv = sub.add_parser("serve", help="serve the scheduled deployment (needs a Prefect server, see README)")
    sv.add_argument("--config")
    sv.add_argument("--db")
    sv.add_argument("--inbox", help="folder of new batches (default: schedule.inbox)")
    sv.add_argument("--interval", type=int, metavar="SECONDS", help="run every SECONDS instead of the cron")
    sv.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_environment()
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("narratives: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # one clear line unless --debug
        if args.debug:
            raise
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"narratives: error: {msg}", file=sys.stderr)
        return 2


def _end_process(code: list[int]) -> None:
    """The last exit handler: every other one has run (Prefect's event and log workers have sent what they held,
    logging is flushed), so end the process here instead of tearing the interpreter down object by object and
    module by module, which took 0.4-0.6 s after a run (0.34 s after merely importing the pipeline) and does
    nothing a finished command needs."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code[0])


def console() -> None:
    """The `narratives` command: :func:`main`, then :func:`_end_process`. Registered before anything else, so
    it runs after every other exit handler (they run last-registered first); non-daemon threads are joined before
    exit handlers run, as on any exit. Code that calls :func:`main` itself (tests) exits as usual."""
    code = [1]
    atexit.register(_end_process, code)
    try:
        code[0] = main()
    except SystemExit as stop:  # argparse's usage errors and --help
        code[0] = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
    sys.exit(code[0])


if __name__ == "__main__":  # pragma: no cover
    console()
