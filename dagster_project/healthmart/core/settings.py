"""One settings object for paths and options, resolved when a run starts (never at import).

Every setting has an environment variable and a default; an explicit value wins over both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_models"

ENV_EXPORTS_DIR = "HEALTHMART_EXPORTS_DIR"
ENV_SERVING_PATH = "HEALTHMART_SERVING_PATH"
ENV_WAREHOUSE_PATH = "HEALTHMART_WAREHOUSE_PATH"
ENV_PRESET = "HEALTHMART_PRESET"
ENV_DBT_THREADS = "HEALTHMART_DBT_THREADS"
ENV_MEMORY_LIMIT = "HEALTHMART_DUCKDB_MEMORY_LIMIT"
ENV_EXPECTATIONS_DIR = "HEALTHMART_EXPECTATIONS_DIR"
ENV_QUALITY_CHUNK_ROWS = "HEALTHMART_QUALITY_CHUNK_ROWS"
ENV_INGEST_CONFIG = "HEALTHMART_INGEST_CONFIG"
ENV_PRESETS_DIR = "HEALTHMART_PRESETS_DIR"
ENV_BUILD_ACCOUNT_DAYS = "HEALTHMART_BUILD_ACCOUNT_DAYS"
ENV_FUTURE_TOLERANCE_DAYS = "HEALTHMART_FUTURE_TOLERANCE_DAYS"
# Read when it exists and HEALTHMART_INGEST_CONFIG is not set (column mapping, encodings).
DEFAULT_INGEST_CONFIG = PROJECT_ROOT / "config" / "ingest.yml"


# DuckDB's memory limit wherever the project opens the warehouse (HEALTHMART_DUCKDB_MEMORY_LIMIT).
DEFAULT_MEMORY_LIMIT = "3GB"


@dataclass(frozen=True)
class Settings:
    """Where the exports are, where the warehouse and the serving file live, how to score."""

    exports_dir: Path
    serving_path: Path
    warehouse_path: Path
    preset: str = "hbr"
    dbt_threads: int = 1
    duckdb_memory_limit: str = DEFAULT_MEMORY_LIMIT
    # Data quality: the folder of the expectation suites, rows per validated chunk.
    expectations_dir: Path = PROJECT_ROOT / "expectations"
    quality_chunk_rows: int = 500_000
    # A long scoring range is built in consecutive parts of about this many account-days
    # (accounts x days), each one `dbt build`, so memory does not grow with the range.
    build_account_days: int = 3_000_000
    # The ingest config file (column mapping, encoding, delimiter per source). None: use
    # config/ingest.yml when it exists; a file set explicitly must exist.
    ingest_config: Path | None = None
    # The user's format presets (YAML, like the built-in ones); one of a built-in's name wins.
    presets_dir: Path = PROJECT_ROOT / "config" / "presets"
    # A row dated (something that happened) after the day it is loaded plus this many days
    # is quarantined at ingest as date_in_future (time zones put "today" a day apart).
    future_tolerance_days: int = 1

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: str | None
    ) -> Settings:
        """Resolve each setting: explicit override, else environment variable, else default.

        Relative paths are taken from the project root, so commands work from any folder.
        """
        env = os.environ if environ is None else environ

        def pick(name: str, env_name: str, default: str) -> str:
            value = overrides.get(name)
            if value not in (None, ""):
                return str(value)
            return env.get(env_name) or default

        def path(name: str, env_name: str, default: str) -> Path:
            p = Path(pick(name, env_name, default)).expanduser()
            return p if p.is_absolute() else (PROJECT_ROOT / p)

        ingest_config = pick("ingest_config", ENV_INGEST_CONFIG, "")
        preset = pick("preset", ENV_PRESET, "hbr")
        threads = pick("dbt_threads", ENV_DBT_THREADS, "1")
        if not threads.isdigit() or int(threads) < 1:
            raise ValueError(f"{ENV_DBT_THREADS} must be a positive integer, got {threads!r}")
        chunk_rows = pick("quality_chunk_rows", ENV_QUALITY_CHUNK_ROWS, "500000")
        if not chunk_rows.isdigit() or int(chunk_rows) < 1:
            raise ValueError(
                f"{ENV_QUALITY_CHUNK_ROWS} must be a positive integer, got {chunk_rows!r}"
            )
        account_days = pick("build_account_days", ENV_BUILD_ACCOUNT_DAYS, "3000000")
        if not account_days.isdigit() or int(account_days) < 1:
            raise ValueError(
                f"{ENV_BUILD_ACCOUNT_DAYS} must be a positive integer, got {account_days!r}"
            )
        tolerance = pick("future_tolerance_days", ENV_FUTURE_TOLERANCE_DAYS, "1")
        if not tolerance.isdigit():
            raise ValueError(
                f"{ENV_FUTURE_TOLERANCE_DAYS} must be a whole number of days, got {tolerance!r}"
            )
        return cls(
            exports_dir=path("exports_dir", ENV_EXPORTS_DIR, "data/exports"),
            serving_path=path("serving_path", ENV_SERVING_PATH, "data/healthmart.duckdb"),
            warehouse_path=path("warehouse_path", ENV_WAREHOUSE_PATH, "data/warehouse.duckdb"),
            preset=preset,
            dbt_threads=int(threads),
            duckdb_memory_limit=pick("duckdb_memory_limit", ENV_MEMORY_LIMIT, DEFAULT_MEMORY_LIMIT),
            expectations_dir=path("expectations_dir", ENV_EXPECTATIONS_DIR, "expectations"),
            quality_chunk_rows=int(chunk_rows),
            build_account_days=int(account_days),
            ingest_config=(
                path("ingest_config", ENV_INGEST_CONFIG, ingest_config) if ingest_config else None
            ),
            presets_dir=path("presets_dir", ENV_PRESETS_DIR, "config/presets"),
            future_tolerance_days=int(tolerance),
        )

    def ingest_config_location(self) -> tuple[Path, bool]:
        """The ingest config file and whether it must exist (it must when set explicitly)."""
        if self.ingest_config is not None:
            return self.ingest_config, True
        return DEFAULT_INGEST_CONFIG, False

    def dbt_env(self) -> dict[str, str]:
        """Environment variables the dbt profile and project read (dbt_models/profiles.yml)."""
        return {
            ENV_WAREHOUSE_PATH: str(self.warehouse_path),
            ENV_PRESET: self.preset,
            ENV_DBT_THREADS: str(self.dbt_threads),
            ENV_MEMORY_LIMIT: self.duckdb_memory_limit,
        }
