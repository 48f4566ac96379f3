"""The Dagster code location: `dagster dev` (workspace.yaml) and `healthmart run` load this."""

from __future__ import annotations

import dagster as dg

from healthmart.core.resources import HealthmartSettings, RunLock
from healthmart.defs.automation.schedules import (
    daily_health_job,
    daily_schedule,
    new_exports_sensor,
    run_failure_alert,
)
from healthmart.defs.dbt.assets import dbt_asset_definitions
from healthmart.defs.dbt.plan import scoring_plan
from healthmart.defs.dbt.project import dbt_executable, dbt_project
from healthmart.defs.dbt.resource import DbtCli
from healthmart.defs.ingest.assets import ingest_assets
from healthmart.defs.quality.checks import quality_checks
from healthmart.defs.report.assets import health_report
from healthmart.defs.serving.assets import serving_file
from healthmart.defs.serving.run_record import scoring_run_record

SETTINGS = HealthmartSettings()

defs = dg.Definitions(
    assets=[
        *ingest_assets,
        scoring_plan,
        *dbt_asset_definitions,
        serving_file,
        scoring_run_record,
        health_report,
    ],
    # The expectation suites (expectations/) as blocking checks of the ingest and mart assets.
    asset_checks=quality_checks,
    jobs=[daily_health_job],
    schedules=[daily_schedule],
    sensors=[new_exports_sensor, run_failure_alert],
    resources={
        "settings": SETTINGS,
        "run_lock": RunLock(settings=SETTINGS),
        "dbt": DbtCli(project_dir=dbt_project, dbt_executable=dbt_executable()),
    },
    # One step at a time in one process: DuckDB allows a single writer, so ingest and dbt
    # never compete for the warehouse lock.
    executor=dg.in_process_executor,
)
