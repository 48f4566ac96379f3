"""`healthmart inspect FILE`: which format preset reads an export, the mapping it applies, and
the first problems in it, without loading anything (an in-memory DuckDB reads the file, and
the accounts and crosswalk exports of its landing folder to check the accounts it names)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from healthmart.core.contract import ACCOUNTS_SOURCE, SOURCES
from healthmart.defs.ingest.cast_sql import Plan, checked_sql, plan_load
from healthmart.defs.ingest.config import IngestConfig, SourceConfig
from healthmart.defs.ingest.files import file_kind, list_export_files
from healthmart.defs.ingest.load import ingest_source
from healthmart.defs.ingest.matching import AccountRules, future_after, names_accounts, prepare
from healthmart.defs.ingest.preset import PresetCatalog
from healthmart.defs.ingest.preset_sql import apply_preset, reading_options
from healthmart.defs.ingest.readers import open_reader
from healthmart.defs.ingest.recognise import Recognition, recognise
from healthmart.defs.ingest.results import NOT_DATA_RULE, FileError, Retry
from healthmart.defs.ingest.session import SessionSettings
from healthmart.defs.ingest.sql import ql

EXAMPLES = 5


def _source_of(path: Path, source: str | None) -> list[str]:
    if source:
        return [source]
    for part in reversed(path.resolve().parent.parts):
        if part in SOURCES:
            return [part]
    return list(SOURCES)


def _recognise(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    kind: str,
    sources: list[str],
    config: IngestConfig,
    catalog: PresetCatalog,
) -> tuple[str, Recognition]:
    """The source and recognition; over every source when the folder names none."""
    found = [
        (s, recognise(con, path, kind, s, config.source(s), catalog, config.label)) for s in sources
    ]
    if len(found) == 1:
        return found[0]
    with_preset = [(s, r) for s, r in found if r.preset is not None]
    if len(with_preset) == 1:
        return with_preset[0]
    matches = tuple(m for _, r in found for m in r.matches)
    return sources[0], Recognition(None, matches)


def _plan(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    kind: str,
    source: str,
    config: SourceConfig,
    recognition: Recognition,
    label: str,
    tmpdir: str,
) -> Plan:
    encoding = config.encoding
    for _ in range(4):
        try:
            reader = open_reader(
                con, kind, path, encoding, config.encoding is None, tmpdir, config.delimiter,
                **reading_options(recognition.preset),
            )  # fmt: skip
        except Retry as retry:
            encoding = retry.encoding
            continue
        applied = (
            apply_preset(recognition.preset, reader.columns, config.columns)
            if recognition.preset
            else None
        )
        return plan_load(SOURCES[source], reader, config.columns, label, applied)
    raise FileError("cannot be decoded in any of the encodings tried")


def _mapping_lines(plan: Plan) -> list[str]:
    if plan.applied is not None:
        rows = [(c, f, how) for c, f, how in plan.applied.mapping]
    else:
        rows = [(c, f"'{f}'", "") for c, f in plan.contract_to_file.items()]
    width = max((len(c) for c, _, _ in rows), default=0)
    lines = [f"  {c.ljust(width)} <- {f}" + (f"  ({how})" if how else "") for c, f, how in rows]
    unmapped = [c for c in plan.source.column_names if c not in plan.contract_to_file]
    if unmapped:
        lines.append(f"  (no value for: {', '.join(unmapped)})")
    if plan.extras:
        lines.append(f"  kept as extra columns: {', '.join(n for n, _ in plan.extras)}")
    return lines


def _account_rules(
    con: duckdb.DuckDBPyConnection,
    source: str,
    match: str | None,
    exports_dir: Path,
    config: IngestConfig,
    catalog: PresetCatalog,
    tolerance_days: int,
) -> tuple[AccountRules, str]:
    """The account rules the ingest would apply, from the accounts and crosswalk exports of
    the landing folder loaded into the in-memory database; and what was checked."""
    src = SOURCES[source]
    today = datetime.now(UTC).date()
    if not names_accounts(src):
        return prepare(con, src, None, future_after(today, tolerance_days)), ""
    loaded = []
    for name in (ACCOUNTS_SOURCE, "crosswalk"):
        if list_export_files(exports_dir, name):
            result = ingest_source(con, name, exports_dir, config=config, presets=catalog)
            rows = sum(f.rows_loaded for f in result.files)
            loaded.append(f"{rows} rows of {exports_dir / name}")
    rules = prepare(con, src, match, future_after(today, tolerance_days))
    if loaded:
        return rules, "checked against " + " and ".join(loaded)
    where = exports_dir / ACCOUNTS_SOURCE
    if rules.lookup:  # as the ingest would: no account to match an id to
        return rules, f"matched against nothing: no accounts export in {where}"
    return rules, f"not checked: no accounts export in {where}"


def _problems(
    con: duckdb.DuckDBPyConnection, plan: Plan, errors: str, rules: AccountRules
) -> tuple[list, list]:
    """Rows per rule (None: good), and the first rows breaking one."""
    chk = rules.apply(checked_sql(plan, plan.reader.relation(errors), None))
    by_rule = f"SELECT __rule, count(*) FROM ({chk.sql}) GROUP BY ALL ORDER BY 2 DESC"
    first = (
        f"SELECT __row, __rule, {chk.detail} FROM ({chk.sql}) "
        f"WHERE __rule IS NOT NULL AND __rule <> {ql(NOT_DATA_RULE)} "
        f"ORDER BY __row LIMIT {EXAMPLES}"
    )
    return con.execute(by_rule).fetchall(), con.execute(first).fetchall()


def inspect_file(
    path: Path,
    source: str | None,
    config: IngestConfig,
    catalog: PresetCatalog,
    exports_dir: Path | None = None,
    tolerance_days: int = 1,
) -> tuple[int, str]:
    """(exit code, report). exports_dir: the landing folder whose accounts (and crosswalk)
    exports the file's accounts are checked against (default: the folder holding the file's
    source folder)."""
    path = Path(path)
    out: list[str] = [f"File: {path}"]
    kind = file_kind(path)
    if kind is None or not path.is_file():
        return 1, f"{path}: not an export file (CSV, CSV.gz, Parquet, NDJSON/JSON, .gz)"
    con = duckdb.connect()
    with SessionSettings(con, None), tempfile.TemporaryDirectory() as tmpdir:
        try:
            src, recognition = _recognise(
                con, path, kind, _source_of(path, source), config, catalog
            )
            preset = recognition.preset
            out.append(f"Source: {src}")
            if preset is not None:
                out.append(f"Preset: {preset.name} - {preset.title} ({recognition.how})")
                out += [f"  follows {d}" for d in preset.documentation]
            else:
                out.append(f"Preset: none - {recognition.how}")
            src_config = config.source(src)
            if preset is not None:
                src_config = src_config.with_preset_match(preset.account_match)
            match = src_config.account_match
            if match and match != "account_id":
                out.append(
                    f"Accounts: the account column holds {match} (account_match), not account_id"
                )
            plan = _plan(con, path, kind, src, src_config, recognition, config.label, tmpdir)
            landing = exports_dir or path.resolve().parent.parent
            rules, checked = _account_rules(
                con, src, match, landing, config, catalog, tolerance_days
            )
            if checked:
                out.append(f"Accounts {checked}")
        except FileError as exc:
            out.append(f"Problem: {exc}")
            return 1, "\n".join(out)
        out.append("Mapping (contract column <- export column):")
        out += _mapping_lines(plan)
        errors = "ignore_errors=true" if kind == "csv" else ""
        try:
            counts, examples = _problems(con, plan, errors, rules)
        except duckdb.Error as exc:
            out.append(f"Problem: the file cannot be read: {str(exc).splitlines()[0]}")
            return 1, "\n".join(out)
        finally:
            rules.close(con)
    by_rule = dict(counts)
    good = by_rule.pop(None, 0)
    skipped = by_rule.pop(NOT_DATA_RULE, 0)
    bad = sum(by_rule.values())
    what = "events" if plan.aggregate else "rows"
    out.append(
        f"Rows: {good + bad} {what} read: {good} would load, {bad} would be quarantined"
        + (f"; {skipped} rows are not data (skipped)" if skipped else "")
    )
    if by_rule:
        out.append("Problems:")
        out += [f"  {rule}: {n} {what}" for rule, n in by_rule.items()]
        out.append(f"First {len(examples)}:")
        out += [f"  row {row}: {rule}: {detail}" for row, rule, detail in examples]
    else:
        out.append("Problems: none found")
    return 0, "\n".join(out)
