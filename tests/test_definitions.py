"""The Dagster code location loads, with the graph the design promises."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from healthmart.core.contract import SOURCES
from healthmart.core.resources import HealthmartSettings
from healthmart.core.run_range import SCORE_FROM_TAG, SCORE_TO_TAG, range_tags, run_date_range
from healthmart.core.settings import PROJECT_ROOT
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
    # the exports naming accounts are ingested after the accounts and the crosswalk (their
    # rows are matched and checked against them)
    references = {dg.AssetKey(["raw", "accounts"]), dg.AssetKey(["raw", "crosswalk"])}
    for source in ("billing", "support", "survey", "usage", "csm", "outcomes", "overrides"):
        assert references <= graph.get(dg.AssetKey(["raw", source])).parent_keys, source
    assert not graph.get(dg.AssetKey(["raw", "accounts"])).parent_keys
    # dbt sources map onto the ingest assets (declared in the sources' meta)
    assert (
        dg.AssetKey(["raw", "usage"])
        in graph.get(dg.AssetKey(["staging", "stg_usage__events"])).parent_keys
    )


def test_no_asset_is_partitioned_the_run_tags_carry_the_scoring_dates() -> None:
    # A range of dates is one run whose events are one per asset, not one per asset and date.
    graph = defs.resolve_asset_graph()
    assert all(graph.get(key).partitions_def is None for key in graph.get_all_asset_keys())
    assert run_date_range(range_tags(date(2026, 3, 1), date(2026, 3, 4))) == (
        date(2026, 3, 1),
        date(2026, 3, 4),
    )
    assert run_date_range({}) is None  # no range: every date the data supports
    with pytest.raises(ValueError, match="healthmart/score_to='03/04/2026' is not a date"):
        run_date_range({SCORE_FROM_TAG: "2026-03-01", SCORE_TO_TAG: "03/04/2026"})
    with pytest.raises(ValueError, match="healthmart/score_to is missing"):
        run_date_range({SCORE_FROM_TAG: "2026-03-01"})
    with pytest.raises(ValueError, match="is before"):
        run_date_range(range_tags(date(2026, 3, 4), date(2026, 3, 1)))


def test_dbt_tests_are_asset_checks() -> None:
    graph = defs.resolve_asset_graph()
    check_keys = graph.asset_check_keys
    scores_checks = {
        k.name for k in check_keys if k.asset_key == dg.AssetKey(["marts", "fct_health_scores"])
    }
    assert any("unique_combination_of_columns" in name for name in scores_checks)


def test_job_schedule_and_sensor_are_defined() -> None:
    schedule = defs.resolve_schedule_def("daily_health_schedule")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.job_name == "daily_health_job"
    assert defs.resolve_sensor_def("new_exports_sensor").job_name == "daily_health_job"


def test_the_schedule_and_the_sensor_leave_the_dates_to_the_runs_plan(tmp_path) -> None:
    schedule = defs.resolve_schedule_def("daily_health_schedule")
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    assert run_date_range(request.tags) is None
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "b.csv").write_text("x\n")
    sensor = defs.resolve_sensor_def("new_exports_sensor")
    with dg.build_sensor_context(
        resources={"settings": HealthmartSettings(exports_dir=str(tmp_path))}
    ) as sensor_context:
        result = sensor(sensor_context)
    (request,) = result.run_requests
    assert run_date_range(request.tags) is None and request.run_key == result.cursor


def test_expectation_suites_are_blocking_checks_of_the_ingest_and_mart_assets() -> None:
    graph = defs.resolve_asset_graph()
    suites = {
        (key.asset_key.to_user_string(), key.name)
        for key in graph.asset_check_keys
        if key.name.startswith("gx_")
    }
    assert suites == {(f"raw/{s}", f"gx_raw_{s}") for s in SOURCES} | {
        (f"marts/{m}", f"gx_{m}")
        for m in (
            "dim_accounts",
            "fct_signal_scores_wide",
            "fct_health_scores",
            "fct_health_current",
        )
    }
    from healthmart.defs.quality.checks import quality_checks

    for checks in quality_checks:
        (spec,) = checks.check_specs
        assert spec.blocking, spec.key
    # the usage check waits for the accounts it checks account ids against
    (usage,) = [c for c in quality_checks if c.check_key.name == "gx_raw_usage"]
    assert dg.AssetKey(["raw", "accounts"]) in usage.keys_by_input_name.values()
    # the daily job runs them
    job_checks = defs.resolve_job_def("daily_health_job").asset_layer.asset_graph.asset_check_keys
    assert {k.name for k in job_checks} >= {name for _, name in suites}


def test_the_code_location_loads_on_a_fresh_clone_without_a_manifest(tmp_path: Path) -> None:
    # `dagster dev`, the daemon and `dagster definitions validate` load the code location;
    # without a manifest (a fresh clone) it is built as the definitions load.
    target = tmp_path / "target"
    (tmp_path / "home").mkdir()
    env = {**os.environ, "DBT_TARGET_PATH": str(target), "DAGSTER_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [
            Path(sys.executable).parent / "dagster",
            "definitions",
            "validate",
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (target / "manifest.json").exists()


def test_the_job_on_an_empty_landing_folder_stops_before_dbt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what the schedule or the sensor would start on an empty landing folder
    (tmp_path / "exports").mkdir()
    for key, name in (
        ("HEALTHMART_EXPORTS_DIR", "exports"),
        ("HEALTHMART_WAREHOUSE_PATH", "warehouse.duckdb"),
        ("HEALTHMART_SERVING_PATH", "serving.duckdb"),
        ("HEALTHMART_REPORT_PATH", "report.html"),
    ):
        monkeypatch.setenv(key, str(tmp_path / name))
    result = defs.resolve_job_def("daily_health_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "scoring__plan"
    assert "No rows were loaded from the exports: nothing to score." in str(
        failure.event_specific_data.error.message
    )
    assert not (tmp_path / "serving.duckdb").exists()
    assert not (tmp_path / "exports").joinpath("accounts").exists()  # no sample data made


def test_a_run_parses_the_dbt_project_only_when_something_it_reads_changed() -> None:
    """`healthmart run` skips `dbt parse` when the manifest was parsed from the same files,
    dbt and settings; a changed model, seed or setting makes it parse again."""
    from dataclasses import replace

    from healthmart.core.settings import DBT_PROJECT_DIR, Settings
    from healthmart.defs.dbt.project import dbt_project, manifest_is_current, parse_dbt

    settings = Settings.from_env()
    manifest = Path(dbt_project.manifest_path)
    parse_dbt(settings)
    parsed_at = manifest.stat().st_mtime_ns
    assert manifest_is_current(settings)
    assert not manifest_is_current(replace(settings, preset="vital_signs"))
    for path in (
        DBT_PROJECT_DIR / "models" / "marts" / "fct_health_scores.sql",
        PROJECT_ROOT / "seeds" / "tier_bands.csv",
    ):
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        try:
            assert not manifest_is_current(settings), path
        finally:
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert manifest_is_current(settings)
    # dbt's own output does not count: a build writing target/ and logs/ changes nothing
    (DBT_PROJECT_DIR / "logs").mkdir(exist_ok=True)
    (DBT_PROJECT_DIR / "logs" / "extra.log").write_text("x")
    try:
        assert manifest_is_current(settings)
    finally:
        (DBT_PROJECT_DIR / "logs" / "extra.log").unlink()
    assert manifest.stat().st_mtime_ns == parsed_at


def test_the_dbt_resource_starts_no_dbt_before_each_command(monkeypatch) -> None:
    """dagster-dbt's resource runs `dbt --version` and builds an in-process dbt adapter
    before every dbt command; the project's resource reads the installed dbt-core's version
    and builds no adapter (no asset asks for column metadata or row counts)."""
    from functools import cached_property
    from importlib.metadata import version

    import dagster_dbt.core.resource as dagster_dbt_resource
    from dagster_dbt import DbtCliResource
    from packaging.version import Version

    from healthmart.defs.dbt.resource import DbtCli

    # the names overridden are still dagster-dbt's (a rename would silently undo the saving)
    assert isinstance(DbtCliResource.__dict__["_cli_version"], cached_property)
    assert callable(DbtCliResource.__dict__["_initialize_dbt_core_adapter"])
    resource = defs.resources["dbt"]
    assert isinstance(resource, DbtCli)
    started: list = []
    monkeypatch.setattr(dagster_dbt_resource, "check_output", lambda *a, **k: started.append(a))
    assert resource._cli_version == Version(version("dbt-core"))
    assert resource._initialize_dbt_core_adapter(["build"]) is None
    assert started == []
