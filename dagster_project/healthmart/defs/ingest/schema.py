"""The ingest's tables: ingest_meta (load log, files, quarantine) and raw.<source>."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from healthmart.core.contract import Source
from healthmart.defs.ingest.results import LINEAGE_COLUMNS
from healthmart.defs.ingest.sql import qi


def ensure_meta_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("CREATE SCHEMA IF NOT EXISTS ingest_meta")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS ingest_meta.load_log (
            load_id VARCHAR, source VARCHAR, file VARCHAR, file_hash VARCHAR, file_size BIGINT,
            status VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT,
            error VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, encoding VARCHAR
        )"""
    )
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS ingest_meta.quarantine (
            source VARCHAR, file VARCHAR, row_number BIGINT, rule VARCHAR, detail VARCHAR,
            record VARCHAR, quarantined_at TIMESTAMP, load_id VARCHAR
        )"""
    )
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS ingest_meta.files (
            source VARCHAR, file VARCHAR, file_hash VARCHAR, loaded_at TIMESTAMP,
            rows_loaded BIGINT, rows_quarantined BIGINT, file_size BIGINT,
            file_modified_at TIMESTAMP, encoding VARCHAR, load_id VARCHAR
        )"""
    )
    # Added later: kept compatible with warehouses created before.
    for table, column, dtype in _ADDED_META_COLUMNS:
        con.execute(f"ALTER TABLE ingest_meta.{table} ADD COLUMN IF NOT EXISTS {column} {dtype}")


# config_hash: SourceConfig.fingerprint() the file was read with. added_from / added_to: dates
# (of the source's time column) of the rows a file added or changed; removed_from / removed_to:
# of the rows it replaced or removed. The run range of `healthmart run` is chosen from them.
# preset: the format preset a file was read through; rows_skipped: rows the preset says are not
# data (extra header rows, TOTAL lines, drafts, identify calls); rows_written: rows written to
# raw when a preset aggregates events to usage rows (rows_loaded counts the events).
_ADDED_META_COLUMNS = (
    ("files", "config_hash", "VARCHAR"),
    ("load_log", "config_hash", "VARCHAR"),
    ("load_log", "added_from", "DATE"),
    ("load_log", "added_to", "DATE"),
    ("load_log", "removed_from", "DATE"),
    ("load_log", "removed_to", "DATE"),
    ("load_log", "preset", "VARCHAR"),
    ("load_log", "rows_skipped", "BIGINT"),
    ("load_log", "rows_written", "BIGINT"),
    ("files", "preset", "VARCHAR"),
    # The rows a load quarantined per rule, as a JSON object ({"unknown_account": 2, ...}).
    ("load_log", "quarantined_by_rule", "VARCHAR"),
    # What a row quarantined for an account rule named its account by (to retry it).
    ("quarantine", "account_ref", "VARCHAR"),
)


def _table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return {name.lower(): dtype for name, dtype in rows}


def ensure_raw_table(
    con: duckdb.DuckDBPyConnection, source: Source, extra_columns: Iterable[str] = ()
) -> None:
    """Create raw.<source> (contract columns + lineage) and add any missing (extra) columns."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    cols = [f"{qi(c.name)} {c.type}" for c in source.columns]
    cols += [f"{qi(n)} {t}" for n, t in LINEAGE_COLUMNS]
    con.execute(f"CREATE TABLE IF NOT EXISTS raw.{qi(source.name)} ({', '.join(cols)})")
    existing = _table_columns(con, "raw", source.name)
    wanted = [(c.name, c.type) for c in source.columns] + list(LINEAGE_COLUMNS)
    wanted += [(n, "VARCHAR") for n in extra_columns]
    for name, dtype in wanted:
        if name.lower() not in existing:
            con.execute(f"ALTER TABLE raw.{qi(source.name)} ADD COLUMN {qi(name)} {dtype}")
            existing[name.lower()] = dtype
