"""The Dagster code location: `dagster dev` (workspace.yaml) and `healthmart run` load this."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from healthmart.assets.checks import quality_checks
from healthmart.assets.dbt import dbt_asset_definitions
from healthmart.assets.ingest import ingest_assets
from healthmart.assets.run import run_assets
from healthmart.assets.serving import serving_file
from healthmart.automation import (
    daily_health_job,
    daily_schedule,
    new_exports_sensor,
    run_failure_alert,
)
from healthmart.dbt_project import dbt_executable, dbt_project
from healthmart.resources import HealthmartSettings, RunLock

SETTINGS = HealthmartSettings()

defs = dg.Definitions(
    assets=[*ingest_assets, *run_assets, *dbt_asset_definitions, serving_file],
    # The expectation suites (expectations/) as blocking checks of the ingest and mart assets.
    asset_checks=quality_checks,
    jobs=[daily_health_job],
    schedules=[daily_schedule],
    sensors=[new_exports_sensor, run_failure_alert],
    resources={
        "settings": SETTINGS,
        "run_lock": RunLock(settings=SETTINGS),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    },
    # One step at a time in one process: DuckDB allows a single writer, so ingest and dbt
    # never compete for the warehouse lock.
    executor=dg.in_process_executor,
)
