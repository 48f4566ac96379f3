"""The dbt models, seeds and tests as Dagster assets and asset checks (`dbt build`)."""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from healthmart.dbt_project import dbt_project
from healthmart.partitions import daily_partitions, scoring_range, single_run
from healthmart.resources import HealthmartSettings


class HealthmartDbtTranslator(DagsterDbtTranslator):
    """Groups dbt assets by layer (staging, intermediate, marts, config)."""

    def get_group_name(self, dbt_resource_props: dict[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "config"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


translator = HealthmartDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
)


def dbt_vars(context: AssetExecutionContext, preset: str) -> dict[str, str]:
    """dbt vars of a run: its scoring-date range (from the partitions) and the preset."""
    variables = {"preset": preset}
    window = scoring_range(context)
    if window is not None:
        variables["start_date"] = window[0].isoformat()
        variables["end_date"] = window[1].isoformat()
    return variables


PER_DATE_TAG = "tag:per_scoring_date"
SUMMARY_TAG = "tag:history_summary"


def _build(
    context: AssetExecutionContext, dbt: DbtCliResource, settings: HealthmartSettings
) -> Iterator[Any]:
    resolved = settings.resolve()
    variables = dbt_vars(context, resolved.preset)
    context.log.info(f"dbt build with vars {variables} on {resolved.warehouse_path}")
    # A test runs in the invocation that builds all of its parents (`buildable`), so a test
    # over a per-date mart and a history mart runs once, after both are built.
    with _environment(resolved.dbt_env() | {"DBT_INDIRECT_SELECTION": "buildable"}):
        yield from dbt.cli(["build", "--vars", json.dumps(variables)], context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=translator,
    exclude=f"{PER_DATE_TAG} {SUMMARY_TAG}",
    name="dbt_history_inputs",
)
def dbt_history_inputs(
    context: AssetExecutionContext, dbt: DbtCliResource, settings: HealthmartSettings
) -> Iterator[Any]:
    """Config seeds, staging views and the whole-history intermediates, rebuilt every run."""
    yield from _build(context, dbt, settings)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=translator,
    select=PER_DATE_TAG,
    name="dbt_scored_dates",
    partitions_def=daily_partitions,
    backfill_policy=single_run,
)
def dbt_scored_dates(
    context: AssetExecutionContext, dbt: DbtCliResource, settings: HealthmartSettings
) -> Iterator[Any]:
    """Signals, scores and the per-date marts for the run's scoring dates (its partitions):
    one `dbt build` over the whole range, incremental models replacing those dates only."""
    yield from _build(context, dbt, settings)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=translator,
    select=SUMMARY_TAG,
    name="dbt_history_summaries",
)
def dbt_history_summaries(
    context: AssetExecutionContext, dbt: DbtCliResource, settings: HealthmartSettings
) -> Iterator[Any]:
    """Marts over the whole scored history: current scores, cohort churn, backtest."""
    yield from _build(context, dbt, settings)


dbt_asset_definitions = [dbt_history_inputs, dbt_scored_dates, dbt_history_summaries]


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the dbt subprocess while it runs, then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
