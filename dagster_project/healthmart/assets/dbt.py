"""The dbt models, seeds and tests as Dagster assets and asset checks (`dbt build`)."""

import json
import os
from collections.abc import Iterator, Mapping
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
from healthmart.planning import recorded_plan
from healthmart.resources import HealthmartSettings, RunLock, warehouse_connection
from healthmart.run_range import run_date_range
from healthmart.settings import Settings

# The run's plan (healthmart.assets.run): the dbt build starts after it.
PLAN_KEY = dg.AssetKey(["scoring", "plan"])


class HealthmartDbtTranslator(DagsterDbtTranslator):
    """Groups dbt assets by layer (staging, intermediate, marts, config)."""

    def get_group_name(self, dbt_resource_props: dict[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "config"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetSpec:
        """The dbt nodes that read no other model or seed (the seeds, the staging models)
        come after the run's plan, which may drop the per-date tables first."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("resource_type") not in ("model", "seed"):
            return spec
        parents = props.get("depends_on", {}).get("nodes", [])
        if any(parent.split(".")[0] in ("model", "seed", "snapshot") for parent in parents):
            return spec
        return spec.merge_attributes(deps=[PLAN_KEY])


translator = HealthmartDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
)


def run_scoring_dates(
    run: dg.DagsterRun, settings: Settings
) -> tuple[bool, tuple[date, date] | None]:
    """Whether the run builds, and its scoring dates (None: every date the data supports):
    the plan the run recorded (healthmart.assets.run), else its range tags (a run that did
    not plan, e.g. a few dbt assets materialised from the UI)."""
    plan = None
    if settings.warehouse_path.exists():
        with warehouse_connection(settings, read_only=True) as con:
            plan = recorded_plan(con, run.run_id)
    if plan is None:
        return True, run_date_range(dict(run.tags))
    if plan.start is None:
        return False, None
    return True, (plan.start, plan.end)


def dbt_vars(window: tuple[date, date] | None, preset: str) -> dict[str, str]:
    """dbt vars of a run: its scoring-date range and the preset."""
    variables = {"preset": preset}
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
    window: tuple[date, date] | None = None,
) -> Iterator[Any]:
    """One `dbt build` of the asset's selection over the window's scoring dates (None: all
    the data supports); stream=False runs it without reporting its events (raises when it
    fails)."""
    resolved = settings.resolve()
    variables = dbt_vars(window, resolved.preset) | (extra_vars or {})
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
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    settings: HealthmartSettings,
    run_lock: RunLock,
) -> Iterator[Any]:
    """Config seeds, staging views and the whole-history intermediates, rebuilt every run
    that scores a date (a run whose plan has nothing to rebuild builds nothing)."""
    build, window = run_scoring_dates(context.run, settings.resolve())
    if build:
        yield from _build(context, dbt, settings, window=window)
    else:
        context.log.info("nothing to rebuild (see the run's plan): no dbt build")


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=translator,
    select=PER_DATE_TAG,
    name="dbt_scored_dates",
)
def dbt_scored_dates(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    settings: HealthmartSettings,
    run_lock: RunLock,
) -> Iterator[Any]:
    """Signals, scores and the per-date marts for the run's scoring dates (its plan;
    without one its range tags, else every date the data supports): a `dbt build` over the
    range, incremental models replacing those dates only. A range of more account-days
    than the build_account_days setting is built in consecutive parts, one `dbt build`
    each (memory stays that of one part); each part reads the dates an earlier part
    published as published (dbt var published_from). The events of the last part are the
    assets' results; a failing test in any part stops the run."""
    resolved = settings.resolve()
    build, window = run_scoring_dates(context.run, resolved)
    if not build:
        context.log.info("nothing to rebuild (see the run's plan): no dbt build")
        return
    supported, accounts = supported_range(resolved)
    parts = build_parts(window, supported, accounts, resolved.build_account_days)
    if len(parts) <= 1:
        yield from _build(context, dbt, settings, window=window)
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
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    settings: HealthmartSettings,
    run_lock: RunLock,
) -> Iterator[Any]:
    """Marts over the whole scored history: current scores, cohort churn, backtest."""
    build, window = run_scoring_dates(context.run, settings.resolve())
    if build:
        yield from _build(context, dbt, settings, window=window)
    else:
        context.log.info("nothing to rebuild (see the run's plan): no dbt build")


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
