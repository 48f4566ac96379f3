"""The dbt models, seeds and tests as Dagster assets and asset checks (`dbt build`)."""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
    get_asset_key_for_model,
)

from healthmart.dbt_project import dbt_project
from healthmart.resources import HealthmartSettings, warehouse_connection
from healthmart.run_range import scoring_range
from healthmart.settings import Settings


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
    """dbt vars of a run: its scoring-date range (from the run tags) and the preset."""
    variables = {"preset": preset}
    window = scoring_range(context)
    if window is not None:
        variables["start_date"] = window[0].isoformat()
        variables["end_date"] = window[1].isoformat()
    return variables


def build_parts(
    requested: tuple[date, date] | None,
    supported: tuple[date, date] | None,
    accounts: int,
    account_days: int,
) -> list[tuple[date, date]]:
    """The run's scoring range (the requested one, else all the data supports, clamped to
    what it supports) in consecutive parts of at most `account_days` accounts x days (at
    least one day each). No part when nothing is supported or the range misses it."""
    if supported is None:
        return []
    start, end = supported
    if requested is not None:
        start, end = max(start, requested[0]), min(end, requested[1])
    days = max(1, account_days // max(accounts, 1))
    parts = []
    while start <= end:
        last = min(end, start + timedelta(days=days - 1))
        parts.append((start, last))
        start = last + timedelta(days=1)
    return parts


def supported_range(settings: Settings) -> tuple[tuple[date, date] | None, int]:
    """The scoring dates the data supports (dbt's int_scoring_dates__supported, built with the
    whole-history inputs) and the number of accounts."""
    with warehouse_connection(settings, read_only=True) as con:
        row = con.execute(
            "select supported_start, supported_end from intermediate.int_scoring_dates__supported"
        ).fetchone()
        (accounts,) = con.execute("select count(*) from staging.stg_accounts__accounts").fetchone()
    if row is None or row[0] is None or row[1] is None:
        return None, accounts
    return (row[0], row[1]), accounts


PER_DATE_TAG = "tag:per_scoring_date"
SUMMARY_TAG = "tag:history_summary"


def _build(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    settings: HealthmartSettings,
    extra_vars: dict[str, str] | None = None,
    stream: bool = True,
) -> Iterator[Any]:
    """One `dbt build` of the asset's selection; stream=False runs it without reporting its
    events (raises when it fails)."""
    resolved = settings.resolve()
    variables = dbt_vars(context, resolved.preset) | (extra_vars or {})
    context.log.info(f"dbt build with vars {variables} on {resolved.warehouse_path}")
    # A test runs in the invocation that builds all of its parents (`buildable`), so a test
    # over a per-date mart and a history mart runs once, after both are built.
    with _environment(resolved.dbt_env() | {"DBT_INDIRECT_SELECTION": "buildable"}):
        invocation = dbt.cli(["build", "--vars", json.dumps(variables)], context=context)
        if stream:
            yield from invocation.stream()
        else:
            invocation.wait()


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
)
def dbt_scored_dates(
    context: AssetExecutionContext, dbt: DbtCliResource, settings: HealthmartSettings
) -> Iterator[Any]:
    """Signals, scores and the per-date marts for the run's scoring dates (its range tags;
    without them every date the data supports): a `dbt build` over the range, incremental
    models replacing those dates only. A range of more account-days than the
    build_account_days setting is built in consecutive parts, one `dbt build` each (memory
    stays that of one part); each part reads the dates an earlier part published as
    published (dbt var published_from). The events of the last part are the assets'
    results; a failing test in any part stops the run."""
    resolved = settings.resolve()
    supported, accounts = supported_range(resolved)
    parts = build_parts(scoring_range(context), supported, accounts, resolved.build_account_days)
    if len(parts) <= 1:
        yield from _build(context, dbt, settings)
        return
    context.log.info(
        f"{len(parts)} parts of at most {resolved.build_account_days:,} account-days "
        f"({accounts:,} accounts): {parts[0][0]} .. {parts[-1][1]}"
    )
    for number, (first, last) in enumerate(parts, start=1):
        extra = {"start_date": first.isoformat(), "end_date": last.isoformat()}
        if number > 1:
            extra["published_from"] = parts[0][0].isoformat()
        context.log.info(f"part {number} of {len(parts)}: {first} .. {last}")
        if number < len(parts):
            for _ in _build(context, dbt, settings, extra, stream=False):
                pass
        else:
            yield from _build(context, dbt, settings, extra)


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


def mart_asset_key(model: str) -> dg.AssetKey:
    """The asset key of a dbt model, whichever dbt asset definition builds it."""
    for definition in dbt_asset_definitions:
        try:
            return get_asset_key_for_model([definition], model)
        except KeyError:
            continue
    raise KeyError(f"no dbt asset definition builds the model {model!r}")


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
