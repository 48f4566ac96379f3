"""Publish the serving file: a copy of the marts that BI tools and analysts open read-only.

The copy is written to a temporary file beside the serving path and moved over it in one
atomic rename. A reader that has the old file open keeps reading the old, complete data; a
new connection sees the new file. The run never writes the file a reader holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

# Schemas of the warehouse copied to the serving file.
PUBLISHED_SCHEMAS = ("marts", "config", "ingest_meta")
# Storage format readable by DuckDB clients from 1.1 on (DuckDB 2.0 writes a newer one).
SERVING_STORAGE_VERSION = "v1.1.0"


@dataclass(frozen=True)
class PublishResult:
    serving_path: Path
    tables: dict[str, int]  # schema.table -> rows


def publish_serving_file(warehouse_path: Path, serving_path: Path) -> PublishResult:
    """Copy the published schemas of the warehouse to serving_path, atomically."""
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = serving_path.with_name(f".{serving_path.name}.{os.getpid()}.tmp")
    for leftover in (tmp_path, tmp_path.with_name(tmp_path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    tables: dict[str, int] = {}
    con = duckdb.connect()
    try:
        con.execute(f"attach '{_sql_path(warehouse_path)}' as warehouse (read_only)")
        con.execute(
            f"attach '{_sql_path(tmp_path)}' as serving "
            f"(storage_version '{SERVING_STORAGE_VERSION}')"
        )
        rows = con.execute(
            """
            select table_schema, table_name, table_type
            from information_schema.tables
            where table_catalog = 'warehouse' and list_contains(?, table_schema)
            order by table_schema, table_type, table_name
            """,
            [list(PUBLISHED_SCHEMAS)],
        ).fetchall()
        for schema, table, _table_type in rows:
            con.execute(f'create schema if not exists serving."{schema}"')
            con.execute(
                f'create table serving."{schema}"."{table}" as '
                f'select * from warehouse."{schema}"."{table}"'
            )
            (count,) = con.execute(f'select count(*) from serving."{schema}"."{table}"').fetchone()
            tables[f"{schema}.{table}"] = count
        con.execute("checkpoint serving")
        con.execute("detach serving")
    finally:
        con.close()
    os.replace(tmp_path, serving_path)
    return PublishResult(serving_path=serving_path, tables=tables)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
