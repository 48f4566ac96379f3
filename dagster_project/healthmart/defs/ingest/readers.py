"""Reading one export file with DuckDB (CSV, Parquet, JSON), and what to do when it cannot be
read."""

from __future__ import annotations

import codecs
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from healthmart.defs.ingest.files import guess_delimiter, has_c1_bytes, read_head, transcode_to_utf8
from healthmart.defs.ingest.results import FileError, Retry
from healthmart.defs.ingest.sql import first_line, norm, qi, ql


@dataclass
class Reader:
    """How to read one file: SQL producing `__rn` (1-based row number) + all columns as text."""

    kind: str
    path: Path  # the path DuckDB reads (may be a transcoded temp file)
    columns: list[str]  # column names as in the file
    encoding: str | None = None  # CSV: the file's encoding (what the load log records)
    delimiter: str = ","
    duckdb_encoding: str = "utf-8"  # CSV: what read_csv is told (after any transcoding)
    types: dict[str, str] = field(default_factory=dict)  # Parquet: column -> DuckDB type
    skip: int = 0  # CSV: lines before the header
    records: str | None = None  # JSON: path to the records inside each document (a preset's)
    json_columns: frozenset[str] = frozenset()  # JSON: columns read as JSON text (nested values)

    def _csv_call(self, errors: str) -> str:
        opts = [
            "all_varchar=true",
            "header=true",
            f"delim={ql(self.delimiter)}",
            "quote='\"'",
            "escape='\"'",
            "compression='auto'",
        ]
        if self.duckdb_encoding != "utf-8":
            opts.append(f"encoding={ql(self.duckdb_encoding)}")
        if self.skip:
            opts.append(f"skip={self.skip}")
        if errors:
            opts.append(errors)
        return f"read_csv({ql(str(self.path))}, {', '.join(opts)})"

    def relation(self, errors: str = "") -> str:
        """All columns as text; Parquet adds `__file_rn` (1-based, from the file itself)."""
        cols = ", ".join(f"CAST({qi(c)} AS VARCHAR) AS {qi(c)}" for c in self.columns)
        if self.kind == "csv":
            return f"SELECT {cols} FROM {self._csv_call(errors)}"
        if self.kind == "parquet":
            if "file_row_number" in (c.lower() for c in self.columns):
                return f"SELECT {cols} FROM read_parquet({ql(str(self.path))})"
            return (
                f"SELECT file_row_number + 1 AS __file_rn, {cols} "
                f"FROM read_parquet({ql(str(self.path))}, file_row_number=true)"
            )
        if self.records is not None:
            cols = ", ".join(
                f"CAST(json_extract{'' if norm(c) in self.json_columns else '_string'}"
                f"(__rec, {ql(_key_path(c))}) AS VARCHAR) AS {qi(c)}"
                for c in self.columns
            )
            return f"SELECT {cols} FROM ({records_sql(self.path, self.records)})"
        # json
        spec = ", ".join(
            f"{ql(c)}: '{'JSON' if norm(c) in self.json_columns else 'VARCHAR'}'"
            for c in self.columns
        )
        return (
            f"SELECT {cols} FROM read_json({ql(str(self.path))}, "
            f"format='newline_delimited', columns={{{spec}}})"
        )

    @property
    def has_file_row_number(self) -> bool:
        return self.kind == "parquet" and "file_row_number" not in (c.lower() for c in self.columns)


def _key_path(key: str) -> str:
    return '$."' + key.replace('"', '\\"') + '"'


def records_sql(path: Path, records: str) -> str:
    """One row (`__rec`, JSON) per record: each document itself, or the records under a path
    of it (Stripe's list object: 'data'; Chargebee's: 'list[*].invoice')."""
    docs = f"read_json_objects({ql(str(path))}, format='auto')"
    if not records:
        return f"SELECT json AS __rec FROM {docs}"
    path_sql = "$." + (records if "[*]" in records else records + "[*]")
    return f"SELECT unnest(json_extract(json, {ql(path_sql)})) AS __rec FROM {docs}"


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


def ndjson_error(path: Path, exc: BaseException) -> FileError:
    where = _first_bad_json_line(path)
    return FileError(f"cannot be read as NDJSON: {where or first_line(exc)}")


def open_reader(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    path: Path,
    encoding: str | None,
    auto_encoding: bool,
    tmpdir: str,
    delimiter: str | None = None,
    *,
    skip: int = 0,
    records: str | None = None,
    json_columns: frozenset[str] = frozenset(),
    only_columns: list[str] | None = None,
) -> Reader:
    """Check the file is readable at all and find its columns (cheap: header / metadata).

    encoding: the CSV encoding to try (None = UTF-8); auto_encoding: the user did not set one, so
    a file that is not UTF-8 may be retried as cp1252 / latin-1 (raises Retry).
    A preset's reading rules: skip (CSV lines before the header), records (JSON: where the
    records are), json_columns (JSON: read as JSON text), only_columns (JSON: read these, absent
    ones as empty, without scanning the file for its keys: event files aggregate them).
    """
    if path.stat().st_size == 0:
        raise FileError("file is empty (0 bytes)")
    if kind == "parquet":
        try:
            described = con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({ql(str(path))})"
            ).fetchall()
        except duckdb.Error as exc:
            raise FileError(f"cannot be read as Parquet: {first_line(exc)}") from exc
        cols = [r[0] for r in described]
        return Reader("parquet", path, cols, types={r[0]: str(r[1]) for r in described})
    if kind == "json":
        head = read_head(path)
        if b"\x00" in head:
            raise FileError("cannot be read as NDJSON: the file contains binary data")
        if only_columns is not None:
            return Reader("json", path, list(only_columns), records=records,
                          json_columns=json_columns)  # fmt: skip
        if records is not None:
            objects, rec = f"({records_sql(path, records)})", "__rec"
        else:
            objects, rec = f"read_ndjson_objects({ql(str(path))})", "json"
        try:
            rows = con.execute(
                f"SELECT k FROM (SELECT unnest(json_keys({rec})) AS k, "
                f"unnest(range(len(json_keys({rec})))) AS i "
                f"FROM {objects}) GROUP BY k ORDER BY min(i), k"
            ).fetchall()
        except duckdb.Error as exc:
            if records is not None:
                raise FileError(f"cannot be read as JSON: {first_line(exc)}") from exc
            raise ndjson_error(path, exc) from exc
        if not rows:
            if records is not None:
                raise FileError(f"has no JSON records under '{records or '(the top level)'}'")
            where = _first_bad_json_line(path) or "no JSON objects found"
            raise FileError(f"cannot be read as NDJSON: {where}")
        return Reader("json", path, [r[0] for r in rows], records=records,
                      json_columns=json_columns)  # fmt: skip
    # CSV
    head = read_head(path)
    if not head:
        raise FileError("file is empty (no header line)")
    utf16 = _utf16_from_head(head)
    if utf16 and (encoding is None or encoding.startswith("utf-16")):
        encoding = encoding or utf16
    elif b"\x00" in head:
        raise FileError("cannot be read as CSV: the file contains binary data")
    if auto_encoding and encoding is None and not _looks_utf8(head):
        raise Retry(encoding=fallback_encoding(path))
    enc = encoding or "utf-8"
    reader = Reader(
        "csv", path, [], encoding=enc, delimiter=delimiter or guess_delimiter(_line(head, skip)),
        skip=skip,
    )  # fmt: skip
    if enc not in ("utf-8", "latin-1"):
        # DuckDB reads only these: re-encode other encodings (e.g. cp1252) to a UTF-8 temp file.
        try:
            reader.path = transcode_to_utf8(path, enc, tmpdir)
        except UnicodeDecodeError as exc:
            if auto_encoding and enc == "cp1252":
                raise Retry(encoding="latin-1") from exc
            raise FileError(f"cannot be decoded as {enc}: {first_line(exc)}") from exc
        except (OSError, EOFError, zlib.error) as exc:
            raise FileError(f"cannot be read as CSV: {first_line(exc)}") from exc
        reader.duckdb_encoding = "utf-8"
        if delimiter is None:
            reader.delimiter = guess_delimiter(_line(read_head(reader.path), skip))
    else:
        reader.duckdb_encoding = enc
    try:
        reader.columns = _describe(con, f"SELECT * FROM {reader._csv_call('ignore_errors=true')}")
    except duckdb.Error as exc:
        if auto_encoding and enc == "utf-8" and "unicode" in str(exc).lower():
            raise Retry(encoding=fallback_encoding(path)) from exc
        raise FileError(f"cannot be read as CSV: {first_line(exc)}") from exc
    return reader


def _line(head: bytes, n: int) -> bytes:
    """Line n (0-based) of the head of a file: the header line after n title lines."""
    lines = head.split(b"\n", n + 1)
    return lines[n] if len(lines) > n else b""


def _looks_utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is fine.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def fallback_encoding(path: Path) -> str:
    return "cp1252" if has_c1_bytes(path) else "latin-1"
