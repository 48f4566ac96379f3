"""The dbt CLI resource of the project: dagster-dbt's, minus two costs per `dbt build`.

Before each dbt command, dagster-dbt's `DbtCliResource` runs `dbt --version` in a subprocess
(to tell dbt Core from the Fusion engine) and builds a dbt adapter inside the Dagster
process (to fetch column metadata and row counts from the warehouse when an asset asks for
them). Each costs a start-up of dbt, about 4-5 s on a 2-core machine. This project runs the
dbt Core installed beside its Python and asks for neither, so the version is read from the
installed package and no adapter is built. Everything else - the command, its events, the
asset checks - is dagster-dbt's own.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from dagster_dbt import DbtCliResource
from packaging.version import Version


class DbtCli(DbtCliResource):
    """`DbtCliResource` without `dbt --version` and the in-process adapter per command."""

    @property
    def _cli_version(self) -> Version:
        return Version(version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Any) -> Any:
        # dagster-dbt passes the adapter on to the invocation only for
        # fetch_column_metadata / fetch_row_counts, which no asset here calls
        return None
