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

import codecs
import contextlib
import gzip
import hashlib
import json
import re
import shutil
import tempfile
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from healthmart.core.contract import SOURCES, Column, Source
from healthmart.core.settings import DEFAULT_MEMORY_LIMIT

# --------------------------------------------------------------------------------------------
# Public results
# --------------------------------------------------------------------------------------------

LOADED = "loaded"
SKIPPED = "skipped_unchanged"
ERROR = "error"
REMOVED = "removed"

SUFFIXES = (".csv.gz", ".csv", ".parquet", ".ndjson", ".jsonl", ".json")

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "VARCHAR"),
    ("_source_row", "BIGINT"),
    ("_file_hash", "VARCHAR"),
    ("_file_modified_at", "TIMESTAMP"),
    ("_loaded_at", "TIMESTAMP"),
)

DUPLICATE_RULE = "duplicate_key_in_file"
MALFORMED_RULE = "malformed_row"


@dataclass(frozen=True)
class FileResult:
    source: str
    file: str  # path relative to the exports folder, e.g. "billing/invoices_2026-01.csv"
    status: str  # 'loaded' | 'skipped_unchanged' | 'error' | 'removed'
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    error: str | None
    encoding: str | None = None  # text encoding used for a CSV file
    # Dates (of the source's time column) of the rows this call added or changed, and of the
    # rows it removed or replaced: what the scores of later days may have to be rebuilt for.
    added_range: tuple[date, date] | None = None
    removed_range: tuple[date, date] | None = None

    @property
    def changed_from(self) -> date | None:
        """The earliest date of a row this call added, changed or removed (None: no change)."""
        days = [r[0] for r in (self.added_range, self.removed_range) if r is not None]
        return min(days) if days else None


@dataclass(frozen=True)
class SourceResult:
    source: str
    files: tuple[FileResult, ...]

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def errors(self) -> list[str]:
        return [f.error for f in self.files if f.status == ERROR and f.error]


_NOT_A_READ_ERROR = (
    duckdb.ParserException,
    duckdb.BinderException,
    duckdb.CatalogException,
    duckdb.InternalException,
)

_READ_ERRORS = (duckdb.Error, OSError, UnicodeError, EOFError, zlib.error)


class FileError(Exception):
    """A file cannot be loaded; the message names the problem (the caller prefixes the file)."""


class _Retry(Exception):
    """Internal: roll back and read the file again with what was learnt (encoding, bad lines)."""

    def __init__(self, encoding: str | None = None, rejects: list | None = None):
        super().__init__("retry")
        self.encoding = encoding
        self.rejects = rejects


# --------------------------------------------------------------------------------------------
# Small SQL helpers
# --------------------------------------------------------------------------------------------


def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ql(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _norm(name: str) -> str:
    return name.strip().lower()


def _num(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    return line


def _text_expr(expr: str) -> str:
    """Trimmed text, empty string -> NULL.

    Plain trim() strips spaces; it is ~3x faster than trim(x, <set>) and the casts to numbers,
    dates and timestamps ignore surrounding tabs / CR themselves.
    """
    return f"NULLIF(trim({expr}), '')"


def _typed_expr(col: Column, s: str) -> str:
    t = col.type.upper()
    if t == "VARCHAR":
        return f"lower({s})" if col.accepted else s
    if t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"):
        # TRY_CAST rounds '12.5' to 13: only accept integral values.
        return (
            f"CASE WHEN TRY_CAST({s} AS DOUBLE) = TRY_CAST({s} AS {t}) "
            f"THEN TRY_CAST({s} AS {t}) END"
        )
    if t in ("DOUBLE", "FLOAT", "REAL"):
        return f"CASE WHEN isfinite(TRY_CAST({s} AS DOUBLE)) THEN TRY_CAST({s} AS {t}) END"
    if t == "DATE":
        # TRY_CAST to DATE also takes the date part of an ISO timestamp string.
        return f"TRY_CAST({s} AS DATE)"
    if t == "TIMESTAMP":
        # With TimeZone = UTC (set during ingest) strings without a zone are read as UTC and
        # strings with one are converted to UTC; stored naive.
        return f"CAST(TRY_CAST({s} AS TIMESTAMPTZ) AS TIMESTAMP)"
    return f"TRY_CAST({s} AS {t})"


def _type_label(col: Column) -> str:
    t = col.type.upper()
    if t == "DATE":
        return "a DATE (expected YYYY-MM-DD)"
    if t == "TIMESTAMP":
        return "a TIMESTAMP (expected ISO-8601)"
    article = "an" if t[:1] in "AEIOU" else "a"
    return f"{article} {t}"


# --------------------------------------------------------------------------------------------
# Files on disk
# --------------------------------------------------------------------------------------------


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".ndjson", ".jsonl", ".json")):
        return "json"
    return None


def list_export_files(exports_dir: Path, source: str) -> list[Path]:
    """Export files of one source, sorted by relative path; hidden / `_`-prefixed names skipped."""
    root = Path(exports_dir) / source
    if not root.is_dir():
        return []
    out = []
    for path in root.rglob("*"):
        rel_parts = path.relative_to(root).parts
        if any(p.startswith((".", "_")) for p in rel_parts):
            continue
        if path.is_file() and path.name.lower().endswith(SUFFIXES):
            out.append(path)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _open_bytes(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _head(path: Path, n: int = 1 << 16) -> bytes:
    try:
        with _open_bytes(path) as f:
            return f.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        if path.name.lower().endswith(".gz"):
            raise FileError(f"cannot be decompressed as gzip: {_first_line(exc)}") from exc
        raise FileError(f"cannot be read: {_first_line(exc)}") from exc


def _guess_delimiter(head: bytes) -> str:
    first = head.split(b"\n", 1)[0]
    counts = {d: first.count(d.encode()) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _has_c1_bytes(path: Path) -> bool:
    """True if the (decompressed) file has bytes 0x80-0x9F: cp1252 rather than latin-1."""
    pattern = re.compile(rb"[\x80-\x9f]")
    with _open_bytes(path) as f:
        while chunk := f.read(1 << 20):
            if pattern.search(chunk):
                return True
    return False


def _transcode_to_utf8(path: Path, encoding: str, tmpdir: str) -> Path:
    """Streamed re-encoding of a CSV to a UTF-8 temp file (for encodings DuckDB can't read)."""
    target = Path(tmpdir) / "transcoded.csv"
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with _open_bytes(path) as src, open(target, "w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 20):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))
    return target


def _normalise_encoding(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise ValueError(f"unknown text encoding {encoding!r}") from exc
    return {"iso8859-1": "latin-1"}.get(name, name)


# --------------------------------------------------------------------------------------------
# The ingest config: column mapping, encoding and delimiter per source
# --------------------------------------------------------------------------------------------

CONFIG_KEYS = ("columns", "encoding", "delimiter")
DELIMITERS = (",", ";", "\t", "|")


class IngestConfigError(ValueError):
    """The ingest config file is invalid; the message names the file and the problem."""


@dataclass(frozen=True)
class SourceConfig:
    """How one source's exports are read: column mapping, encoding, delimiter."""

    columns: dict[str, str] = field(default_factory=dict)  # lower-cased export name -> contract
    encoding: str | None = None  # None: UTF-8, falling back to cp1252 / latin-1
    delimiter: str | None = None  # None: detected from the header line

    def fingerprint(self) -> str:
        """A hash of how files are read: a file loaded with another one is loaded again."""
        text = json.dumps(
            {"columns": sorted(self.columns.items()), "encoding": self.encoding,
             "delimiter": self.delimiter},
            sort_keys=True,
        )  # fmt: skip
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class IngestConfig:
    path: Path | None  # the file it was read from (None: no config file)
    sources: dict[str, SourceConfig] = field(default_factory=dict)

    def source(self, name: str) -> SourceConfig:
        return self.sources.get(name, SourceConfig())

    @property
    def label(self) -> str:
        return str(self.path) if self.path else "the ingest config (HEALTHMART_INGEST_CONFIG)"


def _config_error(path: Path, where: str, problem: str) -> IngestConfigError:
    return IngestConfigError(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")


def parse_ingest_config(data: Any, path: Path) -> IngestConfig:
    """Validate the parsed YAML of an ingest config (see config/ingest.example.yml)."""
    if data is None:
        return IngestConfig(path)
    if not isinstance(data, dict):
        raise _config_error(path, "", "expected a mapping with a 'sources' key at the top")
    unknown_top = sorted(str(k) for k in data if k not in ("version", "sources"))
    if unknown_top:
        raise _config_error(
            path, "", f"unknown key(s) {', '.join(unknown_top)} (allowed: version, sources)"
        )
    if data.get("version", 1) != 1:
        raise _config_error(path, "version", f"unsupported version {data['version']!r} (use 1)")
    sources = data.get("sources") or {}
    if not isinstance(sources, dict):
        raise _config_error(path, "sources", "expected a mapping of source name -> settings")
    out: dict[str, SourceConfig] = {}
    for name, entry in sources.items():
        where = f"sources.{name}"
        if name not in SOURCES:
            raise _config_error(
                path, where, f"unknown source {name!r} (known: {', '.join(SOURCES)})"
            )
        entry = entry or {}
        if not isinstance(entry, dict):
            raise _config_error(path, where, "expected a mapping with columns/encoding/delimiter")
        bad_keys = sorted(str(k) for k in entry if k not in CONFIG_KEYS)
        if bad_keys:
            raise _config_error(
                path,
                where,
                f"unknown key(s) {', '.join(bad_keys)} (allowed: {', '.join(CONFIG_KEYS)})",
            )
        out[name] = SourceConfig(
            columns=_config_columns(path, where, SOURCES[name], entry.get("columns")),
            encoding=_config_encoding(path, where, entry.get("encoding")),
            delimiter=_config_delimiter(path, where, entry.get("delimiter")),
        )
    return IngestConfig(path, out)


def _config_columns(path: Path, where: str, src: Source, columns: Any) -> dict[str, str]:
    where = f"{where}.columns"
    if columns is None:
        return {}
    if not isinstance(columns, dict):
        raise _config_error(path, where, "expected a mapping of export column -> contract column")
    mapping: dict[str, str] = {}
    mapped_from: dict[str, str] = {}
    for export_col, contract_col in columns.items():
        if not isinstance(export_col, str) or not isinstance(contract_col, str):
            raise _config_error(
                path, where, f"{export_col!r}: {contract_col!r}: both names must be text"
            )
        key, target = _norm(export_col), _norm(contract_col)
        if target not in src.column_names:
            raise _config_error(
                path,
                where,
                f"'{export_col}' is mapped to '{contract_col}', an unknown contract column of "
                f"{src.name} (contract columns: {', '.join(src.column_names)})",
            )
        if key in mapping:
            raise _config_error(path, where, f"export column '{export_col}' is listed twice")
        if target in mapped_from:
            raise _config_error(
                path,
                where,
                f"two export columns are mapped to '{target}': '{mapped_from[target]}' and "
                f"'{export_col}'",
            )
        mapping[key] = target
        mapped_from[target] = export_col
    return mapping


def _config_encoding(path: Path, where: str, encoding: Any) -> str | None:
    if encoding is None:
        return None
    try:
        return _normalise_encoding(str(encoding))
    except ValueError as exc:
        raise _config_error(path, f"{where}.encoding", str(exc)) from exc


def _config_delimiter(path: Path, where: str, delimiter: Any) -> str | None:
    if delimiter is None:
        return None
    text = {"tab": "\t", "\\t": "\t"}.get(str(delimiter), str(delimiter))
    if text not in DELIMITERS:
        raise _config_error(path, f"{where}.delimiter", f"{delimiter!r} is not one of , ; | tab")
    return text


def load_ingest_config(path: Path | None, required: bool = False) -> IngestConfig:
    """Read and validate the ingest config. A missing file is an empty config unless required."""
    if path is None:
        return IngestConfig(None)
    path = Path(path)
    if not path.is_file():
        if required:
            raise IngestConfigError(f"{path}: the ingest config file does not exist")
        return IngestConfig(None)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise IngestConfigError(f"{path}: not valid YAML: {_first_line(exc)}") from exc
    return parse_ingest_config(data, path)


# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------


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
_ADDED_META_COLUMNS = (
    ("files", "config_hash", "VARCHAR"),
    ("load_log", "config_hash", "VARCHAR"),
    ("load_log", "added_from", "DATE"),
    ("load_log", "added_to", "DATE"),
    ("load_log", "removed_from", "DATE"),
    ("load_log", "removed_to", "DATE"),
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
    cols = [f"{_qi(c.name)} {c.type}" for c in source.columns]
    cols += [f"{_qi(n)} {t}" for n, t in LINEAGE_COLUMNS]
    con.execute(f"CREATE TABLE IF NOT EXISTS raw.{_qi(source.name)} ({', '.join(cols)})")
    existing = _table_columns(con, "raw", source.name)
    wanted = [(c.name, c.type) for c in source.columns] + list(LINEAGE_COLUMNS)
    wanted += [(n, "VARCHAR") for n in extra_columns]
    for name, dtype in wanted:
        if name.lower() not in existing:
            con.execute(f"ALTER TABLE raw.{_qi(source.name)} ADD COLUMN {_qi(name)} {dtype}")
            existing[name.lower()] = dtype


# --------------------------------------------------------------------------------------------
# Reading one file
# --------------------------------------------------------------------------------------------


@dataclass
class _Reader:
    """How to read one file: SQL producing `__rn` (1-based row number) + all columns as text."""

    kind: str
    path: Path  # the path DuckDB reads (may be a transcoded temp file)
    columns: list[str]  # column names as in the file
    encoding: str | None = None  # CSV: the file's encoding (what the load log records)
    delimiter: str = ","
    duckdb_encoding: str = "utf-8"  # CSV: what read_csv is told (after any transcoding)
    types: dict[str, str] = field(default_factory=dict)  # Parquet: column -> DuckDB type

    def _csv_call(self, errors: str) -> str:
        opts = [
            "all_varchar=true",
            "header=true",
            f"delim={_ql(self.delimiter)}",
            "quote='\"'",
            "escape='\"'",
            "compression='auto'",
        ]
        if self.duckdb_encoding != "utf-8":
            opts.append(f"encoding={_ql(self.duckdb_encoding)}")
        if errors:
            opts.append(errors)
        return f"read_csv({_ql(str(self.path))}, {', '.join(opts)})"

    def relation(self, errors: str = "") -> str:
        """All columns as text; Parquet adds `__file_rn` (1-based, from the file itself)."""
        cols = ", ".join(f"CAST({_qi(c)} AS VARCHAR) AS {_qi(c)}" for c in self.columns)
        if self.kind == "csv":
            return f"SELECT {cols} FROM {self._csv_call(errors)}"
        if self.kind == "parquet":
            if "file_row_number" in (c.lower() for c in self.columns):
                return f"SELECT {cols} FROM read_parquet({_ql(str(self.path))})"
            return (
                f"SELECT file_row_number + 1 AS __file_rn, {cols} "
                f"FROM read_parquet({_ql(str(self.path))}, file_row_number=true)"
            )
        # json
        spec = ", ".join(f"{_ql(c)}: 'VARCHAR'" for c in self.columns)
        return (
            f"SELECT {cols} FROM read_json({_ql(str(self.path))}, "
            f"format='newline_delimited', columns={{{spec}}})"
        )

    @property
    def has_file_row_number(self) -> bool:
        return self.kind == "parquet" and "file_row_number" not in (c.lower() for c in self.columns)


def _describe(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {sql}").fetchall()]


def _utf16_from_head(head: bytes) -> str | None:
    """'utf-16' (with a BOM), 'utf-16-le' / 'utf-16-be' (without: zero high bytes) or None."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 4:
        half = len(sample) // 2
        if sample[1::2].count(0) > half * 0.9 and sample[0::2].count(0) < half * 0.1:
            return "utf-16-le"
        if sample[0::2].count(0) > half * 0.9 and sample[1::2].count(0) < half * 0.1:
            return "utf-16-be"
    return None


def _first_bad_json_line(path: Path) -> str | None:
    """Where an NDJSON file stops being one JSON object per line (None: found no such line)."""
    try:
        with open(path, "rb") as fh:
            for number, raw_line in enumerate(fh, start=1):
                line = raw_line.strip()
                if not line:
                    continue
                excerpt = line[:60].decode("utf-8", errors="replace")
                try:
                    value = json.loads(line)
                except (ValueError, UnicodeDecodeError) as exc:
                    reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                    return f"line {number} is not valid JSON ({reason}): {excerpt!r}"
                if not isinstance(value, dict):
                    return f"line {number} is not a JSON object: {excerpt!r}"
    except OSError:
        return None
    return None


def _ndjson_error(path: Path, exc: BaseException) -> FileError:
    where = _first_bad_json_line(path)
    return FileError(f"cannot be read as NDJSON: {where or _first_line(exc)}")


def _open_reader(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    path: Path,
    encoding: str | None,
    auto_encoding: bool,
    tmpdir: str,
    delimiter: str | None = None,
) -> _Reader:
    """Check the file is readable at all and find its columns (cheap: header / metadata).

    encoding: the CSV encoding to try (None = UTF-8); auto_encoding: the user did not set one, so
    a file that is not UTF-8 may be retried as cp1252 / latin-1 (raises _Retry).
    """
    if path.stat().st_size == 0:
        raise FileError("file is empty (0 bytes)")
    if kind == "parquet":
        try:
            described = con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({_ql(str(path))})"
            ).fetchall()
        except duckdb.Error as exc:
            raise FileError(f"cannot be read as Parquet: {_first_line(exc)}") from exc
        cols = [r[0] for r in described]
        return _Reader("parquet", path, cols, types={r[0]: str(r[1]) for r in described})
    if kind == "json":
        head = _head(path)
        if b"\x00" in head:
            raise FileError("cannot be read as NDJSON: the file contains binary data")
        try:
            rows = con.execute(
                "SELECT k FROM (SELECT unnest(json_keys(json)) AS k, "
                "unnest(range(len(json_keys(json)))) AS i "
                f"FROM read_ndjson_objects({_ql(str(path))})) GROUP BY k ORDER BY min(i), k"
            ).fetchall()
        except duckdb.Error as exc:
            raise _ndjson_error(path, exc) from exc
        if not rows:
            where = _first_bad_json_line(path) or "no JSON objects found"
            raise FileError(f"cannot be read as NDJSON: {where}")
        return _Reader("json", path, [r[0] for r in rows])
    # CSV
    head = _head(path)
    if not head:
        raise FileError("file is empty (no header line)")
    utf16 = _utf16_from_head(head)
    if utf16 and (encoding is None or encoding.startswith("utf-16")):
        encoding = encoding or utf16
    elif b"\x00" in head:
        raise FileError("cannot be read as CSV: the file contains binary data")
    if auto_encoding and encoding is None and not _looks_utf8(head):
        raise _Retry(encoding=_fallback_encoding(path))
    enc = encoding or "utf-8"
    reader = _Reader("csv", path, [], encoding=enc, delimiter=delimiter or _guess_delimiter(head))
    if enc not in ("utf-8", "latin-1"):
        # DuckDB reads only these: re-encode other encodings (e.g. cp1252) to a UTF-8 temp file.
        try:
            reader.path = _transcode_to_utf8(path, enc, tmpdir)
        except UnicodeDecodeError as exc:
            if auto_encoding and enc == "cp1252":
                raise _Retry(encoding="latin-1") from exc
            raise FileError(f"cannot be decoded as {enc}: {_first_line(exc)}") from exc
        except (OSError, EOFError, zlib.error) as exc:
            raise FileError(f"cannot be read as CSV: {_first_line(exc)}") from exc
        reader.duckdb_encoding = "utf-8"
        if delimiter is None:
            reader.delimiter = _guess_delimiter(_head(reader.path))
    else:
        reader.duckdb_encoding = enc
    try:
        reader.columns = _describe(con, f"SELECT * FROM {reader._csv_call('ignore_errors=true')}")
    except duckdb.Error as exc:
        if auto_encoding and enc == "utf-8" and "unicode" in str(exc).lower():
            raise _Retry(encoding=_fallback_encoding(path)) from exc
        raise FileError(f"cannot be read as CSV: {_first_line(exc)}") from exc
    return reader


def _looks_utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is fine.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def _fallback_encoding(path: Path) -> str:
    return "cp1252" if _has_c1_bytes(path) else "latin-1"


# --------------------------------------------------------------------------------------------
# The SQL for one file
# --------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    source: Source
    reader: _Reader
    contract_to_file: dict[str, str]  # contract column -> file column
    extras: list[tuple[str, str]]  # (raw table column name, file column)


_NUMERIC_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL",
)  # fmt: skip
_TEXT_TYPES = ("VARCHAR",)
_TIME_TYPES = ("DATE", "TIMESTAMP")


def _parquet_type_fits(col: Column, file_type: str) -> bool:
    """Whether a Parquet column of `file_type` can hold values of the contract column."""
    t = file_type.upper()
    if t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION", "BLOB")):
        return False
    base = t.split("(")[0].split(" ")[0]
    fits_time = base in _TEXT_TYPES or base.startswith(_TIME_TYPES)
    fits_number = base in _TEXT_TYPES or base in _NUMERIC_TYPES
    want = col.type.upper()
    if want in ("DATE", "TIMESTAMP"):
        return fits_time
    if want == "VARCHAR":
        return fits_time or fits_number or base == "BOOLEAN" or base == "UUID"
    return fits_number


def _plan(
    source: Source, reader: _Reader, mapping: dict[str, str], config_label: str = ""
) -> _Plan:
    contract = {c.name: c for c in source.columns}
    contract_to_file: dict[str, str] = {}
    extras: list[tuple[str, str]] = []
    lineage = {n for n, _ in LINEAGE_COLUMNS}
    seen_extra: dict[str, str] = {}
    for col in reader.columns:
        target = mapping.get(_norm(col), _norm(col))
        if target in contract:
            if target in contract_to_file:
                raise FileError(
                    f"column '{target}' appears more than once "
                    f"('{contract_to_file[target]}' and '{col}')"
                )
            contract_to_file[target] = col
        else:
            name = target or "unnamed"
            if name in lineage or name.startswith("__"):
                name = "extra" + name
            if name in seen_extra:
                raise FileError(
                    f"column '{name}' appears more than once ('{seen_extra[name]}' and '{col}')"
                )
            seen_extra[name] = col
            extras.append((name, col))
    missing = [c for c in source.required_columns if c not in contract_to_file]
    if missing:
        found = ", ".join(reader.columns)
        if len(missing) == 1:
            what = f"required column '{missing[0]}' is missing"
        else:
            what = "required columns " + ", ".join(f"'{m}'" for m in missing) + " are missing"
        hint = config_label or "the ingest config (HEALTHMART_INGEST_CONFIG)"
        it = "it" if len(missing) == 1 else "them"
        raise FileError(
            f"{what} (found columns: {found}); if the export names {it} differently, map {it} "
            f"in {hint} under sources.{source.name}.columns"
        )
    if reader.kind == "parquet":
        for name, fcol in contract_to_file.items():
            col = source.column(name)
            file_type = reader.types.get(fcol, "VARCHAR")
            if not _parquet_type_fits(col, file_type):
                label = _type_label(col).split(" (")[0].removeprefix("a ").removeprefix("an ")
                raise FileError(
                    f"column '{fcol}' has Parquet type {file_type}, which cannot hold "
                    f"{name} values ({label} or text expected)"
                )
    return _Plan(source, reader, contract_to_file, extras)


@dataclass(frozen=True)
class _Checked:
    sql: str  # columns: __row, __s<i>, __o<i>, __x<i>, typed contract columns, __rule
    detail: str  # SQL expression over those columns (evaluate on quarantined rows only)
    record: str  # idem: the original row as JSON text


def _checked_sql(plan: _Plan, relation: str, row_map: str | None) -> _Checked:
    """The file as typed rows with the first failing rule (NULL = the row is good).

    Text and typed values are computed in projections *below* a streaming window, which the
    optimizer does not push filters through: each value is computed once per row, and the
    `WHERE __rule ...` of the callers only evaluates the rule over those columns. (Without the
    barrier DuckDB inlines every expression into the filter and recomputes them many times.) The
    window also numbers the rows in file order (preserve_insertion_order is on) for CSV / NDJSON;
    Parquet uses its own file_row_number. `row_map` = temp table shifting CSV row numbers past
    malformed lines (see _load_file).
    """
    src = plan.source
    text_cols = []
    for i, col in enumerate(src.columns):
        fcol = plan.contract_to_file.get(col.name)
        expr = _text_expr(f"f.{_qi(fcol)}") if fcol is not None else "CAST(NULL AS VARCHAR)"
        text_cols.append(f"{expr} AS __s{i}")
    for i, (_, fcol) in enumerate(plan.extras):
        text_cols.append(f"{_text_expr(f'f.{_qi(fcol)}')} AS __x{i}")
    orig_cols = [f"f.{_qi(c)} AS __o{i}" for i, c in enumerate(plan.reader.columns)]

    typed_cols = [
        f"{_typed_expr(col, f'__s{i}')} AS {_qi(col.name)}" for i, col in enumerate(src.columns)
    ]

    # Ordered checks: (condition, rule, detail SQL)
    checks: list[tuple[str, str, str]] = []
    for i, col in enumerate(src.columns):
        if col.required:
            checks.append(
                (f"__s{i} IS NULL", f"required_missing:{col.name}", _ql(f"{col.name} is empty"))
            )
    for i, col in enumerate(src.columns):
        v = _qi(col.name)
        checks.append(
            (
                f"__s{i} IS NOT NULL AND {v} IS NULL",
                f"invalid_type:{col.name}",
                f"{_ql(col.name + '=')} || '''' || left(__s{i}, 200) || '''' || "
                f"{_ql(' is not ' + _type_label(col))}",
            )
        )
    for i, col in enumerate(src.columns):
        if col.accepted:
            v = _qi(col.name)
            values = ", ".join(_ql(a) for a in col.accepted)
            checks.append(
                (
                    f"{v} NOT IN ({values})",
                    f"not_accepted:{col.name}",
                    f"{_ql(col.name + '=')} || '''' || left(__s{i}, 200) || '''' || "
                    f"{_ql(' is not one of: ' + ', '.join(col.accepted))}",
                )
            )
    for i, col in enumerate(src.columns):
        v = _qi(col.name)
        if col.min_value is not None:
            checks.append(
                (
                    f"{v} < {_num(col.min_value)}",
                    f"below_min:{col.name}",
                    f"{_ql(col.name + '=')} || __s{i} || "
                    f"{_ql(' is below the minimum ' + _num(col.min_value))}",
                )
            )
        if col.max_value is not None:
            checks.append(
                (
                    f"{v} > {_num(col.max_value)}",
                    f"above_max:{col.name}",
                    f"{_ql(col.name + '=')} || __s{i} || "
                    f"{_ql(' is above the maximum ' + _num(col.max_value))}",
                )
            )
    for name, predicate in src.row_rules:
        checks.append(
            (f"COALESCE(({predicate}), false)", name, _ql(f"row rule {name}: {predicate}"))
        )

    if checks:
        rule = "CASE " + " ".join(f"WHEN {c} THEN {_ql(r)}" for c, r, _ in checks) + " END"
        detail = "CASE " + " ".join(f"WHEN {c} THEN {d}" for c, _, d in checks) + " END"
    else:
        rule = detail = "CAST(NULL AS VARCHAR)"
    record_args = ", ".join(f"{_ql(c)}, __o{i}" for i, c in enumerate(plan.reader.columns))
    record = f"CAST(json_object({record_args}) AS VARCHAR)" if record_args else "'{}'"

    file_rn = ["f.__file_rn AS __frn"] if plan.reader.has_file_row_number else []
    if plan.reader.has_file_row_number:
        row_sql, row_join = "b.__frn", ""
    elif row_map:
        row_sql = "b.__rn + COALESCE(m.k, 0)"
        row_join = f"ASOF LEFT JOIN {row_map} m ON b.__rn > m.g"
    else:
        row_sql, row_join = "b.__rn", ""
    sql = f"""
        WITH f AS ({relation}),
        t AS (SELECT {", ".join(file_rn + text_cols + orig_cols)} FROM f),
        typed AS (SELECT *, {", ".join(typed_cols)} FROM t),
        b AS (SELECT *, row_number() OVER () AS __rn FROM typed),
        c AS (SELECT b.*, {row_sql} AS __row FROM b {row_join})
        SELECT *, {rule} AS __rule FROM c
    """
    return _Checked(sql, detail, record)


# --------------------------------------------------------------------------------------------
# Loading one file (inside a transaction)
# --------------------------------------------------------------------------------------------


@dataclass
class _FileInfo:
    path: Path
    rel: str
    file_hash: str
    size: int
    mtime: datetime


def _load_file(
    con: duckdb.DuckDBPyConnection,
    plan: _Plan,
    info: _FileInfo,
    load_id: str,
    loaded_at: datetime,
    rejects: list | None,
    tmp_suffix: str,
) -> tuple[int, int, int]:
    """Delete the file's old rows and load it. Returns (rows_read, rows_loaded, rows_quarantined).

    `rejects` = malformed CSV lines found by a previous attempt ([(line, error_type, csv_line,
    message)]), or None when not known yet: then the first scan records them and, if there are
    any, raises _Retry so the file is read again with correct row numbers.
    """
    src = plan.source
    raw = f"raw.{_qi(src.name)}"
    file_lit = _ql(info.rel)
    con.execute(f"DELETE FROM {raw} WHERE _source_file = ?", [info.rel])
    con.execute(
        "DELETE FROM ingest_meta.quarantine WHERE source = ? AND file = ?", [src.name, info.rel]
    )

    reader = plan.reader
    rej_table = f"__hm_rejects_{tmp_suffix}"
    map_table = f"__hm_rowmap_{tmp_suffix}"
    if reader.kind == "csv":
        first_errors = (
            f"store_rejects=true, rejects_table={_ql(rej_table)}, "
            f"rejects_scan={_ql('__hm_scan_' + tmp_suffix)}"
            if rejects is None
            else "ignore_errors=true"
        )
        other_errors = "ignore_errors=true"
    else:
        first_errors = other_errors = ""

    row_map = None
    if rejects:
        # Valid rows are numbered 1..n by the scan; shift them past the malformed lines.
        # g_j = (data row of j-th reject) - j = valid rows before it; a valid row numbered rn
        # comes after every reject with g_j < rn.
        lines = sorted({int(r[0]) - 1 for r in rejects})
        con.execute(f"CREATE OR REPLACE TEMP TABLE {map_table} (g BIGINT, k BIGINT)")
        pairs = {}
        for j, row in enumerate(lines, start=1):
            pairs[row - j] = j
        con.executemany(f"INSERT INTO {map_table} VALUES (?, ?)", list(pairs.items()))
        row_map = map_table

    contract_cols = [c.name for c in src.columns]
    extra_names = [n for n, _ in plan.extras]
    insert_cols = ", ".join(
        _qi(n) for n in contract_cols + extra_names + [n for n, _ in LINEAGE_COLUMNS]
    )
    select_cols = ", ".join(
        [_qi(n) for n in contract_cols]
        + [f"__x{i}" for i in range(len(extra_names))]
        + [
            file_lit,
            "__row",
            _ql(info.file_hash),
            f"TIMESTAMP {_ql(info.mtime.isoformat(sep=' '))}",
            f"TIMESTAMP {_ql(loaded_at.isoformat(sep=' '))}",
        ]
    )

    def checked(errors: str) -> _Checked:
        return _checked_sql(plan, reader.relation(errors), row_map)

    loaded = con.execute(
        f"INSERT INTO {raw} ({insert_cols}) SELECT {select_cols} "
        f"FROM ({checked(first_errors).sql}) WHERE __rule IS NULL"
    ).fetchone()[0]

    if rejects is None and reader.kind == "csv":
        found = con.execute(
            f"SELECT line, error_type, csv_line, error_message FROM {rej_table} ORDER BY line"
        ).fetchall()
        if found:
            if any(r[1] == "INVALID ENCODING" for r in found):
                raise _Retry(encoding="invalid-encoding", rejects=found)
            raise _Retry(rejects=found)
        rejects = []

    q_cols = "source, file, row_number, rule, detail, record, quarantined_at, load_id"
    q_const = f"{_ql(src.name)}, {file_lit}"
    q_tail = f"TIMESTAMP {_ql(loaded_at.isoformat(sep=' '))}, {_ql(load_id)}"
    chk = checked(other_errors)
    quarantined = con.execute(
        f"INSERT INTO ingest_meta.quarantine ({q_cols}) "
        f"SELECT {q_const}, __row, __rule, {chk.detail}, {chk.record}, {q_tail} "
        f"FROM ({chk.sql}) WHERE __rule IS NOT NULL"
    ).fetchone()[0]

    malformed = 0
    if rejects:
        by_line: dict[int, tuple] = {}
        for line, etype, csv_line, message in rejects:
            by_line.setdefault(int(line), (etype, csv_line, message))
        rows = [
            (
                src.name,
                info.rel,
                line - 1,
                MALFORMED_RULE,
                f"{etype}: {message}",
                f'{{"_line": {_json_str(csv_line)}}}',
                loaded_at,
                load_id,
            )
            for line, (etype, csv_line, message) in sorted(by_line.items())
        ]
        con.executemany(
            f"INSERT INTO ingest_meta.quarantine ({q_cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
        malformed = len(rows)

    dups = _quarantine_duplicates(con, plan, info, chk, q_cols, q_const, q_tail, tmp_suffix)
    loaded -= dups
    quarantined += dups + malformed
    rows_read = loaded + quarantined
    return rows_read, loaded, quarantined


def _json_str(value: str | None) -> str:
    return json.dumps(value if value is not None else "")


def _quarantine_duplicates(
    con: duckdb.DuckDBPyConnection,
    plan: _Plan,
    info: _FileInfo,
    chk: _Checked,
    q_cols: str,
    q_const: str,
    q_tail: str,
    tmp_suffix: str,
) -> int:
    """Within-file duplicate keys: keep the last row, move the earlier ones to quarantine."""
    src = plan.source
    raw = f"raw.{_qi(src.name)}"
    keys = [_qi(k) for k in src.key]
    key_list = ", ".join(keys)
    file_lit = _ql(info.rel)
    # Cheap first pass on a 64-bit hash of the key, exact pass only on candidate hashes.
    dup_table = f"__hm_dups_{tmp_suffix}"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {dup_table} AS
        WITH cand AS (
            SELECT hash({key_list}) AS h FROM {raw} WHERE _source_file = {file_lit}
            GROUP BY h HAVING count(*) > 1
        ),
        rows AS (
            SELECT {key_list}, _source_row FROM {raw}
            WHERE _source_file = {file_lit} AND hash({key_list}) IN (SELECT h FROM cand)
        ),
        keep AS (
            SELECT {key_list}, max(_source_row) AS keep_row FROM rows
            GROUP BY ALL HAVING count(*) > 1
        )
        SELECT r._source_row AS __row, k.keep_row
        FROM rows r JOIN keep k ON {" AND ".join(f"r.{k} IS NOT DISTINCT FROM k.{k}" for k in keys)}
        WHERE r._source_row < k.keep_row
        """
    )
    n = con.execute(f"SELECT count(*) FROM {dup_table}").fetchone()[0]
    if n:
        key_desc = " || ', ' || ".join(
            f"{_ql(k + '=')} || COALESCE(CAST(c.{_qi(k)} AS VARCHAR), 'NULL')" for k in src.key
        )
        detail = (
            f"'duplicate key (' || {key_desc} || ') in this file; the last row (' || "
            f"d.keep_row || ') wins'"
        )
        con.execute(
            f"INSERT INTO ingest_meta.quarantine ({q_cols}) "
            f"SELECT {q_const}, c.__row, {_ql(DUPLICATE_RULE)}, {detail}, {chk.record}, {q_tail} "
            f"FROM ({chk.sql}) c JOIN {dup_table} d ON c.__row = d.__row"
        )
        con.execute(
            f"DELETE FROM {raw} WHERE _source_file = {file_lit} "
            f"AND _source_row IN (SELECT __row FROM {dup_table})"
        )
    con.execute(f"DROP TABLE IF EXISTS {dup_table}")
    return n


# --------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _log(
    con: duckdb.DuckDBPyConnection,
    load_id: str,
    source: str,
    info: _FileInfo | None,
    rel: str,
    status: str,
    counts: tuple[int, int, int],
    error: str | None,
    encoding: str | None,
    started_at: datetime,
    file_hash: str | None = None,
    file_size: int | None = None,
    config_hash: str | None = None,
    added: tuple[date, date] | None = None,
    removed: tuple[date, date] | None = None,
) -> None:
    con.execute(
        "INSERT INTO ingest_meta.load_log (load_id, source, file, file_hash, file_size, status, "
        "rows_read, rows_loaded, rows_quarantined, error, started_at, finished_at, encoding, "
        "config_hash, added_from, added_to, removed_from, removed_to) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            source,
            rel,
            info.file_hash if info else file_hash,
            info.size if info else file_size,
            status,
            *counts,
            error,
            started_at,
            _now(),
            encoding,
            config_hash,
            *(added or (None, None)),
            *(removed or (None, None)),
        ],
    )


def _date_range(
    con: duckdb.DuckDBPyConnection, relation: str, time_column: str
) -> tuple[date, date] | None:
    lo, hi = con.execute(
        f"SELECT min(CAST({_qi(time_column)} AS DATE)), max(CAST({_qi(time_column)} AS DATE)) "
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
    cols = ", ".join(_qi(c) for c in src.column_names)
    new = f"SELECT {cols} FROM raw.{_qi(src.name)} WHERE _source_file = {_ql(rel)}"
    if old_table is None:
        return _date_range(con, new, src.time_column), None
    old = f"SELECT {cols} FROM {old_table}"
    added = _date_range(con, f"{new} EXCEPT ALL {old}", src.time_column)
    removed = _date_range(con, f"{old} EXCEPT ALL {new}", src.time_column)
    return added, removed


_UNITS = {
    "b": 1, "bytes": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}  # fmt: skip


def _parse_size(text: str) -> float | None:
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", str(text))
    if not m:
        return None
    unit = (m.group(2) or "b").lower()
    return float(m.group(1)) * _UNITS[unit] if unit in _UNITS else None


def _default_memory_limit() -> str:
    with duckdb.connect(":memory:") as fresh:
        return str(fresh.execute("SELECT current_setting('memory_limit')").fetchone()[0])


class _Settings:
    """Settings the ingest relies on, restored afterwards.

    TimeZone=UTC (timestamps without a zone are UTC), preserve_insertion_order=true (row
    numbers follow the file), no progress bar, and DuckDB's default memory_limit (80% of RAM)
    lowered to `memory_limit`, so the large aggregates (duplicate keys) spill to disk instead of
    growing.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, memory_limit: str | None):
        self.con = con
        self.saved: dict[str, str] = {}
        self.wanted = {
            "TimeZone": "UTC",
            "preserve_insertion_order": "true",
            "enable_progress_bar": "false",
        }
        if memory_limit:
            self.wanted["memory_limit"] = memory_limit

    def _get(self, name: str) -> str:
        return str(self.con.execute(f"SELECT current_setting('{name}')").fetchone()[0])

    def __enter__(self):
        for name, value in self.wanted.items():
            try:
                current = self._get(name)
                if name == "memory_limit":
                    # Only lower DuckDB's default limit (80% of RAM), and RESET it afterwards; a
                    # limit the caller set is theirs to keep. (The setting reads back rounded,
                    # so a SET of the read-back value would not restore it exactly.)
                    if current != _default_memory_limit():
                        continue
                    cur, new = _parse_size(current), _parse_size(value)
                    if cur is not None and new is not None and cur <= new:
                        continue
                    current = ""
                self.con.execute(f"SET {name} = {_ql(value)}")
                self.saved[name] = current
            except duckdb.Error:
                pass
        return self

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            with contextlib.suppress(duckdb.Error):
                if value == "":
                    self.con.execute(f"RESET {name}")
                else:
                    self.con.execute(f"SET {name} = {_ql(value)}")
        return False


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
) -> FileResult:
    started = _now()
    rel = path.relative_to(exports_dir).as_posix()
    config_hash = config.fingerprint()
    encoding = config.encoding
    try:
        stat = path.stat()
        info = _FileInfo(
            path=path,
            rel=rel,
            file_hash=_sha256(path),
            size=stat.st_size,
            mtime=datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None),
        )
    except OSError as exc:
        msg = f"{rel}: cannot be read: {_first_line(exc)}"
        _log(con, load_id, source.name, None, rel, ERROR, (0, 0, 0), msg, None, started)
        return FileResult(source.name, rel, ERROR, 0, 0, 0, msg)

    if skip_unchanged and known.get(rel) == (info.file_hash, config_hash):
        _log(
            con, load_id, source.name, info, rel, SKIPPED, (0, 0, 0), None, None, started,
            config_hash=config_hash,
        )  # fmt: skip
        return FileResult(source.name, rel, SKIPPED, 0, 0, 0, None)

    kind = _kind(path)
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
                reader = _open_reader(
                    con, kind, path, enc, encoding is None, tmpdir, config.delimiter
                )
            except _Retry as retry:
                enc = retry.encoding
                continue
            plan = _plan(source, reader, config.columns, config_label)
            used_encoding = reader.encoding if kind == "csv" else None
            ensure_raw_table(con, source, [n for n, _ in plan.extras])
            loaded_at = _now()
            con.execute("BEGIN TRANSACTION")
            try:
                old_table = None
                if rel in known and source.time_column is not None:
                    # The file's rows before this load, to tell which dates the load changes.
                    old_table = f"__hm_old_{suffix}"
                    cols = ", ".join(_qi(c) for c in source.column_names)
                    con.execute(
                        f"CREATE OR REPLACE TEMP TABLE {old_table} AS SELECT {cols} "
                        f"FROM raw.{_qi(source.name)} WHERE _source_file = ?",
                        [rel],
                    )
                counts = _load_file(con, plan, info, load_id, loaded_at, rejects, suffix)
                if counts[0] == 0:
                    raise FileError(
                        "has a header line but no data rows (nothing loaded)"
                        if kind == "csv"
                        else "has no rows (nothing loaded)"
                    )
                added, removed = _changed_ranges(con, source, rel, old_table)
                con.execute(
                    "DELETE FROM ingest_meta.files WHERE source = ? AND file = ?",
                    [source.name, rel],
                )
                con.execute(
                    "INSERT INTO ingest_meta.files (source, file, file_hash, loaded_at, "
                    "rows_loaded, rows_quarantined, file_size, file_modified_at, encoding, "
                    "load_id, config_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        source.name,
                        rel,
                        info.file_hash,
                        loaded_at,
                        counts[1],
                        counts[2],
                        info.size,
                        info.mtime,
                        used_encoding,
                        load_id,
                        config_hash,
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
                )
                con.execute("COMMIT")
            except _Retry as retry:
                _rollback(con)
                if retry.encoding == "invalid-encoding":
                    if encoding is not None or enc not in (None, "utf-8"):
                        # The user's (or the fallback) encoding still has undecodable bytes:
                        # keep those lines as malformed rows.
                        rejects = retry.rejects
                    else:
                        enc = _fallback_encoding(path)
                        rejects = None
                else:
                    rejects = retry.rejects
                continue
            except BaseException:
                _rollback(con)
                raise
            return FileResult(
                source.name, rel, LOADED, *counts, None, used_encoding, added, removed
            )
        raise FileError("could not be read consistently (gave up after several attempts)")
    except Exception as exc:  # one bad file never stops the others
        if isinstance(exc, FileError):
            problem = str(exc)
        elif isinstance(exc, _NOT_A_READ_ERROR) or not isinstance(exc, _READ_ERRORS):
            # A query that could not even be planned: not the file's fault, but keep going.
            problem = (
                f"could not be loaded (ingest error): {type(exc).__name__}: {_first_line(exc)}"
            )
        elif kind == "csv":
            problem = f"cannot be read as CSV: {_first_line(exc)}"
        elif kind == "parquet":
            problem = f"cannot be read as Parquet: {_first_line(exc)}"
        else:
            problem = str(_ndjson_error(path, exc))
        msg = f"{rel}: {problem}".replace(str(path), rel)
        _log(
            con, load_id, source.name, info, rel, ERROR, (0, 0, 0), msg, used_encoding, started,
            config_hash=config_hash,
        )  # fmt: skip
        return FileResult(source.name, rel, ERROR, 0, 0, 0, msg, used_encoding)
    finally:
        for suffix in suffixes:
            for t in ("__hm_rejects_", "__hm_scan_", "__hm_rowmap_", "__hm_dups_", "__hm_old_"):
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
    force: reload every file even if unchanged. A file is also reloaded when the source's
    config (mapping, encoding, delimiter) differs from the one it was loaded with.
    memory_limit: if the connection has DuckDB's default memory_limit (80% of RAM), use this one
    during the ingest (reset afterwards) so big files spill to the temp directory instead of
    growing; a limit the caller set is kept. None = never touch it.

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
        src_config = SourceConfig(
            columns=given.columns if column_mapping is not None else src_config.columns,
            encoding=given.encoding if encoding is not None else src_config.encoding,
            delimiter=given.delimiter if delimiter is not None else src_config.delimiter,
        )
    exports_dir = Path(exports_dir).resolve()
    load_id = load_id or uuid.uuid4().hex
    default_hash = SourceConfig().fingerprint()

    ensure_meta_tables(con)
    ensure_raw_table(con, src)
    results: list[FileResult] = []
    with _Settings(con, memory_limit):
        known = {
            file: (file_hash, config_hash or default_hash)
            for file, file_hash, config_hash in con.execute(
                "SELECT file, file_hash, config_hash FROM ingest_meta.files WHERE source = ?",
                [source],
            ).fetchall()
        }
        paths = list_export_files(exports_dir, source)
        for path in paths:
            results.append(
                _ingest_one_file(
                    con,
                    src,
                    path,
                    exports_dir,
                    src_config,
                    load_id,
                    known,
                    not force,
                    config.label,
                )  # fmt: skip
            )
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
                f"SELECT {_qi(src.time_column)} FROM raw.{_qi(src.name)} "
                f"WHERE _source_file = {_ql(rel)}",
                src.time_column,
            )
        con.execute(f"DELETE FROM raw.{_qi(src.name)} WHERE _source_file = ?", [rel])
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
) -> dict[str, SourceResult]:
    """Ingest every source of the contract (or the given ones); one load_id for the whole call."""
    load_id = load_id or uuid.uuid4().hex
    names = list(sources) if sources is not None else list(SOURCES)
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
        )
        for name in names
    }


__all__ = [
    "FileResult",
    "IngestConfig",
    "IngestConfigError",
    "SourceConfig",
    "SourceResult",
    "ensure_meta_tables",
    "ensure_raw_table",
    "ingest_all",
    "ingest_source",
    "list_export_files",
    "load_ingest_config",
]
