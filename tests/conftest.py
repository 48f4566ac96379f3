"""Shared test set-up: the dbt manifest the Dagster definitions load is built once, and so
is the end-to-end run of the real job that several test modules read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from healthmart.cli.run import run
from healthmart.core.settings import DBT_PROJECT_DIR, Settings
from healthmart.defs.dbt.project import parse_dbt


def pytest_sessionstart(session: pytest.Session) -> None:
    # `dbt parse` writes dbt_models/target/manifest.json; it is never committed.
    if not (DBT_PROJECT_DIR / "target" / "manifest.json").exists():
        parse_dbt(Settings.from_env())


@pytest.fixture
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose every path lives under tmp_path, also exported to the environment
    (the dbt subprocess and the Dagster resources read it there)."""
    settings = Settings(
        exports_dir=tmp_path / "exports",
        serving_path=tmp_path / "serving" / "healthmart.duckdb",
        warehouse_path=tmp_path / "warehouse.duckdb",
        preset="hbr",
    )
    for key, value in {
        **settings.dbt_env(),
        "HEALTHMART_EXPORTS_DIR": str(settings.exports_dir),
        "HEALTHMART_SERVING_PATH": str(settings.serving_path),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }.items():
        monkeypatch.setenv(key, value)
    return settings


@pytest.fixture(scope="session")
def e2e_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real daily job (`healthmart run`), run once per session on the hand-made exports of
    tests/test_end_to_end.py; its serving file and health report are shared by the tests that
    read them. The report goes to `<root>/health_report.html`."""
    from test_end_to_end import write_exports

    return run_job_once(tmp_path_factory.mktemp("e2e"), write_exports)


def run_job_once(root: Path, write_exports: Callable[[Path], None]) -> Settings:
    """Write hand-made exports under root/exports and run the real daily job on them once
    (every path under root; the report goes to `<root>/health_report.html`)."""
    settings = Settings(
        exports_dir=root / "exports",
        serving_path=root / "serving.duckdb",
        warehouse_path=root / "warehouse.duckdb",
        preset="hbr",
    )
    write_exports(settings.exports_dir)
    mp = pytest.MonkeyPatch()
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    mp.setenv("HEALTHMART_REPORT_PATH", str(root / "health_report.html"))
    try:
        assert run(settings, accounts=0, months=0, seed=0) == 0
    finally:
        mp.undo()
    return settings
