"""`python -m benchmarks.baseline_score [WAREHOUSE]`: the one-page SQL health score
(benchmarks/baseline_score.sql) beside the pipeline's, by ROC AUC on the backtest's account-days
of a warehouse after a run (default: HEALTHMART_WAREHOUSE_PATH, else data/warehouse.duckdb).
Opens the warehouse read-only."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

from healthmart.core.settings import Settings

SQL = Path(__file__).with_name("baseline_score.sql")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.baseline_score")
    parser.add_argument("warehouse", nargs="?", type=Path, help="warehouse after a run")
    args = parser.parse_args(argv)
    path = args.warehouse or Settings.from_env().warehouse_path
    started = time.monotonic()
    with duckdb.connect(str(path), read_only=True) as con:
        result = con.execute(SQL.read_text())
        columns = [d[0] for d in result.description]
        rows = result.fetchall()
    print(f"{path} ({time.monotonic() - started:.1f} s)")
    widths = [max(len(str(v)) for v in [c, *(r[i] for r in rows)]) for i, c in enumerate(columns)]
    for row in [columns, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
