"""Shared test set-up: the dbt manifest the Dagster definitions load is built once."""

from __future__ import annotations

from pathlib import Path

import pytest
from healthmart.cli import parse_dbt
from healthmart.settings import DBT_PROJECT_DIR, Settings


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
