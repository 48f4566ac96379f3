"""Publish the serving file: a copy of the marts that BI tools and analysts open read-only.

The copy is written to a temporary file beside the serving path, checked, and moved over the
serving path in one atomic rename (`os.replace`). A reader that has the old file open keeps
reading the old, complete data (it holds the old file, which the rename does not touch); a
new connection sees the new file. The run never writes the file a reader holds. If anything
fails before the rename, the temporary file is removed and the old serving file stays as it
was; a temporary file left by a process that died (killed, power cut) is removed by the next
publication.

What is published: the tables of PUBLISHED_SCHEMAS, copied as tables, and the views of
VIEW_SCHEMAS (the long-shaped marts over wide tables, the analyst views), re-created as views
from their SQL in the warehouse, after the tables they read. Their SQL names tables by schema
and table only (DuckDB stores a view's references to its own database without the database
name), so they resolve against the tables published beside them. The descriptions dbt writes
as comments (persist_docs) are copied too.

The file is written in DuckDB storage format SERVING_STORAGE_VERSION, which DuckDB clients
from 1.1 on can read.

A daily run rewrote a few scoring dates of the per-date marts and nothing else of them, so the
publication after it need not copy their history again (`changed`): the temporary file starts
as a byte copy of the current serving file, the per-date tables get the changed dates replaced
(delete + insert), every other relation is replaced whole. A per-date table whose columns
differ from the warehouse's, or whose row count differs afterwards (a rebuild that dropped
dates outside the range), is copied whole instead, so the result is the same file a full copy
gives, row for row.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from healthmart.core.settings import DEFAULT_MEMORY_LIMIT

# Schemas of the warehouse copied to the serving file (quality: the validation results of the
# expectation suites, quality.validation_results).
PUBLISHED_SCHEMAS = ("marts", "config", "ingest_meta", "analyst", "quality")
# Schemas whose views are published as views (they read only published relations: the
# long-shaped marts fct_signal_scores and fct_health_drivers are views over a wide table,
# the analyst views read the marts). A view in another published schema is copied as a table.
VIEW_SCHEMAS = ("marts", "analyst")
# Storage format readable by DuckDB clients from 1.1 on (DuckDB 2.0 writes a newer one).
SERVING_STORAGE_VERSION = "v1.1.0"

_WAREHOUSE = "healthmart_warehouse"  # catalog aliases inside the publishing connection
_SERVING = "healthmart_serving"
_TEMP_SUFFIX = ".tmp"


@dataclass(frozen=True)
class ChangedDates:
    """The scoring dates a run rewrote in the per-date tables (schema.table, keyed by
    score_date); the rest of those tables is as published last time."""

    first: date
    last: date
    tables: frozenset[str]


@dataclass(frozen=True)
class PublishResult:
    serving_path: Path
    tables: dict[str, int]  # schema.table -> rows
    views: tuple[str, ...] = ()  # schema.view
    # per-date tables updated in place (only the changed dates written); the others copied
    updated_in_place: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Relation:
    schema: str
    name: str
    comment: str | None
    view_sql: str | None  # the CREATE VIEW statement of a view published as a view

    @property
    def qualified(self) -> str:
        return f"{_quote(self.schema)}.{_quote(self.name)}"


def publish_serving_file(
    warehouse_path: Path,
    serving_path: Path,
    changed: ChangedDates | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> PublishResult:
    """Copy the published schemas of the warehouse to serving_path, atomically.

    changed: the dates a run rewrote in the per-date tables; the publication then starts from
    the current serving file and writes only those dates of them (see the module docstring).
    """
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(serving_path)
    tmp_path = temp_path(serving_path, os.getpid())
    _remove_database_files(tmp_path)
    in_place: tuple[str, ...] = ()
    try:
        if changed is not None and _usable_base(serving_path):
            shutil.copyfile(serving_path, tmp_path)
            tables, views, in_place = _update_serving_copy(
                warehouse_path, tmp_path, changed, memory_limit
            )
        else:
            tables, views = _write_serving_copy(warehouse_path, tmp_path, memory_limit)
        _check_serving_copy(tmp_path, tables, views)
        _fsync(tmp_path)
        # A WAL beside the serving path belongs to the old file (someone opened it read-write);
        # it must not be replayed onto the new one.
        _wal_path(serving_path).unlink(missing_ok=True)
        os.replace(tmp_path, serving_path)
    except BaseException:
        _remove_database_files(tmp_path)
        raise
    _fsync(serving_path.parent)
    return PublishResult(
        serving_path=serving_path, tables=tables, views=views, updated_in_place=in_place
    )


def _usable_base(serving_path: Path) -> bool:
    """The current serving file can start the next one: it exists, has no WAL (nobody wrote
    to it after its publication) and opens."""
    if not serving_path.exists() or _wal_path(serving_path).exists():
        return False
    try:
        duckdb.connect(str(serving_path), read_only=True).close()
    except duckdb.Error:
        return False
    return True


def temp_path(serving_path: Path, pid: int) -> Path:
    """The temporary file a process writes the next serving file to (hidden, beside it)."""
    return serving_path.with_name(f".{serving_path.name}.{pid}{_TEMP_SUFFIX}")


def remove_stale_temp_files(serving_path: Path) -> list[Path]:
    """Remove the temporary files (and their WALs) of publications whose process is gone."""
    removed = []
    prefix = f".{serving_path.name}."
    for path in serving_path.parent.glob(f"{prefix}*{_TEMP_SUFFIX}*"):
        pid_text, _, rest = path.name[len(prefix) :].partition(".")
        if not pid_text.isdigit() or rest not in ("tmp", "tmp.wal"):
            continue
        if _process_alive(int(pid_text)):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _write_serving_copy(
    warehouse_path: Path, tmp_path: Path, memory_limit: str
) -> tuple[dict[str, int], tuple[str, ...]]:
    tables: dict[str, int] = {}
    views: list[str] = []
    con = duckdb.connect(config={"memory_limit": memory_limit})
    try:
        con.execute(f"attach '{_sql_text(warehouse_path)}' as {_WAREHOUSE} (read_only)")
        con.execute(
            f"attach '{_sql_text(tmp_path)}' as {_SERVING} "
            f"(storage_version '{SERVING_STORAGE_VERSION}')"
        )
        relations = _published_relations(con)
        for schema in sorted({r.schema for r in relations}):
            con.execute(f"create schema {_SERVING}.{_quote(schema)}")
        # tables first (and views of other schemas, materialised), then the views reading them
        for relation in (r for r in relations if r.view_sql is None):
            tables[f"{relation.schema}.{relation.name}"] = _copy_table(con, relation)
        views = _finish(con, relations)
    finally:
        con.close()
    return tables, views


def _copy_table(con: duckdb.DuckDBPyConnection, relation: _Relation) -> int:
    """Copy a warehouse table to the serving file (replacing it); returns its rows."""
    target = f"{_SERVING}.{relation.qualified}"
    con.execute(f"drop table if exists {target}")
    con.execute(f"create table {target} as select * from {_WAREHOUSE}.{relation.qualified}")
    (count,) = con.execute(f"select count(*) from {target}").fetchone()
    return count


def _finish(con: duckdb.DuckDBPyConnection, relations: list[_Relation]) -> tuple[str, ...]:
    """Views and comments after the tables, then the file written out and detached."""
    views = _create_views(con, [r for r in relations if r.view_sql is not None])
    _copy_comments(con, relations)
    con.execute(f"checkpoint {_SERVING}")
    con.execute(f"detach {_SERVING}")
    return views


def _update_serving_copy(
    warehouse_path: Path, tmp_path: Path, changed: ChangedDates, memory_limit: str
) -> tuple[dict[str, int], tuple[str, ...], tuple[str, ...]]:
    """Turn tmp_path (a copy of the current serving file) into the new one: the changed dates
    of the per-date tables replaced, every other relation re-created from the warehouse."""
    tables: dict[str, int] = {}
    in_place: list[str] = []
    con = duckdb.connect(config={"memory_limit": memory_limit})
    try:
        con.execute(f"attach '{_sql_text(warehouse_path)}' as {_WAREHOUSE} (read_only)")
        con.execute(f"attach '{_sql_text(tmp_path)}' as {_SERVING}")
        relations = _published_relations(con)
        wanted = {(r.schema, r.name) for r in relations}
        # everything in the old file that is not a per-date table to update goes
        for schema, name, kind in _published_relations_of(con, _SERVING):
            key = f"{schema}.{name}"
            if (schema, name) in wanted and key in changed.tables and kind == "table":
                continue
            con.execute(f"drop {kind} if exists {_SERVING}.{_quote(schema)}.{_quote(name)}")
        for schema in sorted({r.schema for r in relations}):
            con.execute(f"create schema if not exists {_SERVING}.{_quote(schema)}")
        for relation in (r for r in relations if r.view_sql is None):
            key = f"{relation.schema}.{relation.name}"
            source = f"{_WAREHOUSE}.{relation.qualified}"
            target = f"{_SERVING}.{relation.qualified}"
            (expected,) = con.execute(f"select count(*) from {source}").fetchone()
            if key in changed.tables and _same_columns(con, relation):
                con.execute("begin transaction")
                con.execute(
                    f"delete from {target} where score_date between ? and ?",
                    [changed.first, changed.last],
                )
                con.execute(
                    f"insert into {target} select * from {source} where score_date between ? and ?",
                    [changed.first, changed.last],
                )
                (count,) = con.execute(f"select count(*) from {target}").fetchone()
                if count == expected:
                    con.execute("commit")
                    tables[key] = count
                    in_place.append(key)
                    continue
                con.execute("rollback")
            tables[key] = _copy_table(con, relation)
        views = _finish(con, relations)
    finally:
        con.close()
    return tables, views, tuple(in_place)


def _published_relations_of(
    con: duckdb.DuckDBPyConnection, database: str
) -> list[tuple[str, str, str]]:
    """(schema, name, 'table' | 'view') of the published schemas of an attached file."""
    return con.execute(
        f"""
        select schema_name, table_name, 'table' from duckdb_tables()
        where database_name = '{database}' and list_contains($schemas, schema_name)
        union all
        select schema_name, view_name, 'view' from duckdb_views()
        where database_name = '{database}' and not internal
            and list_contains($schemas, schema_name)
        order by 3 desc, 1, 2
        """,
        {"schemas": list(PUBLISHED_SCHEMAS)},
    ).fetchall()


def _same_columns(con: duckdb.DuckDBPyConnection, relation: _Relation) -> bool:
    def columns(database: str) -> list[tuple[str, str]]:
        return con.execute(
            "select column_name, data_type from duckdb_columns() "
            "where database_name = ? and schema_name = ? and table_name = ? "
            "order by column_index",
            [database, relation.schema, relation.name],
        ).fetchall()

    serving = columns(_SERVING)
    return bool(serving) and serving == columns(_WAREHOUSE)


def _published_relations(con: duckdb.DuckDBPyConnection) -> list[_Relation]:
    rows = con.execute(
        f"""
        select schema_name, table_name, comment, null as sql
        from duckdb_tables()
        where database_name = '{_WAREHOUSE}' and list_contains($schemas, schema_name)
        union all
        select
            schema_name,
            view_name,
            comment,
            case when list_contains($view_schemas, schema_name) then sql end
        from duckdb_views()
        where database_name = '{_WAREHOUSE}' and not internal
            and list_contains($schemas, schema_name)
        order by 1, 2
        """,
        {"schemas": list(PUBLISHED_SCHEMAS), "view_schemas": list(VIEW_SCHEMAS)},
    ).fetchall()
    return [_Relation(schema, name, comment, sql) for schema, name, comment, sql in rows]


def _create_views(con: duckdb.DuckDBPyConnection, views: list[_Relation]) -> tuple[str, ...]:
    """Re-create the views in the serving file, from their SQL, in dependency order."""
    # The stored statement reads `create view <schema>.<view> as ...` with the tables named
    # <schema>.<table>: run it with the serving file as the default database so that both
    # the view and what it reads are those of the serving file.
    con.execute(f"use {_SERVING}")
    try:
        pending = list(views)
        while pending:
            failed: list[tuple[_Relation, duckdb.Error]] = []
            for view in pending:
                try:
                    con.execute(view.view_sql)
                except duckdb.CatalogException as error:  # reads a view not created yet
                    failed.append((view, error))
            if len(failed) == len(pending):
                view, error = failed[0]
                raise RuntimeError(
                    f"cannot publish the view {view.schema}.{view.name}: it reads something "
                    f"that is not in the serving file ({error})"
                ) from error
            pending = [view for view, _ in failed]
    finally:
        con.execute("use memory")
    return tuple(f"{v.schema}.{v.name}" for v in views)


def _copy_comments(con: duckdb.DuckDBPyConnection, relations: list[_Relation]) -> None:
    """Copy the descriptions dbt wrote as comments (persist_docs) to the serving file."""
    for relation in relations:
        if relation.comment:
            kind = "view" if relation.view_sql is not None else "table"
            con.execute(
                f"comment on {kind} {_SERVING}.{relation.qualified} "
                f"is '{_sql_text(relation.comment)}'"
            )
    rows = con.execute(
        f"""
        select schema_name, table_name, column_name, comment
        from duckdb_columns()
        where database_name = '{_WAREHOUSE}' and list_contains(?, schema_name)
            and comment is not null and comment <> ''
        """,
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    for schema, table, column, comment in rows:
        con.execute(
            f"comment on column {_SERVING}.{_quote(schema)}.{_quote(table)}.{_quote(column)} "
            f"is '{_sql_text(comment)}'"
        )


def _check_serving_copy(tmp_path: Path, tables: dict[str, int], views: tuple[str, ...]) -> None:
    """Open the new file on its own, as a reader will, and check that it is all there."""
    con = duckdb.connect(str(tmp_path), read_only=True)
    try:
        for name, expected in tables.items():
            schema, table = name.split(".", 1)
            (count,) = con.execute(
                f"select count(*) from {_quote(schema)}.{_quote(table)}"
            ).fetchone()
            if count != expected:
                raise RuntimeError(f"serving copy of {name} has {count} rows, not {expected}")
        for name in views:
            schema, view = name.split(".", 1)
            # binds the view against the serving file alone
            con.execute(f"select * from {_quote(schema)}.{_quote(view)} limit 0").fetchall()
    finally:
        con.close()


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _fsync(path: Path) -> None:
    """Flush a file (or a directory entry) to disk, so the rename survives a power cut."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _wal_path(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _remove_database_files(path: Path) -> None:
    path.unlink(missing_ok=True)
    _wal_path(path).unlink(missing_ok=True)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql_text(value: object) -> str:
    return str(value).replace("'", "''")
