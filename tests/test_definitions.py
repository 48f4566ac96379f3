"""The Dagster code location loads, with the graph the design promises."""

from __future__ import annotations

import dagster as dg
from healthmart.contract import SOURCES
from healthmart.definitions import defs


def test_definitions_load_with_the_whole_graph() -> None:
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    # one ingest asset per export of the contract
    assert {f"raw/{source}" for source in SOURCES} <= keys
    # the marts of the contract, and the serving file downstream of them
    for mart in (
        "dim_accounts",
        "fct_signal_scores",
        "fct_health_scores",
        "fct_health_current",
        "fct_cohort_churn",
    ):
        assert f"marts/{mart}" in keys
    serving = dg.AssetKey(["serving", "healthmart_duckdb"])
    assert dg.AssetKey(["marts", "fct_health_current"]) in graph.get(serving).parent_keys
    # dbt sources map onto the ingest assets (declared in the sources' meta)
    assert (
        dg.AssetKey(["raw", "usage"])
        in graph.get(dg.AssetKey(["staging", "stg_usage__events"])).parent_keys
    )


def test_per_scoring_date_assets_are_daily_partitioned_with_single_run_backfills() -> None:
    graph = defs.resolve_asset_graph()
    scores = graph.get(dg.AssetKey(["marts", "fct_health_scores"]))
    assert isinstance(scores.partitions_def, dg.DailyPartitionsDefinition)
    assert scores.backfill_policy == dg.BackfillPolicy.single_run()
    # ingest is by file, not by date: the folder is the truth on every run
    assert graph.get(dg.AssetKey(["raw", "billing"])).partitions_def is None


def test_dbt_tests_are_asset_checks() -> None:
    graph = defs.resolve_asset_graph()
    check_keys = graph.asset_check_keys
    scores_checks = {
        k.name for k in check_keys if k.asset_key == dg.AssetKey(["marts", "fct_health_scores"])
    }
    assert any("unique_combination_of_columns" in name for name in scores_checks)


def test_job_schedule_and_sensor_are_defined() -> None:
    job = defs.resolve_job_def("daily_health_job")
    assert job.partitions_def is not None
    schedule = defs.resolve_schedule_def("daily_health_schedule")
    assert schedule.cron_schedule == "0 6 * * *"
    assert defs.resolve_sensor_def("new_exports_sensor").job_name == "daily_health_job"
