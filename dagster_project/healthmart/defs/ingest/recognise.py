"""Which format preset reads a file: the one its source's ingest config names, else the one
preset whose columns the file's header has (none or several: the file is read as the contract).
Only the header is read (a CSV's header line, the keys of the first JSON objects)."""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass

import duckdb

from healthmart.core.contract import SOURCES
from healthmart.defs.ingest.config import SourceConfig
from healthmart.defs.ingest.files import guess_delimiter, read_head
from healthmart.defs.ingest.preset import Preset, PresetCatalog
from healthmart.defs.ingest.preset_sql import resolve
from healthmart.defs.ingest.readers import records_sql
from healthmart.defs.ingest.results import FileError
from healthmart.defs.ingest.sql import norm

_JSON_SAMPLE_LINES = 200


@dataclass(frozen=True)
class Recognition:
    preset: Preset | None  # the preset to read the file with (None: the contract's columns)
    matches: tuple[str, ...] = ()  # presets whose columns the header has
    named: bool = False  # named in the ingest config (not recognised)

    @property
    def how(self) -> str:
        if self.preset is None:
            if len(self.matches) > 1:
                return f"several presets match ({', '.join(self.matches)}): none used"
            return "no preset matches: read as the contract's columns"
        return "named in the ingest config" if self.named else "recognised from the header"


def _decode(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="ignore")
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return head.decode(enc)
        except UnicodeDecodeError:
            continue
    return head.decode("latin-1")


def csv_header(head: bytes, skip: int = 0, delimiter: str | None = None) -> list[str]:
    """The header line after `skip` title lines, split like a CSV row."""
    lines = _decode(head).splitlines()
    if len(lines) <= skip:
        return []
    line = lines[skip]
    delim = delimiter or guess_delimiter(line.encode())
    row = next(csv.reader(io.StringIO(line), delimiter=delim), [])
    return [c.strip() for c in row]


def json_keys(con: duckdb.DuckDBPyConnection, path, head: bytes, records: str | None) -> list[str]:
    """Keys of the first objects (NDJSON) or records (under `records`), and the keys one level
    inside them as 'parent.key' (so a preset can be told by a nested key)."""
    objects: list = []
    if records is not None:
        try:
            rows = con.execute(
                f"SELECT __rec FROM ({records_sql(path, records)}) LIMIT {_JSON_SAMPLE_LINES}"
            ).fetchall()
        except duckdb.Error:
            return []
        objects = [json.loads(r[0]) for r in rows]
    else:
        for line in _decode(head).splitlines()[:_JSON_SAMPLE_LINES]:
            try:
                objects.append(json.loads(line))
            except ValueError:
                continue
    keys: dict[str, None] = {}
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        for key, value in obj.items():
            keys[key] = None
            if isinstance(value, dict):
                keys.update(dict.fromkeys(f"{key}.{sub}" for sub in value))
    return list(keys)


def header_matches(preset: Preset, columns: list[str]) -> bool:
    """Whether the header has every column of the preset's signature; a dotted name (a key
    inside a JSON object) must be among the nested keys sampled."""
    normed = {norm(c) for c in columns}

    def has(name: str) -> bool:
        if "." in name and "{" not in name:
            return norm(name) in normed
        return resolve(name, columns) is not None

    return bool(columns) and all(has(name) for name in preset.signature)


def recognise(
    con: duckdb.DuckDBPyConnection,
    path,
    kind: str | None,
    source: str,
    config: SourceConfig,
    catalog: PresetCatalog,
    config_label: str = "the ingest config",
) -> Recognition:
    if config.preset is not None:
        preset = catalog.get(config.preset)
        if preset is None or preset.source.name != source:
            known = ", ".join(p.name for p in catalog.for_source(source)) or "none"
            why = "is not a known preset" if preset is None else f"feeds {preset.source.name}"
            raise FileError(
                f"preset '{config.preset}' named in {config_label} under sources.{source}.preset "
                f"{why} (presets of {source}: {known})"
            )
        return Recognition(preset, (preset.name,), named=True)
    candidates = [p for p in catalog.for_source(source) if p.format == kind]
    if not candidates:
        return Recognition(None)
    try:
        head = read_head(path)
    except FileError:
        return Recognition(None)  # the reader reports what is wrong with the file
    headers: dict[tuple, list[str]] = {}

    def header(skip: int, records: str | None) -> list[str]:
        if (skip, records) not in headers:
            if kind == "csv":
                headers[skip, records] = csv_header(head, skip, config.delimiter)
            else:
                headers[skip, records] = json_keys(con, path, head, records)
        return headers[skip, records]

    matches = tuple(p.name for p in candidates if header_matches(p, header(p.skip_rows, p.records)))
    # A file with the contract's own columns is read as the contract.
    names = {config.columns.get(norm(c), norm(c)) for c in header(0, None)}
    if all(c in names for c in SOURCES[source].required_columns):
        return Recognition(None, matches)
    if len(matches) == 1:
        return Recognition(catalog.presets[matches[0]], matches)
    return Recognition(None, matches)
