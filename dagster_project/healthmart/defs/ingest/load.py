"""Load one source's export files into DuckDB raw tables, with quarantine and a load log.

Pure Python + DuckDB SQL: a Dagster asset calls :func:`ingest_source` / :func:`ingest_all`.

Per file (each in one transaction):

* the file is read by DuckDB (``read_csv`` with ``all_varchar``, ``read_parquet``, ``read_json``),
  every column is turned into text, then cast to the contract type with ``TRY_CAST`` in SQL -- the
  work is set-based and streams, nothing is pulled into Python;
* rows that break a contract rule go to ``ingest_meta.quarantine`` (with the first failing rule),
  the others to ``raw.<source>`` with lineage columns; ``rows_read = rows_loaded +
  rows_quarantined`` always holds for a loaded file;
* ``ingest_meta.load_log`` gets one row per file per call, ``ingest_meta.files`` says what is
  currently loaded (path + sha256 + the source's config hash). Unchanged files are skipped,
  changed files (or files read with a changed config) replace their old rows, files gone from
  the folder have their rows removed; the load log records the dates of the rows each load
  added / changed and replaced / removed (what `healthmart run` rebuilds scores for);
* a file that cannot be read at all gets one error line naming it and the problem, and the
  others still load;
* the ingest config (YAML, :func:`load_ingest_config`) maps export columns to contract columns
  and sets a source's encoding and CSV delimiter.

Newest-wins dedupe *across* files is left to dbt staging (the lineage columns make it possible).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from healthmart.core.contract import ACCOUNTS_SOURCE, CROSSWALK_SOURCE, SOURCES, Source
from healthmart.core.settings import DEFAULT_MEMORY_LIMIT
from healthmart.defs.ingest.cast_sql import plan_load
from healthmart.defs.ingest.config import (
    IngestConfig,
    IngestConfigError,
    SourceConfig,
    parse_ingest_config,
)
from healthmart.defs.ingest.files import file_kind, file_sha256, list_export_files
from healthmart.defs.ingest.load_file import Counts, FileInfo, load_file
from healthmart.defs.ingest.matching import AccountRules, files_to_retry, future_after, prepare
from healthmart.defs.ingest.preset import PresetCatalog, load_presets
from healthmart.defs.ingest.preset_sql import apply_preset, reading_options
from healthmart.defs.ingest.readers import fallback_encoding, ndjson_error, open_reader
from healthmart.defs.ingest.recognise import recognise
from healthmart.defs.ingest.results import (
    ERROR,
    LOADED,
    NOT_A_READ_ERROR,
    READ_ERRORS,
    REMOVED,
    SKIPPED,
    FileError,
    FileResult,
    Retry,
    SourceResult,
)
from healthmart.defs.ingest.schema import ensure_meta_tables, ensure_raw_table
from healthmart.defs.ingest.session import SessionSettings
from healthmart.defs.ingest.sql import first_line, qi, ql


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _log(
    con: duckdb.DuckDBPyConnection,
    load_id: str,
    source: str,
    info: FileInfo | None,
    rel: str,
    status: str,
    counts: Counts | tuple[int, int, int],
    error: str | None,
    encoding: str | None,
    started_at: datetime,
    file_hash: str | None = None,
    file_size: int | None = None,
    config_hash: str | None = None,
    added: tuple[date, date] | None = None,
    removed: tuple[date, date] | None = None,
    preset: str | None = None,
    by_rule: str | None = None,
) -> None:
    if not isinstance(counts, Counts):
        counts = Counts(*counts)
    con.execute(
        "INSERT INTO ingest_meta.load_log (load_id, source, file, file_hash, file_size, status, "
        "rows_read, rows_loaded, rows_quarantined, error, started_at, finished_at, encoding, "
        "config_hash, added_from, added_to, removed_from, removed_to, preset, rows_skipped, "
        "rows_written, quarantined_by_rule) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            source,
            rel,
            info.file_hash if info else file_hash,
            info.size if info else file_size,
            status,
            counts.read,
            counts.loaded,
            counts.quarantined,
            error,
            started_at,
            _now(),
            encoding,
            config_hash,
            *(added or (None, None)),
            *(removed or (None, None)),
            preset,
            counts.skipped,
            counts.written,
            by_rule,
        ],
    )


def _quarantined_by_rule(con: duckdb.DuckDBPyConnection, source: str, rel: str) -> str | None:
    """The file's quarantined rows per rule, as JSON (None: none quarantined)."""
    rows = con.execute(
        "SELECT rule, count(*) FROM ingest_meta.quarantine WHERE source = ? AND file = ? "
        "GROUP BY rule ORDER BY rule",
        [source, rel],
    ).fetchall()
    return json.dumps(dict(rows)) if rows else None


def _date_range(
    con: duckdb.DuckDBPyConnection, relation: str, time_column: str
) -> tuple[date, date] | None:
    lo, hi = con.execute(
        f"SELECT min(CAST({qi(time_column)} AS DATE)), max(CAST({qi(time_column)} AS DATE)) "
        f"FROM ({relation})"
    ).fetchone()
    return (lo, hi) if lo is not None else None


def _changed_ranges(
    con: duckdb.DuckDBPyConnection, src: Source, rel: str, old_table: str | None
) -> tuple[tuple[date, date] | None, tuple[date, date] | None]:
    """Dates of the rows a file's load added (or changed) and of those it removed (or replaced).

    Compares the file's contract columns now with the snapshot taken before its old rows were
    deleted (`old_table`; None for a file not loaded before), so a corrected file whose rows are
    mostly the same only reports the rows that differ.
    """
    if src.time_column is None:
        return None, None
    cols = ", ".join(qi(c) for c in src.column_names)
    new = f"SELECT {cols} FROM raw.{qi(src.name)} WHERE _source_file = {ql(rel)}"
    if old_table is None:
        return _date_range(con, new, src.time_column), None
    old = f"SELECT {cols} FROM {old_table}"
    added = _date_range(con, f"{new} EXCEPT ALL {old}", src.time_column)
    removed = _date_range(con, f"{old} EXCEPT ALL {new}", src.time_column)
    return added, removed


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    # After a failed COMMIT DuckDB has already rolled back: nothing left to undo.
    with contextlib.suppress(duckdb.TransactionException):
        con.execute("ROLLBACK")


def _ingest_one_file(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    path: Path,
    exports_dir: Path,
    config: SourceConfig,
    load_id: str,
    known: dict[str, tuple[str, str]],
    skip_unchanged: bool,
    config_label: str,
    catalog: PresetCatalog,
    rules: AccountRules | None = None,
    other_rules: Callable[[str | None], AccountRules] | None = None,
) -> FileResult:
    started = _now()
    rel = path.relative_to(exports_dir).as_posix()
    encoding = config.encoding
    kind = file_kind(path)
    try:
        stat = path.stat()
        info = FileInfo(
            path=path,
            rel=rel,
            file_hash=file_sha256(path),
            size=stat.st_size,
            mtime=datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None),
        )
    except OSError as exc:
        msg = f"{rel}: cannot be read: {first_line(exc)}"
        _log(con, load_id, source.name, None, rel, ERROR, (0, 0, 0), msg, None, started)
        return FileResult(source.name, rel, ERROR, 0, 0, 0, msg)

    try:
        recognition = recognise(con, path, kind, source.name, config, catalog, config_label)
    except FileError as exc:
        msg = f"{rel}: {exc}"
        _log(con, load_id, source.name, info, rel, ERROR, (0, 0, 0), msg, None, started)
        return FileResult(source.name, rel, ERROR, 0, 0, 0, msg)
    preset = recognition.preset
    preset_name = preset.name if preset else None
    if preset is not None:
        config = config.with_preset_match(preset.account_match)
    if rules is not None and other_rules is not None and config.account_match != rules.match:
        # (a lookup of the preset's tool id, made once per ingest of the source)
        rules = other_rules(config.account_match)
    config_hash = config.fingerprint()
    if preset is not None:
        config_hash = hashlib.sha256(
            f"{config_hash}:{preset.name}:{preset.digest}".encode()
        ).hexdigest()[:16]

    if skip_unchanged and known.get(rel) == (info.file_hash, config_hash):
        _log(
            con, load_id, source.name, info, rel, SKIPPED, (0, 0, 0), None, None, started,
            config_hash=config_hash, preset=preset_name,
        )  # fmt: skip
        return FileResult(source.name, rel, SKIPPED, 0, 0, 0, None, preset=preset_name)

    tmpdir = tempfile.mkdtemp(prefix="healthmart_ingest_")
    base_suffix = uuid.uuid4().hex[:12]
    suffixes: list[str] = []
    enc = encoding
    rejects: list | None = None
    used_encoding: str | None = None
    try:
        for attempt in range(6):
            suffix = f"{base_suffix}_{attempt}"
            suffixes.append(suffix)
            try:
                reader = open_reader(
                    con, kind, path, enc, encoding is None, tmpdir, config.delimiter,
                    **reading_options(preset),
                )  # fmt: skip
            except Retry as retry:
                enc = retry.encoding
                continue
            try:
                applied = apply_preset(preset, reader.columns, config.columns) if preset else None
                plan = plan_load(source, reader, config.columns, config_label, applied)
            except FileError as exc:
                if len(recognition.matches) > 1:
                    raise FileError(
                        f"{exc}; its header matches the presets {', '.join(recognition.matches)}"
                        f": name one in {config_label} under sources.{source.name}.preset"
                    ) from exc
                raise
            used_encoding = reader.encoding if kind == "csv" else None
            ensure_raw_table(con, source, [n for n, _ in plan.extras])
            loaded_at = _now()
            con.execute("BEGIN TRANSACTION")
            try:
                old_table = None
                if rel in known and source.time_column is not None:
                    # The file's rows before this load, to tell which dates the load changes.
                    old_table = f"__hm_old_{suffix}"
                    cols = ", ".join(qi(c) for c in source.column_names)
                    con.execute(
                        f"CREATE OR REPLACE TEMP TABLE {old_table} AS SELECT {cols} "
                        f"FROM raw.{qi(source.name)} WHERE _source_file = ?",
                        [rel],
                    )
                counts = load_file(con, plan, info, load_id, loaded_at, rejects, suffix, rules)
                if counts.read == 0:
                    if counts.skipped:
                        raise FileError(
                            f"has no data rows: its {counts.skipped} rows are not data by "
                            f"preset {preset_name} (nothing loaded)"
                        )
                    raise FileError(
                        "has a header line but no data rows (nothing loaded)"
                        if kind == "csv"
                        else "has no rows (nothing loaded)"
                    )
                added, removed = _changed_ranges(con, source, rel, old_table)
                by_rule = (
                    _quarantined_by_rule(con, source.name, rel) if counts.quarantined else None
                )
                con.execute(
                    "DELETE FROM ingest_meta.files WHERE source = ? AND file = ?",
                    [source.name, rel],
                )
                con.execute(
                    "INSERT INTO ingest_meta.files (source, file, file_hash, loaded_at, "
                    "rows_loaded, rows_quarantined, file_size, file_modified_at, encoding, "
                    "load_id, config_hash, preset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        source.name,
                        rel,
                        info.file_hash,
                        loaded_at,
                        counts.loaded,
                        counts.quarantined,
                        info.size,
                        info.mtime,
                        used_encoding,
                        load_id,
                        config_hash,
                        preset_name,
                    ],
                )
                _log(
                    con,
                    load_id,
                    source.name,
                    info,
                    rel,
                    LOADED,
                    counts,
                    None,
                    used_encoding,
                    started,
                    config_hash=config_hash,
                    added=added,
                    removed=removed,
                    preset=preset_name,
                    by_rule=by_rule,
                )
                con.execute("COMMIT")
            except Retry as retry:
                _rollback(con)
                if retry.encoding == "invalid-encoding":
                    if encoding is not None or enc not in (None, "utf-8"):
                        # The user's (or the fallback) encoding still has undecodable bytes:
                        # keep those lines as malformed rows.
                        rejects = retry.rejects
                    else:
                        enc = fallback_encoding(path)
                        rejects = None
                else:
                    rejects = retry.rejects
                continue
            except BaseException:
                _rollback(con)
                raise
            return FileResult(
                source.name, rel, LOADED, counts.read, counts.loaded, counts.quarantined, None,
                used_encoding, added, removed, preset_name, counts.skipped, counts.written, by_rule,
            )  # fmt: skip
        raise FileError("could not be read consistently (gave up after several attempts)")
    except Exception as exc:  # one bad file never stops the others
        if isinstance(exc, FileError):
            problem = str(exc)
        elif isinstance(exc, NOT_A_READ_ERROR) or not isinstance(exc, READ_ERRORS):
            # A query that could not even be planned: not the file's fault, but keep going.
            problem = f"could not be loaded (ingest error): {type(exc).__name__}: {first_line(exc)}"
        elif kind == "csv":
            problem = f"cannot be read as CSV: {first_line(exc)}"
        elif kind == "parquet":
            problem = f"cannot be read as Parquet: {first_line(exc)}"
        else:
            problem = str(ndjson_error(path, exc))
        msg = f"{rel}: {problem}".replace(str(path), rel)
        _log(
            con, load_id, source.name, info, rel, ERROR, (0, 0, 0), msg, used_encoding, started,
            config_hash=config_hash, preset=preset_name,
        )  # fmt: skip
        return FileResult(source.name, rel, ERROR, 0, 0, 0, msg, used_encoding, preset=preset_name)
    finally:
        for suffix in suffixes:
            for t in (
                "__hm_rejects_", "__hm_scan_", "__hm_rowmap_", "__hm_dups_", "__hm_old_",
                "__hm_agg_",
            ):  # fmt: skip
                with contextlib.suppress(duckdb.Error):
                    con.execute(f"DROP TABLE IF EXISTS {t}{suffix}")
        shutil.rmtree(tmpdir, ignore_errors=True)


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    source: str,
    exports_dir: Path,
    column_mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    *,
    delimiter: str | None = None,
    config: IngestConfig | None = None,
    load_id: str | None = None,
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
    force: bool = False,
    presets: PresetCatalog | None = None,
    load_date: date | None = None,
    future_tolerance_days: int = 1,
) -> SourceResult:
    """Load every export file of `source` under `exports_dir/<source>/` into raw.<source>.

    config: the ingest config (column mapping, encoding, delimiter of each source; see
    load_ingest_config). column_mapping / encoding / delimiter: the same for this source
    given directly; they win over the config.
    column_mapping: export column name -> contract column name (case-insensitive).
    encoding: text encoding of the CSV files (default: UTF-8, falling back to cp1252/latin-1
    when a file is not valid UTF-8; UTF-16 is recognised by its byte-order mark).
    delimiter: CSV field delimiter (default: detected from the header line).
    load_id: identifies this call in the load log and quarantine (default: a new uuid).
    presets: the format presets (default: the built-in ones); a file is read through the preset
    its source's config names, else the one preset its header matches, else as the contract.
    force: reload every file even if unchanged. A file is also reloaded when the source's
    config (mapping, encoding, delimiter) differs from the one it was loaded with.
    memory_limit: if the connection has DuckDB's default memory_limit (80% of RAM), use this one
    during the ingest (reset afterwards) so big files spill to the temp directory instead of
    growing; a limit the caller set is kept. None = never touch it.
    load_date (default: today, UTC), future_tolerance_days: a row whose date of something that
    happened lies after load_date + future_tolerance_days is quarantined (date_in_future).

    Rows naming an account are matched (account_match) and checked against the accounts loaded
    now (see matching): load the accounts and the crosswalk first, as ingest_all does. A file
    with rows quarantined for an account rule is loaded again once they would match.

    Needs a connection without an open transaction (each file is its own transaction).
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r} (known: {', '.join(SOURCES)})")
    src = SOURCES[source]
    config = config or IngestConfig(None)
    src_config = config.source(source)
    if column_mapping is not None or encoding is not None or delimiter is not None:
        overrides: dict[str, Any] = {}
        if column_mapping is not None:
            overrides["columns"] = column_mapping
        if encoding is not None:
            overrides["encoding"] = encoding
        if delimiter is not None:
            overrides["delimiter"] = delimiter
        where = config.path or Path("ingest_source()")
        try:
            given = parse_ingest_config({"sources": {source: overrides}}, where).source(source)
        except IngestConfigError as exc:
            raise ValueError(str(exc).removeprefix(f"{where}: ")) from exc
        src_config = replace(
            src_config,
            columns=given.columns if column_mapping is not None else src_config.columns,
            encoding=given.encoding if encoding is not None else src_config.encoding,
            delimiter=given.delimiter if delimiter is not None else src_config.delimiter,
        )
    exports_dir = Path(exports_dir).resolve()
    load_id = load_id or uuid.uuid4().hex
    catalog = presets if presets is not None else load_presets()
    default_hash = SourceConfig().fingerprint()

    ensure_meta_tables(con)
    ensure_raw_table(con, src)
    results: list[FileResult] = []
    with SessionSettings(con, memory_limit):
        known = {
            file: (file_hash, config_hash or default_hash)
            for file, file_hash, config_hash in con.execute(
                "SELECT file, file_hash, config_hash FROM ingest_meta.files WHERE source = ?",
                [source],
            ).fetchall()
        }
        paths = list_export_files(exports_dir, source)
        last_day = future_after(load_date or _now().date(), future_tolerance_days)
        rules = prepare(con, src, src_config.account_match, last_day)
        # The rules of the files whose preset names another tool id, by that id.
        by_match: dict[str | None, AccountRules] = {}

        def other_rules(match: str | None) -> AccountRules:
            if match not in by_match:
                by_match[match] = prepare(con, src, match, last_day)
            return by_match[match]

        try:
            # Files whose quarantined rows an account or crosswalk row loaded since now matches.
            retry = files_to_retry(con, rules)
            for path in paths:
                rel = path.relative_to(exports_dir).as_posix()
                results.append(
                    _ingest_one_file(
                        con,
                        src,
                        path,
                        exports_dir,
                        src_config,
                        load_id,
                        known,
                        not force and rel not in retry,
                        config.label,
                        catalog,
                        rules,
                        other_rules,
                    )  # fmt: skip
                )
        finally:
            for used in (rules, *by_match.values()):
                used.close(con)
        present = {p.relative_to(exports_dir).as_posix() for p in paths}
        for rel in sorted(set(known) - present):
            results.append(_remove_file(con, src, rel, known[rel][0], load_id))
    return SourceResult(source, tuple(results))


def _remove_file(
    con: duckdb.DuckDBPyConnection, src: Source, rel: str, file_hash: str, load_id: str
) -> FileResult:
    """A file loaded before is gone from the folder: its rows leave raw (folder = truth)."""
    started = _now()
    con.execute("BEGIN TRANSACTION")
    try:
        removed = None
        if src.time_column is not None:
            removed = _date_range(
                con,
                f"SELECT {qi(src.time_column)} FROM raw.{qi(src.name)} "
                f"WHERE _source_file = {ql(rel)}",
                src.time_column,
            )
        con.execute(f"DELETE FROM raw.{qi(src.name)} WHERE _source_file = ?", [rel])
        con.execute(
            "DELETE FROM ingest_meta.quarantine WHERE source = ? AND file = ?", [src.name, rel]
        )
        con.execute("DELETE FROM ingest_meta.files WHERE source = ? AND file = ?", [src.name, rel])
        _log(
            con,
            load_id,
            src.name,
            None,
            rel,
            REMOVED,
            (0, 0, 0),
            None,
            None,
            started,
            file_hash=file_hash,
            removed=removed,
        )
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return FileResult(src.name, rel, REMOVED, 0, 0, 0, None, removed_range=removed)


def ingest_all(
    con: duckdb.DuckDBPyConnection,
    exports_dir: Path,
    sources: Iterable[str] | None = None,
    column_mappings: dict[str, dict[str, str]] | None = None,
    encodings: dict[str, str] | None = None,
    *,
    config: IngestConfig | None = None,
    load_id: str | None = None,
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
    force: bool = False,
    presets: PresetCatalog | None = None,
    load_date: date | None = None,
    future_tolerance_days: int = 1,
) -> dict[str, SourceResult]:
    """Ingest every source of the contract (or the given ones), the accounts and the crosswalk
    first (the others are matched and checked against them); one load_id for the whole call."""
    load_id = load_id or uuid.uuid4().hex
    names = list(sources) if sources is not None else list(SOURCES)
    presets = presets if presets is not None else load_presets()
    return {
        name: ingest_source(
            con,
            name,
            exports_dir,
            (column_mappings or {}).get(name),
            (encodings or {}).get(name),
            config=config,
            load_id=load_id,
            memory_limit=memory_limit,
            force=force,
            presets=presets,
            load_date=load_date,
            future_tolerance_days=future_tolerance_days,
        )
        for name in sorted(names, key=_reference_first)
    }


def _reference_first(name: str) -> int:
    return {ACCOUNTS_SOURCE: 0, CROSSWALK_SOURCE: 1}.get(name, 2)
