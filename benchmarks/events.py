"""Events against daily usage rows: a month of raw product events (Segment track calls, gzipped
NDJSON) and the same month already aggregated to the usage contract, and the ingest of each.

    python -m benchmarks.events generate DIR [--accounts 100000] [--days 30] [--max-users 8]
    python -m benchmarks.events load EXPORTS WAREHOUSE

`generate` writes DIR/events/usage/events.json.gz (one line per event, the account in
context.groupId, read through the segment_events_json preset) and DIR/rows/usage/usage.csv.gz
(the same events counted per account, day, user and feature, in the contract's format). The
numbers are drawn from simple distributions (users per account, active days, features per
day, events per feature): nothing in them is fitted to the ingest. `load` ingests one folder's
usage into a new warehouse and prints the counts and the wall time; run it under
`/usr/bin/time -v` for the peak memory.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from healthmart.defs.ingest.config import parse_ingest_config
from healthmart.defs.ingest.load import ingest_source

MONTH_START = "2026-01-01"


def generate(out: Path, accounts: int, days: int, seed: int, max_users: int) -> None:
    (out / "events" / "usage").mkdir(parents=True, exist_ok=True)
    (out / "rows" / "usage").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SELECT setseed({1 / (seed + 1)})")
    # Users per account 1-max_users, each active on a day with probability 0.4, using 1-3 of
    # 20 features that day, 1-9 events per feature (uniform draws).
    con.execute(
        f"""
        CREATE TABLE usage AS
        WITH accounts AS (
            SELECT a, 1 + floor(random() * {max_users})::INT AS users FROM range({accounts}) t(a)
        ),
        users AS (SELECT a, u FROM accounts, range(users) r(u)),
        active AS (
            SELECT a, u, d FROM users, range({days}) s(d) WHERE random() < 0.4
        ),
        used AS (
            SELECT a, u, d, floor(random() * 20)::INT AS f
            FROM (SELECT a, u, d, 1 + floor(random() * 3)::INT AS n FROM active), range(n) g(k)
        )
        SELECT printf('acc_%06d', a) AS account_id,
               DATE '{MONTH_START}' + d::INT AS activity_date,
               printf('u_%06d_%d', a, u) AS user_id,
               printf('feature_%02d', f) AS feature,
               any_value(1 + floor(random() * 9)::BIGINT) AS event_count
        FROM used GROUP BY ALL
        """
    )
    con.execute(
        f"COPY (SELECT * FROM usage ORDER BY activity_date, account_id, user_id, feature) "
        f"TO '{out / 'rows' / 'usage' / 'usage.csv.gz'}' (HEADER, COMPRESSION gzip)"
    )
    events = out / "events" / "usage" / "events.json"
    con.execute(
        f"""
        COPY (
            SELECT 'track' AS type,
                   feature AS event,
                   user_id AS userId,
                   {{'groupId': account_id, 'library': {{'name': 'analytics-node'}}}} AS context,
                   {{'plan': 'growth'}} AS properties,
                   strftime(activity_date + INTERVAL (floor(random() * 86400)) SECOND,
                            '%Y-%m-%dT%H:%M:%S.000Z') AS timestamp,
                   printf('msg-%s-%d', md5(account_id || user_id || feature
                          || activity_date::VARCHAR), i) AS messageId
            FROM usage, range(event_count) e(i)
            ORDER BY activity_date
        ) TO '{events}' (FORMAT json)
        """
    )
    # gzip -1 (DuckDB's own gzip writer is several times slower)
    subprocess.run(["gzip", "-1", "-f", str(events)], check=True)
    rows, events = con.execute("SELECT count(*), sum(event_count) FROM usage").fetchone()
    print(f"{rows:,} usage rows, {events:,} events, {accounts:,} accounts, {days} days")


def load(exports: Path, warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse))
    started = time.perf_counter()
    # the generated group ids are the account ids (no accounts export to match them through)
    config = parse_ingest_config({"sources": {"usage": {"account_match": "account_id"}}}, exports)
    result = ingest_source(con, "usage", exports, config=config)
    wall = time.perf_counter() - started
    (f,) = result.files
    written = con.execute("SELECT count(*) FROM raw.usage").fetchone()[0]
    print(
        f"{f.file}: {f.status}, preset {f.preset}, rows read {f.rows_read:,}, loaded "
        f"{f.rows_loaded:,}, quarantined {f.rows_quarantined:,}, raw.usage rows {written:,}, "
        f"{wall:.1f} s"
    )
    if f.error:
        print(f.error, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.events", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("out", type=Path)
    gen.add_argument("--accounts", type=int, default=100_000)
    gen.add_argument("--days", type=int, default=30)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--max-users", type=int, default=8, help="users per account: 1 to this")
    ld = sub.add_parser("load")
    ld.add_argument("exports", type=Path)
    ld.add_argument("warehouse", type=Path)
    args = parser.parse_args(argv)
    if args.command == "generate":
        generate(args.out, args.accounts, args.days, args.seed, args.max_users)
    else:
        load(args.exports, args.warehouse)
    return 0


if __name__ == "__main__":
    sys.exit(main())
