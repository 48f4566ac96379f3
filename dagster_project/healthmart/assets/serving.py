"""The serving file: the marts published for BI tools once the build and its checks pass."""

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import get_asset_key_for_model

from healthmart.assets.dbt import dbt_asset_definitions
from healthmart.publish import publish_serving_file
from healthmart.resources import HealthmartSettings

PUBLISHED_MODELS = (
    "dim_accounts",
    "fct_signal_scores",
    "fct_health_scores",
    "fct_health_current",
    "fct_health_drivers",
    "fct_account_actions",
    "fct_customer_value",
    "dim_overrides",
    "dim_config_versions",
    "fct_cohort_churn",
    "fct_backtest_churn_by_tier",
    "account_health",
    "health_history",
    "signal_breakdown",
    "churn_by_tier",
    "nps_by_segment",
)


def mart_asset_key(model: str) -> dg.AssetKey:
    """The asset key of a dbt model, whichever dbt asset definition builds it."""
    for definition in dbt_asset_definitions:
        try:
            return get_asset_key_for_model([definition], model)
        except KeyError:
            continue
    raise KeyError(f"no dbt asset definition builds the model {model!r}")


@dg.asset(
    key=["serving", "healthmart_duckdb"],
    group_name="serving",
    description=(
        "The serving DuckDB file (HEALTHMART_SERVING_PATH) that BI tools and analysts open "
        "read-only: a copy of the marts (and of quality.validation_results), replaced "
        "atomically after a successful build and its blocking checks."
    ),
    deps=[mart_asset_key(m) for m in PUBLISHED_MODELS],
    kinds={"duckdb"},
)
def serving_file(
    context: AssetExecutionContext, settings: HealthmartSettings
) -> dg.MaterializeResult:
    resolved = settings.resolve()
    result = publish_serving_file(resolved.warehouse_path, resolved.serving_path)
    context.log.info(f"published {len(result.tables)} tables to {result.serving_path}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.serving_path)),
            "tables": len(result.tables),
            "health_current_rows": result.tables.get("marts.fct_health_current", 0),
            "health_score_rows": result.tables.get("marts.fct_health_scores", 0),
            "validation_result_rows": result.tables.get("quality.validation_results", 0),
        }
    )
