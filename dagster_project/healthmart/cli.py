"""Command line: `healthmart run` (the daily job, headless), `summary`, `report`, `parse`.

`healthmart run` is what `make run` calls: sample exports when the landing folder has none,
the dbt manifest, one ingest run, one build run over every scoring date the data supports
(a single-run backfill), publication of the serving file, a printed summary and the HTML
health report.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from healthmart.contract import SOURCES
from healthmart.dbt_project import dbt_executable
from healthmart.ingest import list_export_files
from healthmart.runlock import RunLockBusy, lock_timeout, run_lock
from healthmart.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# The terminal shows the run's progress and problems; every event stays in the Dagster
# instance (DAGSTER_HOME), where `make ui` shows it.
CONSOLE_LOG_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def has_exports(exports_dir: Path) -> bool:
    """Whether the landing folder holds at least one export file of a known source."""
    return any(list_export_files(exports_dir, source) for source in SOURCES)


def parse_dbt(settings: Settings) -> Path:
    """Build the dbt manifest (`dbt parse`) that the Dagster definitions load."""
    env = {**os.environ, **settings.dbt_env()}
    subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR,
        env=env,
        check=True,
    )
    return DBT_PROJECT_DIR / "target" / "manifest.json"


def ensure_dagster_home() -> Path:
    """Use DAGSTER_HOME when set, else the project's .dagster_home (runs show in `dagster dev`)."""
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def loaded_date_span(settings: Settings) -> tuple[date, date] | None:
    """First and last date of the rows loaded in the raw tables (read-only)."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        existing = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
        parts = [
            f"select min(cast({src.time_column} as date)) as lo, "
            f"max(cast({src.time_column} as date)) as hi from raw.{src.name}"
            for src in SOURCES.values()
            if src.time_column and src.name in existing
        ]
        if not parts:
            return None
        lo, hi = con.execute(
            f"select min(lo), max(hi) from ({' union all '.join(parts)})"
        ).fetchone()
    finally:
        con.close()
    return (lo, hi) if lo is not None else None


def run(settings: Settings, accounts: int, months: int, seed: int) -> int:
    """The whole run under the run lock of the warehouse: one run at a time."""
    try:
        with run_lock(settings.warehouse_path, lock_timeout()):
            return _run_locked(settings, accounts, months, seed)
    except RunLockBusy as busy:
        print(busy, file=sys.stderr)
        return 1


def _run_locked(settings: Settings, accounts: int, months: int, seed: int) -> int:
    started = time.monotonic()
    if not has_exports(settings.exports_dir):
        from healthmart.generate import generate_exports

        print(
            f"No exports in {settings.exports_dir}: generating sample exports "
            f"({accounts} accounts, {months} months, seed {seed}).",
            flush=True,
        )
        counts = generate_exports(settings.exports_dir, accounts=accounts, months=months, seed=seed)
        print("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)

    print("Parsing the dbt project ...", flush=True)
    parse_dbt(settings)
    ensure_dagster_home()

    import dagster as dg

    from healthmart.definitions import defs
    from healthmart.partitions import daily_partitions

    instance = dg.DagsterInstance.get()
    job = defs.resolve_job_def("daily_health_job")
    ingest_keys = [dg.AssetKey(["raw", source]) for source in SOURCES]
    build_keys = [
        key for key in defs.resolve_asset_graph().get_all_asset_keys() if key not in ingest_keys
    ]
    env = settings.dbt_env() | {
        "HEALTHMART_EXPORTS_DIR": str(settings.exports_dir),
        "HEALTHMART_SERVING_PATH": str(settings.serving_path),
    }
    os.environ.update(env)

    print(f"Ingesting {settings.exports_dir} into {settings.warehouse_path} ...", flush=True)
    ingest = job.execute_in_process(
        instance=instance,
        asset_selection=ingest_keys,
        run_config=CONSOLE_LOG_CONFIG,
        raise_on_error=False,
    )
    if not ingest.success:
        print("The ingest run failed; see the Dagster run log.", file=sys.stderr)
        return 1

    span = loaded_date_span(settings)
    if span is None:
        print("No rows were loaded from the exports: nothing to score.", file=sys.stderr)
        return 1
    first_key = max(span[0], date.fromisoformat(daily_partitions.start.strftime("%Y-%m-%d")))
    last_key = daily_partitions.get_last_partition_key()
    last_date = min(span[1] + timedelta(days=1), date.fromisoformat(last_key))
    print(
        f"Building the health mart for scoring dates {first_key} .. {last_date} "
        "(one run; dbt narrows the range to what the data supports) ...",
        flush=True,
    )
    run_id = str(uuid.uuid4())
    with _quick_event_log(instance, run_id):
        build = job.execute_in_process(
            instance=instance,
            asset_selection=build_keys,
            run_id=run_id,
            tags={RANGE_START_TAG: first_key.isoformat(), RANGE_END_TAG: last_date.isoformat()},
            run_config=CONSOLE_LOG_CONFIG,
            raise_on_error=False,
        )
    if not build.success:
        print(
            "The build run failed (a model or a blocking check); the last published serving "
            "file is unchanged. See the Dagster run log.",
            file=sys.stderr,
        )
        return 1

    from healthmart.summary import render_summary

    print(render_summary(settings.serving_path))
    from healthmart.report import report_path, write_report

    print(f"Health report: {write_report(settings.serving_path, report_path())}")
    print(f"Done in {time.monotonic() - started:.0f} s.")
    return 0


@contextlib.contextmanager
def _quick_event_log(instance: Any, run_id: str) -> Iterator[None]:
    """Make a long single-run backfill cheaper on the default sqlite Dagster instance.

    Creating the run logs an ASSET_MATERIALIZATION_PLANNED event per asset and partition by
    default: one sqlite write each, ~7,000 (~45 s) for a year of the 19 per-date assets before
    the run starts. DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS logs one per asset,
    carrying the run's partition range. What it gives up: the UI does not show this run's
    partitions as in progress, nor as failed when the run fails (the run itself shows failed).
    Set it to false in the environment to get the per-partition planned events back.

    The run still logs one ASSET_MATERIALIZATION per asset and partition (what marks each
    scoring date materialized), and Dagster's sqlite event log opens and closes a connection
    for each write. When the last connection to a WAL database closes, sqlite checkpoints it
    and deletes the WAL: an idle connection to the index and to the run's event log, held
    while the run lasts, spares each event that. Closing them checkpoints once.
    """
    from dagster._core.storage.event_log import SqliteEventLogStorage

    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")
    with contextlib.ExitStack() as held:
        storage = instance.event_log_storage
        if isinstance(storage, SqliteEventLogStorage):
            held_paths: set[str] = set()

            def hold_open(path: str) -> None:
                if path in held_paths or not os.path.exists(path):
                    return
                held_paths.add(path)
                try:
                    connection = held.enter_context(contextlib.closing(sqlite3.connect(path)))
                    connection.execute("select count(*) from sqlite_master").fetchall()
                except sqlite3.Error:
                    pass  # only a speed-up: Dagster writes the same without it

            hold_open(storage.path_for_shard("index"))
            # The run's event log exists once the run's first event is stored.
            instance.add_event_listener(run_id, lambda _: hold_open(storage.path_for_shard(run_id)))
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="healthmart", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run the daily job headless and print a summary")
    run_p.add_argument(
        "--exports-dir", help="landing folder (default: HEALTHMART_EXPORTS_DIR or data/exports)"
    )
    run_p.add_argument(
        "--serving-path",
        help="serving file (default: HEALTHMART_SERVING_PATH or data/healthmart.duckdb)",
    )
    run_p.add_argument("--preset", help="weighting preset: hbr, vital_signs or bigcommerce")
    run_p.add_argument(
        "--sample-accounts", type=int, default=2000, help="accounts in generated sample exports"
    )
    run_p.add_argument(
        "--sample-months", type=int, default=18, help="months of generated sample exports"
    )
    run_p.add_argument(
        "--sample-seed", type=int, default=42, help="seed of generated sample exports"
    )
    sum_p = sub.add_parser("summary", help="print the summary of the published serving file")
    sum_p.add_argument("--serving-path")
    rep_p = sub.add_parser("report", help="write the HTML health report of the serving file")
    rep_p.add_argument("--serving-path")
    rep_p.add_argument(
        "--out", help="HTML file (default: HEALTHMART_REPORT_PATH or reports/health_report.html)"
    )
    sub.add_parser("parse", help="build the dbt manifest (dbt parse)")
    cal_p = sub.add_parser(
        "calibrate",
        help="fit signal weights to the churn history; write a proposed preset and a comparison",
    )
    cal_p.add_argument(
        "--warehouse-path",
        help="working warehouse, opened read-only (default: HEALTHMART_WAREHOUSE_PATH or "
        "data/warehouse.duckdb)",
    )
    cal_p.add_argument("--base-preset", default="hbr", help="preset whose dimensions to keep")
    cal_p.add_argument(
        "--horizon-days",
        type=int,
        help="churn horizon in days (default: churn_horizon_days of seeds/scoring_settings.csv)",
    )
    cal_p.add_argument(
        "--out", default="reports/calibration", help="output folder (default: reports/calibration)"
    )
    cal_p.add_argument(
        "--train-share", type=float, default=0.7, help="share of the span before the test period"
    )
    cal_p.add_argument("--seed", type=int, default=42, help="seed of the reference model")
    args = parser.parse_args(argv)

    if args.command == "run":
        settings = Settings.from_env(
            exports_dir=args.exports_dir, serving_path=args.serving_path, preset=args.preset
        )
        return run(settings, args.sample_accounts, args.sample_months, args.sample_seed)
    if args.command == "summary":
        from healthmart.summary import render_summary

        print(render_summary(Settings.from_env(serving_path=args.serving_path).serving_path))
        return 0
    if args.command == "report":
        from healthmart.report import report_path, write_report

        serving_path = Settings.from_env(serving_path=args.serving_path).serving_path
        print(f"Health report: {write_report(serving_path, report_path(args.out))}")
        return 0
    if args.command == "parse":
        parse_dbt(Settings.from_env())
        return 0
    if args.command == "calibrate":
        from healthmart import calibrate

        settings = Settings.from_env(warehouse_path=args.warehouse_path)
        out = Path(args.out).expanduser()
        return calibrate.run(
            settings.warehouse_path,
            out if out.is_absolute() else PROJECT_ROOT / out,
            base_preset=args.base_preset,
            horizon_days=args.horizon_days,
            train_share=args.train_share,
            seed=args.seed,
            memory_limit=settings.duckdb_memory_limit,
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
