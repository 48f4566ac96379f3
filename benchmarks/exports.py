"""The benchmark's sample exports: generated once per scale, linked into each run's folder,
and one more day of them landed for the incremental run."""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb

from benchmarks.measure import run_measured
from benchmarks.reference_sql import source_relation
from benchmarks.sources import reference_sources

# the event sources that get one more day of rows for the incremental run, with their key
# column (made unique for the copied rows), date columns and timestamp columns
NEW_DAY = {
    "usage": (None, ["activity_date"], []),
    "billing": (
        "invoice_id",
        ["issued_date", "due_date", "paid_date", "period_start", "period_end"],
        ["updated_at"],
    ),
    "support": ("ticket_id", [], ["opened_at", "closed_at", "updated_at"]),
    "survey": ("response_id", [], ["responded_at"]),
    "csm": (None, ["valid_until"], ["assessed_at"]),
}
TIME_COLUMN = {
    "usage": "activity_date",
    "billing": "issued_date",
    "support": "opened_at",
    "survey": "responded_at",
    "csm": "assessed_at",
    "outcomes": "event_date",
}


class BenchError(RuntimeError):
    pass


def python() -> str:
    return sys.executable


def ensure_exports(scale_dir: Path, accounts: int, months: int, seed: int) -> dict:
    """Generate the exports of a scale once; later runs reuse them (exports.json says so)."""
    exports = scale_dir / "exports"
    marker = scale_dir / "exports.json"
    wanted = {"accounts": accounts, "months": months, "seed": seed}
    if marker.exists():
        meta = json.loads(marker.read_text())
        if {k: meta.get(k) for k in wanted} == wanted and exports.is_dir():
            print(f"  reusing the exports in {exports}", flush=True)
            return meta
    if exports.exists():
        shutil.rmtree(exports)
    print(f"  generating {accounts:,} accounts x {months} months into {exports} ...", flush=True)
    m = run_measured(
        [
            python(),
            "-m",
            "healthmart.generate",
            "--out",
            str(exports),
            "--accounts",
            str(accounts),
            "--months",
            str(months),
            "--seed",
            str(seed),
        ],
        log_path=scale_dir / "logs" / "generate.log",
    )
    if not m.ok:
        raise BenchError(f"generating the exports failed: see {m.log}")
    meta = wanted | {"rows": count_rows(exports), "generate": m.as_dict()}
    marker.write_text(json.dumps(meta, indent=2, default=str))
    return meta


def count_rows(exports: Path) -> dict[str, int]:
    con = duckdb.connect()
    try:
        return {
            source: con.execute(
                f"SELECT count(*) FROM {source_relation(con, exports, source)}"
            ).fetchone()[0]
            for source in reference_sources()
        }
    finally:
        con.close()


def linked_copy(src: Path, dst: Path) -> None:
    """A copy of the exports folder made of hard links (no data copied; same mtimes)."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, copy_function=os.link)


def as_timestamp(column: str) -> str:
    """SQL: a date or timestamp column (text or typed) as a UTC timestamp."""
    return f"CAST(TRY_CAST(CAST({column} AS VARCHAR) AS TIMESTAMPTZ) AS TIMESTAMP)"


def last_activity_date(exports: Path, which: str = "max") -> date:
    """The newest (which="min": the oldest) activity date of the event exports."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        parts = [
            f"SELECT {which}(CAST({as_timestamp(col)} AS DATE)) AS d "
            f"FROM {source_relation(con, exports, source)}"
            for source, col in TIME_COLUMN.items()
        ]
        return con.execute(f"SELECT {which}(d) FROM ({' UNION ALL '.join(parts)})").fetchone()[0]
    finally:
        con.close()


def add_new_day(exports: Path) -> date:
    """Land one more day of exports: the rows of the last day of every event source, one day
    later (new ids where the key is an id), in new files. Returns the new day."""
    last = last_activity_date(exports)
    new_day = last + timedelta(days=1)
    tag = new_day.strftime("%Y%m%d")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        for source, (key, dates, stamps) in NEW_DAY.items():
            relation = source_relation(con, exports, source)
            columns = [
                r[0]
                for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
                if not r[0].startswith("_")
            ]
            exprs = []
            for col in columns:
                if col in dates:
                    expr = f"TRY_CAST(CAST({col} AS VARCHAR) AS DATE) + 1"
                elif col in stamps:
                    expr = f"strftime({as_timestamp(col)} + INTERVAL 1 DAY, '%Y-%m-%dT%H:%M:%SZ')"
                elif col == key:
                    expr = f"CAST({col} AS VARCHAR) || '-d{tag}'"
                else:
                    expr = col
                exprs.append(f"{expr} AS {col}")
            time_col = TIME_COLUMN[source]
            day_of = f"CAST({as_timestamp(time_col)} AS DATE)"
            query = f"SELECT {', '.join(exprs)} FROM {relation} WHERE {day_of} = DATE '{last}'"
            if source == "usage":
                target = exports / source / f"usage_bench_day_{tag}.parquet"
                con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet)")
            else:
                target = exports / source / f"bench_day_{tag}.csv"
                con.execute(f"COPY ({query}) TO '{target}' (FORMAT csv, HEADER true)")
    finally:
        con.close()
    return new_day
