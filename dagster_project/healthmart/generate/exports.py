"""Generating the sample exports of every source into a landing folder, and its command line
(`python -m healthmart.generate`)."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from healthmart.core.contract import CROSSWALK_SOURCE, SOURCES
from healthmart.generate.accounts import Accounts, make_accounts
from healthmart.generate.catalogue import (
    USAGE_FILE_RE,
    USAGE_PIECE_ACCOUNT_DAYS,
    USAGE_ROW_GROUP,
    USAGE_SCHEMA,
)
from healthmart.generate.dates import Calendar, data_window, make_calendar, season_factor
from healthmart.generate.simulation import Simulation, simulate
from healthmart.generate.sources import (
    UserDirectory,
    accounts_table,
    billing_table,
    csm_table,
    month_chunks,
    outcomes_table,
    overrides_table,
    support_table,
    survey_table,
    usage_table,
)
from healthmart.generate.write import write_csv, write_ndjson


def _rng(seed: int, stream: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, *keys])


def generate_exports(
    out_dir: Path,
    accounts: int = 2000,
    months: int = 18,
    seed: int = 42,
    end_date: date = date(2026, 9, 30),
) -> dict[str, int]:
    """Write all sample exports under ``out_dir``; return rows written per source."""
    if accounts < 1:
        raise ValueError("accounts must be >= 1")
    out_dir = Path(out_dir)
    cal = make_calendar(end_date, months)
    acc = make_accounts(_rng(seed, 1), accounts, cal)
    sim = simulate(_rng(seed, 2), acc, cal)
    chunks = month_chunks(cal)
    # Every source but the crosswalk: the sample's exports name our own account ids.
    folders = {source: out_dir / source for source in SOURCES if source != CROSSWALK_SOURCE}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)

    writers: dict[str, Callable[[], int]] = {
        "accounts": lambda: write_csv(
            accounts_table(_rng(seed, 3), acc, sim, cal), folders["accounts"] / "accounts.csv"
        ),
        "billing": lambda: write_csv(
            billing_table(_rng(seed, 4), acc, sim, cal), folders["billing"] / "billing.csv.gz"
        ),
        "support": lambda: write_csv(
            support_table(_rng(seed, 5), acc, sim, cal, chunks), folders["support"] / "support.csv"
        ),
        "survey": lambda: write_ndjson(
            survey_table(_rng(seed, 6), acc, sim, cal, chunks), folders["survey"] / "survey.ndjson"
        ),
        "usage": lambda: _write_usage(seed, acc, sim, cal, chunks, folders["usage"]),
        "csm": lambda: write_csv(
            csm_table(_rng(seed, 7), acc, sim, cal), folders["csm"] / "csm.csv"
        ),
        "outcomes": lambda: write_csv(
            outcomes_table(acc, sim, cal), folders["outcomes"] / "outcomes.csv"
        ),
        "overrides": lambda: write_csv(
            overrides_table(_rng(seed, 9), acc, sim, cal), folders["overrides"] / "overrides.csv"
        ),
    }
    return {source: writers[source]() for source in folders}


def _write_usage(
    seed: int, acc: Accounts, sim: Simulation, cal: Calendar, chunks: list, folder: Path
) -> int:
    """One Parquet file per month, written in pieces of a few days to bound memory."""
    season = season_factor(cal)
    users_dir = UserDirectory.build(acc, sim)
    alive_per_day = max(1.0, float(sim.alive.sum()) / cal.days)
    piece_days = int(np.clip(USAGE_PIECE_ACCOUNT_DAYS // alive_per_day, 1, 31))
    written, total = set(), 0
    for k, (month, t0, t1) in enumerate(chunks):
        name = f"usage_{month}.parquet"
        tmp = folder / f".{name}.tmp"
        with pq.ParquetWriter(tmp, USAGE_SCHEMA, compression="zstd") as writer:
            for j, p0 in enumerate(range(t0, t1, piece_days)):
                p1 = min(p0 + piece_days, t1)
                table = usage_table(_rng(seed, 8, k, j), acc, sim, cal, season, users_dir, p0, p1)
                writer.write_table(table, row_group_size=USAGE_ROW_GROUP)
                total += table.num_rows
        os.replace(tmp, folder / name)
        written.add(name)
    for stale in folder.iterdir():  # our own files from an earlier run with another window
        if USAGE_FILE_RE.fullmatch(stale.name) and stale.name not in written:
            stale.unlink()
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m healthmart.generate",
        description="Generate deterministic sample exports (every source of the export contract).",
    )
    parser.add_argument("--out", type=Path, default=Path("data/exports"), help="landing folder")
    parser.add_argument("--accounts", type=int, default=2000, help="number of accounts")
    parser.add_argument("--months", type=int, default=18, help="months of history")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument(
        "--end-date", type=date.fromisoformat, default=date(2026, 9, 30), help="last day (ISO)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = generate_exports(args.out, args.accounts, args.months, args.seed, args.end_date)
    start, end = data_window(args.end_date, args.months)
    print(f"Sample exports written to {args.out} ({start} .. {end}, seed {args.seed}):")
    for source, count in rows.items():
        print(f"  {source:<9} {count:>12,} rows")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0
