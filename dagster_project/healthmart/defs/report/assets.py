"""`serving/health_report`: the HTML health report of the published serving file."""

import dagster as dg
from dagster import AssetExecutionContext

from healthmart.core.resources import HealthmartSettings, RunLock
from healthmart.defs.serving.assets import SERVING_KEY


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
    from healthmart.defs.report.page import report_path, write_report  # plotly: loaded when it runs

    path = write_report(settings.resolve().serving_path, report_path())
    context.log.info(f"health report: {path}")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path))})
