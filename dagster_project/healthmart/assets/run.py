"""The run's own steps around the dbt build: its plan, its record, its report.

`scoring/plan` runs after the ingest: it chooses the scoring dates (healthmart.planning),
drops the per-date tables before a rebuild from scratch, and records the plan, which the dbt
assets and the publication read. `scoring/run_record` marks the run succeeded once the
serving file is published (the next run plans from it). `serving/health_report` writes the
HTML health report of the published file.
"""

import json

import dagster as dg
from dagster import AssetExecutionContext

from healthmart.assets.dbt import PLAN_KEY
from healthmart.assets.ingest import ingest_assets
from healthmart.assets.serving import SERVING_KEY
from healthmart.dbt_project import dbt_project
from healthmart.planning import (
    finish_run,
    plan_run,
    record_plan,
    scoring_hash,
    tables_dropped_before_a_rebuild,
)
from healthmart.resources import HealthmartSettings, RunLock, warehouse_connection
from healthmart.run_range import run_date_range, today


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


@dg.asset(
    key=["scoring", "run_record"],
    group_name="planning",
    deps=[SERVING_KEY],
    description=(
        "The run's line in ingest_meta.scoring_runs marked succeeded once the serving file is "
        "published: the next run plans the dates that changed since."
    ),
    kinds={"duckdb"},
)
def scoring_run_record(
    context: AssetExecutionContext, settings: HealthmartSettings, run_lock: RunLock
) -> dg.MaterializeResult:
    with warehouse_connection(settings.resolve()) as con:
        status = finish_run(con, context.run.run_id)
    return dg.MaterializeResult(metadata={"status": status or "no plan recorded by this run"})


@dg.asset(
    key=["serving", "health_report"],
    group_name="serving",
    deps=[SERVING_KEY],
    description=(
        "The HTML health report of the published serving file (HEALTHMART_REPORT_PATH, "
        "default reports/health_report.html): tiers, movers, actions, backtest."
    ),
    kinds={"html"},
)
def health_report(
    context: AssetExecutionContext, settings: HealthmartSettings, run_lock: RunLock
) -> dg.MaterializeResult:
    from healthmart.report import report_path, write_report  # plotly: loaded when it runs

    path = write_report(settings.resolve().serving_path, report_path())
    context.log.info(f"health report: {path}")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path))})


run_assets = [scoring_plan, scoring_run_record, health_report]
