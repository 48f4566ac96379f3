"""Where validation results go, and which export files have been validated.

* ``quality.validation_results`` – one row per expectation per validation: run id, suite,
  asset, expectation, column, severity, success, element and unexpected counts, examples of
  unexpected values (JSON), when. Published in the serving file (schema ``quality``).
* ``quality.validated_files`` – the export files (path + content hash) a suite has passed
  without a blocking failure. An export suite validates the rows of the files not in it yet:
  a daily run validates the day's new files, a file that failed is validated again on the next
  run (and blocks again) until it is corrected, and a changed suite validates everything again.

:func:`validate_and_record` is the whole check: read-only validation, then a short write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from healthmart.core.settings import DEFAULT_MEMORY_LIMIT
from healthmart.defs.quality.suites import NEW_FILES, SCORING_DATES, Suite
from healthmart.defs.quality.validate import DEFAULT_CHUNK_ROWS, SuiteResult, validate_suite

SCHEMA = "quality"
RESULTS_TABLE = f"{SCHEMA}.validation_results"
VALIDATED_FILES_TABLE = f"{SCHEMA}.validated_files"

_RESULT_COLUMNS = (
    ("run_id", "VARCHAR"),
    ("suite", "VARCHAR"),
    ("asset", "VARCHAR"),
    ("table_name", "VARCHAR"),
    ("scope", "VARCHAR"),
    ("expectation_index", "INTEGER"),
    ("expectation", "VARCHAR"),
    ("description", "VARCHAR"),
    ("column_name", "VARCHAR"),
    ("kwargs", "VARCHAR"),
    ("frame", "VARCHAR"),
    ("severity", "VARCHAR"),
    ("blocking", "BOOLEAN"),
    ("success", "BOOLEAN"),
    ("element_count", "BIGINT"),
    ("unexpected_count", "BIGINT"),
    ("observed_value", "VARCHAR"),
    ("unexpected_examples", "VARCHAR"),
    ("error", "VARCHAR"),
    ("rows_validated", "BIGINT"),
    ("validated_at", "TIMESTAMP"),
)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    columns = ", ".join(f"{name} {kind}" for name, kind in _RESULT_COLUMNS)
    con.execute(f"create table if not exists {RESULTS_TABLE} ({columns})")
    con.execute(
        f"""create table if not exists {VALIDATED_FILES_TABLE} (
            suite VARCHAR, source VARCHAR, file VARCHAR, file_hash VARCHAR,
            suite_fingerprint VARCHAR, run_id VARCHAR, validated_at TIMESTAMP
        )"""
    )
    for table, comment in (
        (RESULTS_TABLE, "One row per expectation per validation of a Great Expectations suite."),
        (VALIDATED_FILES_TABLE, "Export files each suite has passed without a blocking failure."),
    ):
        con.execute(f"comment on table {table} is '{comment}'")


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    (found,) = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()[0]
    return bool(found)


def pending_files(con: duckdb.DuckDBPyConnection, suite: Suite) -> list[tuple[str, str]]:
    """The loaded files of the suite's source that it has not passed yet (file, hash)."""
    source = suite.meta["source"]
    if not _table_exists(con, "ingest_meta", "files"):
        return []
    done = ""
    if _table_exists(con, SCHEMA, "validated_files"):
        done = (
            f"and not exists (select 1 from {VALIDATED_FILES_TABLE} v where v.suite = $suite "
            "and v.file = f.file and v.file_hash = f.file_hash "
            "and v.suite_fingerprint = $fingerprint)"
        )
    rows = con.execute(
        f"select file, file_hash from ingest_meta.files f where source = $source {done} "
        "order by file",
        {"source": source, "suite": suite.name, "fingerprint": suite.fingerprint}
        if done
        else {"source": source},
    ).fetchall()
    return [(file, file_hash) for file, file_hash in rows]


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Scope:
    where: str | None
    label: str
    files: tuple[tuple[str, str], ...] = ()


def suite_scope(
    con: duckdb.DuckDBPyConnection, suite: Suite, date_range: tuple[date, date] | None
) -> Scope:
    """Which rows a run validates: new export files, the run's scoring dates, or all."""
    scope = suite.meta.get("scope")
    if scope == NEW_FILES:
        files = tuple(pending_files(con, suite))
        if not files:
            return Scope("false", "no new files", files)
        names = ", ".join(_literal(f) for f, _ in files)
        label = f"{len(files)} new file(s): " + ", ".join(f for f, _ in files[:5])
        if len(files) > 5:
            label += ", ..."
        return Scope(f"_source_file in ({names})", label, files)
    if scope == SCORING_DATES and date_range is not None:
        column = suite.meta.get("date_column") or "score_date"
        start, end = date_range
        return Scope(
            f"{column} between date '{start.isoformat()}' and date '{end.isoformat()}'",
            f"{column} {start.isoformat()} .. {end.isoformat()}",
        )
    return Scope(None, "all rows")


def record(
    con: duckdb.DuckDBPyConnection,
    result: SuiteResult,
    *,
    suite: Suite,
    run_id: str,
    files: tuple[tuple[str, str], ...] = (),
    validated_at: datetime | None = None,
) -> None:
    """Write the outcomes to quality.validation_results; remember the files that passed."""
    ensure_tables(con)
    validated_at = validated_at or datetime.now(UTC).replace(tzinfo=None)
    asset = "/".join(suite.asset_key)
    rows = [
        (
            run_id,
            result.suite,
            asset,
            result.table,
            result.scope,
            o.index,
            o.expectation_type,
            o.description,
            o.column,
            json.dumps(o.kwargs, default=str),
            o.frame,
            o.severity,
            o.blocking,
            o.success,
            o.element_count,
            o.unexpected_count,
            None if o.observed_value is None else json.dumps(o.observed_value, default=str),
            json.dumps(list(o.examples), default=str),
            o.error,
            result.rows_validated,
            validated_at,
        )
        for o in result.outcomes
    ]
    placeholders = ", ".join("?" for _ in _RESULT_COLUMNS)
    con.execute("begin transaction")
    try:
        con.executemany(f"insert into {RESULTS_TABLE} values ({placeholders})", rows)
        if files and not result.blocking_failures:
            con.executemany(
                f"insert into {VALIDATED_FILES_TABLE} values (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        suite.name,
                        suite.meta.get("source"),
                        file,
                        file_hash,
                        suite.fingerprint,
                        run_id,
                        validated_at,
                    )
                    for file, file_hash in files
                ],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def validate_and_record(
    warehouse_path: Path,
    suite: Suite,
    parameters: dict[str, Any],
    *,
    run_id: str,
    date_range: tuple[date, date] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> SuiteResult:
    """Validate the suite on a read-only connection, then record the results (read-write)."""
    config = {"memory_limit": memory_limit, "preserve_insertion_order": False}
    con = duckdb.connect(str(warehouse_path), read_only=True, config=config)
    try:
        scope = suite_scope(con, suite, date_range)
        result = validate_suite(
            con, suite, parameters, where=scope.where, scope=scope.label, chunk_rows=chunk_rows
        )
    finally:
        con.close()
    con = duckdb.connect(str(warehouse_path), config=config)
    try:
        record(con, result, suite=suite, run_id=run_id, files=scope.files)
    finally:
        con.close()
    return result
