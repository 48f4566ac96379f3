"""Reference (c): the hand-written DuckDB script `reference_history.sql` on an exports folder.

Scores every account on every scoring date (the whole history a full build scores) straight
from the export files, set-based, and writes the scores to a Parquet file (account_id,
score_date, preset, computed_score, tier, coverage). The sources and the shared staging are
those of reference (a) (benchmarks.reference_sql).

    python -m benchmarks.reference_history --exports-dir data/exports --out scores.parquet
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.reference_sql import render_script, sql_literal

SCRIPT = Path(__file__).with_name("reference_history.sql")


def write_history(
    exports_dir: Path,
    out: Path,
    preset: str = "hbr",
    memory_limit: str | None = None,
    threads: int | None = None,
) -> int:
    """Score every account-day of the exports into `out` (Parquet); returns the row count.

    The intermediate tables live in a temporary database file beside `out`, so that DuckDB
    keeps no more than memory_limit in memory whatever the number of account-days."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reference_history_", dir=out.parent) as tmp:
        con = duckdb.connect(str(Path(tmp) / "work.duckdb"))
        try:
            con.execute("SET enable_progress_bar = false")
            con.execute(f"SET temp_directory = {sql_literal(str(Path(tmp) / 'spill'))}")
            if memory_limit:
                con.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
            if threads:
                con.execute(f"SET threads = {int(threads)}")
            target = sql_literal(str(out))
            script = render_script(con, Path(exports_dir), preset, SCRIPT)
            con.execute(script.replace("@out@", target))
            return con.execute(f"SELECT count(*) FROM read_parquet({target})").fetchone()[0]
        finally:
            con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reference_history")
    parser.add_argument("--exports-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="Parquet file of the scores")
    parser.add_argument("--preset", default="hbr")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit (default: DuckDB's)")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = write_history(args.exports_dir, args.out, args.preset, args.memory_limit, args.threads)
    print(
        f"Full-history reference: {rows:,} account-days scored "
        f"in {time.perf_counter() - started:.1f} s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
