"""The current-day build of the benchmark: `healthmart run` scoring only the latest date.

`healthmart run` has no option for a scoring-date range: it always asks for every date the
data supports (on a fresh warehouse, the whole history). The Dagster job and the dbt models
do support a range (the daily partitions, dbt vars start_date / end_date): this driver does
what `healthmart run` does (dbt parse, ingest run, build run with the range tags, publication,
summary and report, under the run lock) with the range narrowed to the latest scoring date.
dbt also restates the date 30 days before it (the look-back the drivers and deltas need).

    python -m healthmart.bench.current_day        # settings from the HEALTHMART_* variables
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import timedelta

from healthmart.cli import (
    CONSOLE_LOG_CONFIG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    ensure_dagster_home,
    has_exports,
    loaded_date_span,
    parse_dbt,
)
from healthmart.contract import SOURCES
from healthmart.runlock import RunLockBusy, lock_timeout, run_lock
from healthmart.settings import Settings


def build_latest_date(settings: Settings) -> int:
    started = time.monotonic()
    if not has_exports(settings.exports_dir):
        print(f"No exports in {settings.exports_dir}.", file=sys.stderr)
        return 1
    parse_dbt(settings)
    ensure_dagster_home()

    import os

    import dagster as dg

    from healthmart.definitions import defs

    instance = dg.DagsterInstance.get()
    job = defs.resolve_job_def("daily_health_job")
    ingest_keys = [dg.AssetKey(["raw", source]) for source in SOURCES]
    build_keys = [
        key for key in defs.resolve_asset_graph().get_all_asset_keys() if key not in ingest_keys
    ]
    os.environ.update(
        settings.dbt_env()
        | {
            "HEALTHMART_EXPORTS_DIR": str(settings.exports_dir),
            "HEALTHMART_SERVING_PATH": str(settings.serving_path),
        }
    )
    ingest = job.execute_in_process(
        instance=instance,
        asset_selection=ingest_keys,
        run_config=CONSOLE_LOG_CONFIG,
        raise_on_error=False,
    )
    if not ingest.success:
        print("The ingest run failed.", file=sys.stderr)
        return 1
    span = loaded_date_span(settings)
    if span is None:
        print("No rows were loaded from the exports.", file=sys.stderr)
        return 1
    latest = span[1] + timedelta(days=1)
    print(f"Building the health mart for the latest scoring date only: {latest}", flush=True)
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")
    build = job.execute_in_process(
        instance=instance,
        asset_selection=build_keys,
        run_id=str(uuid.uuid4()),
        tags={RANGE_START_TAG: latest.isoformat(), RANGE_END_TAG: latest.isoformat()},
        run_config=CONSOLE_LOG_CONFIG,
        raise_on_error=False,
    )
    if not build.success:
        print("The build run failed.", file=sys.stderr)
        return 1

    from healthmart.report import report_path, write_report
    from healthmart.summary import render_summary

    print(render_summary(settings.serving_path))
    print(f"Health report: {write_report(settings.serving_path, report_path())}")
    print(f"Done in {time.monotonic() - started:.0f} s.")
    return 0


def main() -> int:
    settings = Settings.from_env()
    try:
        with run_lock(settings.warehouse_path, lock_timeout()):
            return build_latest_date(settings)
    except RunLockBusy as busy:
        print(busy, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
