"""Dagster resources: the settings of a run and connections to the working warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
import duckdb

from healthmart.core.runlock import lock_timeout, run_lock
from healthmart.core.settings import Settings


class HealthmartSettings(dg.ConfigurableResource):
    """Paths and options of a run. Empty fields fall back to the HEALTHMART_* environment
    variables, then to the defaults (see healthmart.core.settings), when the run starts."""

    exports_dir: str = ""
    serving_path: str = ""
    warehouse_path: str = ""
    preset: str = ""

    def resolve(self) -> Settings:
        return Settings.from_env(
            exports_dir=self.exports_dir,
            serving_path=self.serving_path,
            warehouse_path=self.warehouse_path,
            preset=self.preset,
        )


class RunLock(dg.ConfigurableResource):
    """One run at a time per warehouse, whatever starts it: the run lock
    (`<warehouse>.lock`, healthmart.core.runlock), taken when the run starts and held to its end.
    A run that finds it held waits HEALTHMART_RUN_LOCK_TIMEOUT seconds, then fails naming
    the process that holds it, before touching the warehouse."""

    settings: HealthmartSettings

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Any]:
        with run_lock(self.settings.resolve().warehouse_path, lock_timeout()):
            yield self


@contextmanager
def warehouse_connection(
    settings: Settings, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the working warehouse, closed (and the file lock released) on exit.

    DuckDB allows one writing process: callers open read-write only while they write, and
    the job runs its steps one after another so ingest and dbt never hold the lock together.
    """
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        str(settings.warehouse_path),
        read_only=read_only,
        config={"memory_limit": settings.duckdb_memory_limit, "preserve_insertion_order": False},
    )
    try:
        yield con
    finally:
        con.close()
