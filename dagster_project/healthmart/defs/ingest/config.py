"""The ingest config (YAML): column mapping, encoding, CSV delimiter, format preset and account
matching per source."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from healthmart.core.contract import SOURCES, Source, names_accounts
from healthmart.defs.ingest.files import normalise_encoding
from healthmart.defs.ingest.sql import first_line, norm

CONFIG_KEYS = ("columns", "encoding", "delimiter", "preset", "account_match")
DELIMITERS = (",", ";", "\t", "|")
# account_match: the name of the tool id a source's account column holds (a column of the
# accounts export or a crosswalk system), or EMAIL_DOMAIN (an e-mail address or a domain).
EMAIL_DOMAIN = "email_domain"
_ID_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class IngestConfigError(ValueError):
    """The ingest config file is invalid; the message names the file and the problem."""


@dataclass(frozen=True)
class SourceConfig:
    """How one source's exports are read: column mapping, encoding, delimiter, preset, and the
    tool id its account column holds."""

    columns: dict[str, str] = field(default_factory=dict)  # lower-cased export name -> contract
    encoding: str | None = None  # None: UTF-8, falling back to cp1252 / latin-1
    delimiter: str | None = None  # None: detected from the header line
    preset: str | None = None  # a format preset's name (None: recognised from the header, if any)
    # None: the account column holds our account_id. Else the tool id it holds (e.g.
    # stripe_customer_id), matched to account_id at ingest; EMAIL_DOMAIN: matched by domain.
    account_match: str | None = None

    def with_preset_match(self, preset_match: str | None) -> SourceConfig:
        """The tool id a preset's account column holds applies unless this config names one."""
        if self.account_match is not None or preset_match is None:
            return self
        return replace(self, account_match=preset_match)

    def fingerprint(self) -> str:
        """A hash of how files are read: a file loaded with another one is loaded again."""
        settings: dict[str, Any] = {
            "columns": sorted(self.columns.items()),
            "encoding": self.encoding,
            "delimiter": self.delimiter,
        }
        # Only when set, so files loaded before these settings existed are not reloaded.
        if self.preset is not None:
            settings["preset"] = self.preset
        if self.account_match is not None:
            settings["account_match"] = self.account_match
        text = json.dumps(settings, sort_keys=True)
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
            raise _config_error(path, where, f"expected a mapping with {'/'.join(CONFIG_KEYS)}")
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
            preset=_config_name(path, f"{where}.preset", entry.get("preset")),
            account_match=_config_account_match(
                path, where, SOURCES[name], entry.get("account_match")
            ),
        )
    return IngestConfig(path, out)


def _config_name(path: Path, where: str, value: Any) -> str | None:
    """A preset's name: lower-case letters, digits and underscores."""
    if value is None:
        return None
    if not isinstance(value, str) or not _ID_NAME.match(value):
        raise _config_error(
            path, where, f"{value!r} is not a name (lower-case letters, digits, underscores)"
        )
    return value


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
        key, target = norm(export_col), norm(contract_col)
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
        return normalise_encoding(str(encoding))
    except ValueError as exc:
        raise _config_error(path, f"{where}.encoding", str(exc)) from exc


def _config_delimiter(path: Path, where: str, delimiter: Any) -> str | None:
    if delimiter is None:
        return None
    text = {"tab": "\t", "\\t": "\t"}.get(str(delimiter), str(delimiter))
    if text not in DELIMITERS:
        raise _config_error(path, f"{where}.delimiter", f"{delimiter!r} is not one of , ; | tab")
    return text


def _config_account_match(path: Path, where: str, src: Source, value: Any) -> str | None:
    if value is None:
        return None
    where = f"{where}.account_match"
    if not names_accounts(src):
        raise _config_error(
            path, where, f"{src.name} rows are not matched to accounts (only the exports that "
            "name an account_id are)",
        )  # fmt: skip
    name = norm(str(value))
    if not isinstance(value, str) or not _ID_NAME.match(name):
        raise _config_error(
            path, where, f"{value!r} is not the name of a tool id (e.g. stripe_customer_id, "
            f"a column of the accounts export or a crosswalk system) or {EMAIL_DOMAIN}",
        )  # fmt: skip
    return name


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
        raise IngestConfigError(f"{path}: not valid YAML: {first_line(exc)}") from exc
    return parse_ingest_config(data, path)
