"""The run's record: `scoring/run_record` marks the run succeeded once the serving file is
published (the next run plans from it)."""

import dagster as dg
from dagster import AssetExecutionContext

from healthmart.core.resources import HealthmartSettings, RunLock, warehouse_connection
from healthmart.defs.dbt.planning import finish_run
from healthmart.defs.serving.assets import SERVING_KEY


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
