import subprocess
import sys
from pathlib import Path

import pandas as pd

from flows.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_missing_input_is_one_clear_line(tmp_path, capsys):
    code = main(["run", str(tmp_path / "nope.jsonl"), "--db", str(tmp_path / "n.duckdb")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().startswith("narratives: error: input") and "does not exist" in err
    assert "Traceback" not in err


def test_bad_config_is_one_clear_line(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("cluster:\n  min_cluster_size: 1\n")
    code = main(["claims", str(tmp_path), "--out", str(tmp_path / "x.csv"), "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == 2 and "cluster.min_cluster_size=1" in err and len(err.strip().splitlines()) == 1


def test_claims_command_on_seeds(seeds_dir, tmp_path):
    out = tmp_path / "claims.csv"
    proc = subprocess.run([sys.executable, "-m", "flows.cli", "claims", str(seeds_dir), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out)
    assert df["article_id"].nunique() == 5
    assert {"claim_id", "text", "speaker", "is_quote", "outlet", "sentence_index", "source"} <= set(df.columns)
    assert df["speaker"].str.contains("Peskov", na=False).sum() >= 10
    for fmt in ("parquet", "jsonl"):
        assert main(["claims", str(seeds_dir), "--out", str(tmp_path / f"c.{fmt}")]) == 0
    assert len(pd.read_parquet(tmp_path / "c.parquet")) == len(df)


def test_report_command_rewrites_report(tmp_path, capsys):
    from narratives import store

    db = tmp_path / "n.duckdb"
    store.start_run(db, "r1", "cfg", "in.jsonl")
    store.finish_run(db, "r1", "succeeded", {"n_claims": 0})
    out = tmp_path / "sub" / "r.html"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    page = out.read_text()
    assert out.is_file() and "<dt>Narratives</dt><dd>0</dd>" in page and '"runs":1' in page
    assert main(["report", "--db", str(tmp_path / "none.duckdb"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_console_exit_codes_output_and_exit_handlers(tmp_path, seeds_dir):
    """The `narratives` command ends its process right after the exit handlers (no interpreter teardown): its exit
    code, its printed lines and exit handlers registered by the libraries (Prefect's workers flush there) still
    come through."""
    def run(*args: str, pre: str = "") -> subprocess.CompletedProcess:
        code = f"import sys; {pre}from flows.cli import console; sys.argv = ['narratives', *{list(args)!r}]; console()"
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)

    ok = run("claims", str(seeds_dir), "--out", str(tmp_path / "c.csv"))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("narratives: ") and "claims from 5 records" in ok.stdout
    bad = run("run", str(tmp_path / "nope.jsonl"))
    assert bad.returncode == 2 and "does not exist" in bad.stderr
    usage = run("bogus")
    assert usage.returncode == 2 and "invalid choice" in usage.stderr
    assert run("--help").returncode == 0
    # a handler registered while the command runs (as Prefect's are, when it is imported) runs before the end
    marker = tmp_path / "handler-ran"
    late = run("run", str(tmp_path / "nope.jsonl"),
               pre=("import atexit, pathlib, flows.cli as cli; real = cli.main; "
                    f"cli.main = lambda: atexit.register(pathlib.Path({str(marker)!r}).write_text, 'x') and real(); "))
    assert late.returncode == 2
    assert marker.read_text() == "x"


def test_setup_environment_stops_blas_spinning_unless_set():
    """OpenBLAS's idle threads sleep at once (OPENBLAS_THREAD_TIMEOUT=4) unless the user chose a value."""
    import os

    from flows.cli import setup_environment

    saved = dict(os.environ)  # (setup_environment sets other variables too: all are restored)
    try:
        os.environ.pop("OPENBLAS_THREAD_TIMEOUT", None)
        setup_environment()
        assert os.environ["OPENBLAS_THREAD_TIMEOUT"] == "4"
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = "20"
        setup_environment()
        assert os.environ["OPENBLAS_THREAD_TIMEOUT"] == "20"
    finally:
        os.environ.clear()
        os.environ.update(saved)
