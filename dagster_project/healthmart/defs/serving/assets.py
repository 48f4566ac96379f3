"""The serving file: the marts published for BI tools once the build and its checks pass."""

import functools
import json
from collections.abc import Mapping
from datetime import date
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from healthmart.core.resources import HealthmartSettings, RunLock
from healthmart.defs.dbt.assets import mart_asset_key, run_scoring_dates
from healthmart.defs.dbt.project import dbt_project
from healthmart.defs.serving.publish import PUBLISHED_SCHEMAS, ChangedDates, publish_serving_file

SERVING_KEY = dg.AssetKey(["serving", "healthmart_duckdb"])

PUBLISHED_MODELS = (
    "dim_accounts",
    "fct_signal_scores_wide",
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
    "fct_backtest_summary",
    "fct_backtest_signals",
    "account_health",
    "health_history",
    "signal_breakdown",
    "churn_by_tier",
    "nps_by_segment",
)


def per_date_tables(manifest: Mapping[str, Any]) -> frozenset[str]:
    """The published tables (schema.table) a run rewrites by scoring date, from the dbt
    manifest: the models of a published schema tagged per_scoring_date and built
    incrementally by score_date. A run replaces the dates of its range in them and nothing
    else, so the publication after it writes only those dates. The views over them
    (fct_signal_scores and fct_health_drivers over fct_signal_scores_wide) are re-created,
    not updated by date."""
    return frozenset(
        f"{node['schema']}.{node.get('alias') or node['name']}"
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model"
        and node["schema"] in PUBLISHED_SCHEMAS
        and "per_scoring_date" in node.get("tags", [])
        and node["config"].get("materialized") == "incremental"
        and node["config"].get("unique_key") == "score_date"
    )


@functools.cache
def per_date_published_tables() -> frozenset[str]:
    """per_date_tables of the project's dbt manifest (built by `healthmart parse`)."""
    return per_date_tables(json.loads(dbt_project.manifest_path.read_text()))


def changed_dates(window: tuple[date, date] | None) -> ChangedDates | None:
    """The scoring dates the run rebuilt (None: every date the data supports; the
    publication then copies everything)."""
    if window is None:
        return None
    return ChangedDates(*window, per_date_published_tables())


@dg.asset(
    key=SERVING_KEY,
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
    context: AssetExecutionContext, settings: HealthmartSettings, run_lock: RunLock
) -> dg.MaterializeResult:
    resolved = settings.resolve()
    _, window = run_scoring_dates(context.run, resolved)
    changed = changed_dates(window)
    result = publish_serving_file(
        resolved.warehouse_path, resolved.serving_path, changed, resolved.duckdb_memory_limit
    )
    how = (
        f"; {', '.join(result.updated_in_place)}: dates {changed.first} .. {changed.last} "
        "replaced in the previous file"
        if changed and result.updated_in_place
        else ""
    )
    context.log.info(f"published {len(result.tables)} tables to {result.serving_path}{how}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.serving_path)),
            "tables": len(result.tables),
            "health_current_rows": result.tables.get("marts.fct_health_current", 0),
            "health_score_rows": result.tables.get("marts.fct_health_scores", 0),
            "validation_result_rows": result.tables.get("quality.validation_results", 0),
        }
    )
