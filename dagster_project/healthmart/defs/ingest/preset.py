"""Format presets: how a vendor's export maps onto the contract, as data (YAML).

A preset names the source it feeds and, per contract column, where the value comes from in the
export and how it is converted (value words, scales, minor units, unix times, date formats,
time zones); it may also say how to read the file (rows before the header, extra header rows,
rows that are not data, a JSON document whose records sit under a key) and whether its rows are
events to aggregate to usage. The built-in presets live in `presets/` beside this module; a user
folder (HEALTHMART_PRESETS_DIR, default config/presets) holds more in the same form, and one of
the same name replaces the built-in. The keys are documented in presets/README.md.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from healthmart.core.contract import SOURCES, Column, Source
from healthmart.defs.ingest.sql import first_line, norm

BUILTIN_DIR = Path(__file__).parent / "presets"

TOP_KEYS = (
    "name", "source", "title", "documentation", "format", "records", "account_match",
    "recognise", "header", "skip_rows_where", "aggregate", "columns", "keep", "notes",
)  # fmt: skip
HEADER_KEYS = ("skip_rows", "extra_header_rows")
SPEC_KEYS = (
    "from", "value", "values", "scale", "minor_units", "multiply_by", "divide_by", "unix",
    "format", "zone", "upper",
)  # fmt: skip
FORMATS = ("csv", "json")
UNIX_UNITS = {"seconds": 1_000_000, "milliseconds": 1_000}
ZONE_SLOT = "{zone}"


class PresetError(ValueError):
    """A preset file is invalid; the message names the file, the key and the problem."""


@dataclass(frozen=True)
class ColumnSpec:
    """Where one contract column comes from in the export, and how it is converted."""

    target: str
    sources: tuple[str, ...] = ()  # export columns (first non-empty wins); 'a.b' = JSON path
    constant: str | None = None  # a fixed value instead of a column
    values: dict[str, str | None] | None = None  # lower-cased word -> contract value (None: none)
    scale: tuple[float, float, float, float] | None = None  # from_lo, from_hi, to_lo, to_hi
    minor_units: str | None = None  # the export column (or contract column) of the currency
    multiply_by: float | None = None
    divide_by: float | None = None
    unix: str | None = None  # seconds | milliseconds
    formats: tuple[str, ...] = ()  # strptime formats
    zone: str | None = None  # IANA zone of naive times, or ZONE_SLOT: named in the header
    upper: bool = False

    @property
    def converts(self) -> bool:
        """Whether a value can fail to convert (a value the preset cannot map or parse)."""
        return bool(
            self.values is not None
            or self.scale
            or self.minor_units
            or self.multiply_by is not None
            or self.divide_by is not None
            or self.unix
            or self.formats
            or self.zone
        )


@dataclass(frozen=True)
class SkipRule:
    """Rows that are not data (a TOTAL line, a draft, an identify call): dropped, counted."""

    column: str
    values: tuple[str, ...] = ()  # lower-cased
    matches: str | None = None  # a regular expression (case-insensitive)
    missing: bool = False  # also when the column is empty


@dataclass(frozen=True)
class Preset:
    name: str
    source: Source
    path: Path
    title: str
    documentation: tuple[str, ...]
    format: str  # csv | json
    columns: dict[str, ColumnSpec]
    records: str | None = None  # JSON: a path to the records inside one document ('' = the array)
    account_match: str | None = None
    recognise: tuple[str, ...] = ()
    skip_rows: int = 0  # CSV lines before the header (title rows)
    extra_header_rows: int = 0  # CSV rows after the header that are not data
    skip_rows_where: tuple[SkipRule, ...] = ()
    aggregate: bool = False  # rows are events: aggregated to usage (account, day, user, feature)
    keep: dict[str, str] = field(default_factory=dict)  # lower-cased export column -> raw name
    notes: str = ""
    digest: str = ""  # a hash of the file: a changed preset reloads the files read with it

    @property
    def signature(self) -> tuple[str, ...]:
        """Export columns a file must have to be recognised as this preset."""
        if self.recognise:
            return self.recognise
        out = []
        for name in self.source.required_columns:
            spec = self.columns.get(name)
            if spec is not None and spec.sources:
                out.append(spec.sources[0])
        return tuple(out)

    @property
    def read_columns(self) -> tuple[str, ...]:
        """Every export column (or JSON path) the preset reads."""
        out: list[str] = []
        for spec in self.columns.values():
            out += [s for s in spec.sources if s not in out]
            if spec.minor_units and spec.minor_units not in self.columns:
                out.append(spec.minor_units)
        out += [r.column for r in self.skip_rows_where if r.column not in out]
        return tuple(out)


@dataclass(frozen=True)
class PresetCatalog:
    presets: dict[str, Preset] = field(default_factory=dict)
    user_dir: Path | None = None

    def get(self, name: str) -> Preset | None:
        return self.presets.get(name)

    def for_source(self, source: str) -> list[Preset]:
        return [p for p in self.presets.values() if p.source.name == source]

    def names(self) -> str:
        return ", ".join(sorted(self.presets)) or "none"


def _error(path: Path, where: str, problem: str) -> PresetError:
    return PresetError(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _names(path: Path, where: str, value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v.strip() for v in items):
        raise _error(path, where, "expected a column name or a list of column names")
    return tuple(items)


def _number(path: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _error(path, where, f"{value!r} is not a number")
    return float(value)


def _value_map(path: Path, where: str, col: Column, data: Any) -> dict[str, str | None]:
    if not isinstance(data, dict) or not data:
        raise _error(path, where, "expected a mapping of export word -> contract value")
    out: dict[str, str | None] = {}
    for word, value in data.items():
        if isinstance(word, bool) or isinstance(value, bool):
            raise _error(path, where, f"{word!r}: {value!r}: quote yes/no/true/false words")
        key = norm(_text(word))
        if value is not None and col.accepted and norm(_text(value)) not in col.accepted:
            raise _error(
                path,
                where,
                f"'{word}' is mapped to '{value}', which {col.name} does not accept "
                f"({', '.join(col.accepted)})",
            )
        out[key] = None if value is None else _text(value)
    return out


def _column_spec(path: Path, src: Source, target: str, data: Any) -> ColumnSpec:
    where = f"columns.{target}"
    if target not in src.column_names:
        raise _error(
            path, where, f"unknown contract column of {src.name} ({', '.join(src.column_names)})"
        )
    col = src.column(target)
    if isinstance(data, str | list):
        data = {"from": data}
    if not isinstance(data, dict):
        raise _error(path, where, "expected a column name, a list of names or a mapping")
    bad = sorted(str(k) for k in data if k not in SPEC_KEYS)
    if bad:
        raise _error(
            path, where, f"unknown key(s) {', '.join(bad)} (allowed: {', '.join(SPEC_KEYS)})"
        )
    if ("from" in data) == ("value" in data):
        raise _error(path, where, "give either 'from' (export columns) or 'value' (a constant)")
    spec: dict[str, Any] = {"target": target}
    if "from" in data:
        spec["sources"] = _names(path, f"{where}.from", data["from"])
        zoned = [s for s in spec["sources"] if ZONE_SLOT in s]
        if zoned and data.get("zone") != "header":
            raise _error(path, f"{where}.from", f"{ZONE_SLOT} in a name needs zone: header")
    else:
        if data["value"] is None or isinstance(data["value"], dict | list):
            raise _error(path, f"{where}.value", "expected a single value")
        spec["constant"] = _text(data["value"])
    if "values" in data:
        spec["values"] = _value_map(path, f"{where}.values", col, data["values"])
    if "scale" in data:
        scale = data["scale"]
        if not isinstance(scale, dict) or set(scale) != {"from", "to"}:
            raise _error(path, f"{where}.scale", "expected {from: [low, high], to: [low, high]}")
        ends = []
        for part in ("from", "to"):
            pair = scale[part]
            if not isinstance(pair, list) or len(pair) != 2:
                raise _error(path, f"{where}.scale.{part}", "expected [low, high]")
            ends += [_number(path, f"{where}.scale.{part}", v) for v in pair]
        if ends[0] >= ends[1]:
            raise _error(path, f"{where}.scale.from", "low must be below high")
        spec["scale"] = tuple(ends)
    if "minor_units" in data:
        spec["minor_units"] = _names(path, f"{where}.minor_units", data["minor_units"])[0]
    if "multiply_by" in data:
        spec["multiply_by"] = _number(path, f"{where}.multiply_by", data["multiply_by"])
    if "divide_by" in data:
        spec["divide_by"] = _number(path, f"{where}.divide_by", data["divide_by"])
        if spec["divide_by"] == 0:
            raise _error(path, f"{where}.divide_by", "cannot divide by 0")
    if "unix" in data:
        if data["unix"] not in UNIX_UNITS:
            raise _error(path, f"{where}.unix", f"{data['unix']!r} is not seconds or milliseconds")
        spec["unix"] = data["unix"]
    if "format" in data:
        spec["formats"] = _names(path, f"{where}.format", data["format"])
    if "zone" in data:
        if not isinstance(data["zone"], str):
            raise _error(path, f"{where}.zone", "expected a time zone name or 'header'")
        spec["zone"] = ZONE_SLOT if data["zone"] == "header" else data["zone"]
        if spec["zone"] == ZONE_SLOT and not any(ZONE_SLOT in s for s in spec.get("sources", ())):
            raise _error(path, f"{where}.zone", f"zone: header needs {ZONE_SLOT} in a 'from' name")
    if "upper" in data:
        spec["upper"] = bool(data["upper"])
    if col.type.upper() not in ("DATE", "TIMESTAMP") and (
        spec.get("unix") or spec.get("formats") or spec.get("zone")
    ):
        raise _error(path, where, f"unix/format/zone apply to dates and times; {target} is not one")
    return ColumnSpec(**spec)


def _skip_rules(path: Path, data: Any) -> tuple[SkipRule, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise _error(path, "skip_rows_where", "expected a list of {column, values | matches}")
    out = []
    for i, item in enumerate(data):
        where = f"skip_rows_where[{i}]"
        if not isinstance(item, dict) or "column" not in item:
            raise _error(path, where, "expected {column: NAME, values: [...]} or matches: REGEX")
        bad = sorted(str(k) for k in item if k not in ("column", "values", "matches", "missing"))
        if bad:
            raise _error(path, where, f"unknown key(s) {', '.join(bad)}")
        matches = item.get("matches")
        if matches is not None:
            try:
                re.compile(str(matches))
            except re.error as exc:
                raise _error(path, f"{where}.matches", f"not a regular expression: {exc}") from exc
        values = tuple(norm(_text(v)) for v in (item.get("values") or []))
        if not values and matches is None and not item.get("missing"):
            raise _error(path, where, "give values, matches or missing: true")
        out.append(
            SkipRule(
                str(item["column"]),
                values,
                None if matches is None else str(matches),
                bool(item.get("missing")),
            )
        )
    return tuple(out)


def _count(path: Path, where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _error(path, where, f"{value!r} is not a count (0 or more)")
    return value


def parse_preset(data: Any, path: Path, text: str = "") -> Preset:
    """Validate the parsed YAML of one preset file."""
    if not isinstance(data, dict):
        raise _error(path, "", "expected a mapping (name, source, columns, ...)")
    bad = sorted(str(k) for k in data if k not in TOP_KEYS)
    if bad:
        raise _error(path, "", f"unknown key(s) {', '.join(bad)} (allowed: {', '.join(TOP_KEYS)})")
    name = data.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise _error(path, "name", f"{name!r} is not a name (lower-case letters, digits, _)")
    if name != path.stem:
        raise _error(path, "name", f"'{name}' differs from the file name '{path.stem}'")
    source = data.get("source")
    if source not in SOURCES:
        raise _error(path, "source", f"{source!r} is not a source ({', '.join(SOURCES)})")
    src = SOURCES[source]
    fmt = data.get("format", "csv")
    if fmt not in FORMATS:
        raise _error(path, "format", f"{fmt!r} is not csv or json")
    columns_data = data.get("columns")
    if not isinstance(columns_data, dict) or not columns_data:
        raise _error(path, "columns", "expected a mapping of contract column -> export column")
    columns = {str(t): _column_spec(path, src, str(t), v) for t, v in columns_data.items()}
    aggregate = data.get("aggregate", False)
    if aggregate not in (False, "events"):
        raise _error(path, "aggregate", f"{aggregate!r}: only 'events' is known")
    if aggregate:
        if source != "usage":
            raise _error(path, "aggregate", "events aggregate to usage only")
        if "event_count" in columns:
            raise _error(path, "columns.event_count", "an event counts once: leave it out")
        columns["event_count"] = ColumnSpec("event_count", constant="1")
    missing = [c for c in src.required_columns if c not in columns]
    if missing:
        raise _error(path, "columns", f"required contract column(s) {', '.join(missing)} unmapped")
    header = data.get("header") or {}
    if not isinstance(header, dict) or any(k not in HEADER_KEYS for k in header):
        raise _error(path, "header", f"expected a mapping with {', '.join(HEADER_KEYS)}")
    records = data.get("records")
    if records is not None and (fmt != "json" or not isinstance(records, str)):
        raise _error(path, "records", "a JSON path to the records (json presets only)")
    docs = data.get("documentation") or []
    account_match = data.get("account_match")
    if account_match is not None and not re.fullmatch(r"[a-z][a-z0-9_]*", str(account_match)):
        raise _error(path, "account_match", f"{account_match!r} is not a name")
    recognise = data.get("recognise")
    keep = data.get("keep") or {}
    if not isinstance(keep, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and re.fullmatch(r"[a-z][a-z0-9_]*", v)
        for k, v in keep.items()
    ):
        raise _error(path, "keep", "expected export column: raw column name (lower-case, _)")
    return Preset(
        name=name,
        source=src,
        path=path,
        title=str(data.get("title") or name),
        documentation=tuple(str(d) for d in (docs if isinstance(docs, list) else [docs])),
        format=fmt,
        columns=columns,
        records=records,
        account_match=account_match,
        recognise=_names(path, "recognise", recognise) if recognise is not None else (),
        skip_rows=_count(path, "header.skip_rows", header.get("skip_rows", 0)),
        extra_header_rows=_count(
            path, "header.extra_header_rows", header.get("extra_header_rows", 0)
        ),
        skip_rows_where=_skip_rules(path, data.get("skip_rows_where")),
        aggregate=bool(aggregate),
        keep={norm(k): v for k, v in keep.items()},
        notes=str(data.get("notes") or "").strip(),
        digest=hashlib.sha256(text.encode()).hexdigest()[:16],
    )


def read_preset(path: Path) -> Preset:
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PresetError(f"{path}: not a readable YAML file: {first_line(exc)}") from exc
    return parse_preset(data, path, text)


def load_presets(user_dir: Path | None = None) -> PresetCatalog:
    """The built-in presets, then the user's (which replace a built-in of the same name)."""
    presets: dict[str, Preset] = {}
    for folder in (BUILTIN_DIR, user_dir):
        if folder is None or not Path(folder).is_dir():
            continue
        for path in sorted(Path(folder).glob("*.y*ml")):
            preset = read_preset(path)
            presets[preset.name] = preset
    return PresetCatalog(presets, Path(user_dir) if user_dir else None)
