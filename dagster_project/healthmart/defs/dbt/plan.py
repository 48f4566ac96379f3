"""The run's plan, before the dbt build.

`scoring/plan` runs after the ingest: it chooses the scoring dates (healthmart.defs.dbt.planning),
drops the per-date tables before a rebuild from scratch, and records the plan, which the dbt
assets and the publication read.
"""

import json

import dagster as dg
from dagster import AssetExecutionContext

from healthmart.core.resources import HealthmartSettings, RunLock, warehouse_connection
from healthmart.core.run_range import run_date_range, today
from healthmart.defs.dbt.assets import PLAN_KEY
from healthmart.defs.dbt.planning import (
    plan_run,
    record_plan,
    scoring_hash,
    tables_dropped_before_a_rebuild,
)
from healthmart.defs.dbt.project import dbt_project
from healthmart.defs.ingest.assets import ingest_assets


@dg.asset(
    key=PLAN_KEY,
    group_name="planning",
    deps=[asset.key for asset in ingest_assets],
    description=(
        "The scoring dates of the run, after the ingest: every date the data supports on the "
        "first run (or after a change of the dbt models or the preset, or with the run tag "
        "healthmart/restate=true), else the new days and the days late or corrected files "
        "changed; the run tags healthmart/score_from and healthmart/score_to choose a range "
        "by hand. Recorded in ingest_meta.scoring_runs."
    ),
    kinds={"duckdb", "python"},
)
def scoring_plan(
    context: AssetExecutionContext, settings: HealthmartSettings, run_lock: RunLock
) -> dg.MaterializeResult:
    resolved = settings.resolve()
    tags = dict(context.run.tags)
    config_hash = scoring_hash()
    with warehouse_connection(resolved) as con:
        try:
            plan = plan_run(
                con,
                tags,
                preset=resolved.preset,
                config_hash=config_hash,
                latest=today(),
                serving_exists=resolved.serving_path.exists(),
            )
        except ValueError as exc:
            raise dg.Failure(description=str(exc)) from exc
        if plan.data_span is None:
            raise dg.Failure(description="No rows were loaded from the exports: nothing to score.")
        if plan.full:
            # From scratch: no scored date outside the new range may linger.
            manifest = json.loads(dbt_project.manifest_path.read_text())
            for table in tables_dropped_before_a_rebuild(manifest):
                con.execute(f"drop table if exists {table}")
        record_plan(
            con,
            plan,
            context.run.run_id,
            preset=resolved.preset,
            config_hash=config_hash,
            planned=run_date_range(tags) is None,
        )
    context.log.info(plan.describe())
    return dg.MaterializeResult(
        metadata={
            "plan": plan.describe(),
            "range_start": plan.start.isoformat() if plan.start else "none",
            "range_end": plan.end.isoformat() if plan.end else "none",
            "full_rebuild": plan.full,
        }
    )
