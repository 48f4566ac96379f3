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

from healthmart.core.resources import HealthmartSettings, RunLock, warehouse_connection
from healthmart.core.run_range import run_date_range
from healthmart.core.settings import Settings
from healthmart.defs.dbt.planning import data_date_span, recorded_plan, tables
from healthmart.defs.dbt.project import dbt_project

# The run's plan (healthmart.defs.dbt.plan): the dbt build starts after it.
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
    the plan the run recorded (healthmart.defs.dbt.plan), else its range tags (a run that did
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


def run_env(window: tuple[date, date] | None) -> dict[str, str]:
    """The run's scoring range for its `dbt build` (macros/run_var.sql): environment
    variables, not dbt vars, so that dbt reuses the parse of the last run (a change of vars
    makes dbt parse the whole project again). Empty: every date the data supports."""
    start, end = (d.isoformat() for d in window) if window is not None else ("", "")
    return {
        "HEALTHMART_RUN_START_DATE": start,
        "HEALTHMART_RUN_END_DATE": end,
        "HEALTHMART_RUN_PUBLISHED_FROM": "",
    }


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


def history_input_names(manifest: Mapping[str, Any]) -> list[str]:
    """The models and seeds that are neither per-date (PER_DATE_TAG) nor history summaries
    (SUMMARY_TAG): the config, staging and whole-history inputs the scoring reads."""
    phased = {PER_DATE_TAG.removeprefix("tag:"), SUMMARY_TAG.removeprefix("tag:")}
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed") and not phased & set(node["tags"])
    )


def account_days_bound(settings: Settings, window: tuple[date, date] | None) -> int:
    """At most how many account-days a run scores: its range (else the exports' whole date
    span and the day after) times the accounts loaded. Read before the build, so that a run
    small enough for one `dbt build` gets one."""
    with warehouse_connection(settings, read_only=True) as con:
        span = data_date_span(con)
        if window is None:
            if span is None:
                return 0
            window = (span[0], span[1] + timedelta(days=1))
        if "accounts" not in tables(con, "raw"):
            return 0
        (accounts,) = con.execute("select count(distinct account_id) from raw.accounts").fetchone()
    return accounts * ((window[1] - window[0]).days + 1)


def _build(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    settings: Settings,
    window: tuple[date, date] | None,
    extra_env: dict[str, str] | None = None,
    exclude: str | None = None,
    stream: bool = True,
) -> Iterator[Any]:
    """One `dbt build` of the run's selection (less `exclude`) over the window's scoring
    dates (None: all the data supports); stream=False runs it without reporting its events
    (raises when it fails)."""
    variables = run_env(window) | (extra_env or {})
    args = ["build"]
    if exclude:
        args += ["--exclude", exclude]
    shown = ", ".join(f"{key}={value}" for key, value in variables.items() if value)
    context.log.info(f"dbt {' '.join(args)} ({shown or 'every date'}) on {settings.warehouse_path}")
    # A test runs in the invocation that builds all of its parents (`buildable`). The dbt
    # unit tests check the SQL, not the data: the test suite runs them (`make test`), the
    # runs do not.
    env = {"DBT_INDIRECT_SELECTION": "buildable", "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test"}
    with _environment(settings.dbt_env() | env | variables):
        invocation = dbt.cli(args, context=context)
        if stream:
            yield from invocation.stream()
        else:
            invocation.wait()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=translator,
    name="dbt_build",
)
def dbt_build(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    settings: HealthmartSettings,
    run_lock: RunLock,
) -> Iterator[Any]:
    """Seeds, staging, signals, scores, marts and their tests for the run's scoring dates
    (its plan; without one its range tags, else every date the data supports): one
    `dbt build`, the per-date models replacing those dates only.

    A range of more account-days than the build_account_days setting is built in
    consecutive parts so that memory stays that of one part: first the whole-history inputs
    (config, staging, usage days), then the per-date models one part at a time, one `dbt
    build` each (a later part reads the dates an earlier one published: run_var
    published_from), the last part with the history summaries. A failing test in any part
    stops the run."""
    resolved = settings.resolve()
    build, window = run_scoring_dates(context.run, resolved)
    if not build:
        context.log.info("nothing to rebuild (see the run's plan): no dbt build")
        return
    if account_days_bound(resolved, window) <= resolved.build_account_days:
        yield from _build(context, dbt, resolved, window)
        return
    yield from _build(context, dbt, resolved, window, exclude=f"{PER_DATE_TAG} {SUMMARY_TAG}")
    supported, accounts = supported_range(resolved)
    parts = build_parts(window, supported, accounts, resolved.build_account_days) or [None]
    inputs = " ".join(history_input_names(json.loads(dbt_project.manifest_path.read_text())))
    if len(parts) > 1:
        context.log.info(
            f"{len(parts)} parts of at most {resolved.build_account_days:,} account-days "
            f"({accounts:,} accounts): {parts[0][0]} .. {parts[-1][1]}"
        )
    for number, part in enumerate(parts, start=1):
        extra = {}
        if part is not None:
            extra = run_env(part)
            if number > 1:
                extra["HEALTHMART_RUN_PUBLISHED_FROM"] = parts[0][0].isoformat()
            context.log.info(f"part {number} of {len(parts)}: {part[0]} .. {part[1]}")
        if number < len(parts):
            for _ in _build(
                context, dbt, resolved, window, extra, f"{inputs} {SUMMARY_TAG}", stream=False
            ):
                pass
        else:
            yield from _build(context, dbt, resolved, window, extra, inputs)


dbt_asset_definitions = [dbt_build]


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
