"""The SQL for one file: each column cast to its contract type, and the rule each row breaks."""

from __future__ import annotations

from dataclasses import dataclass

from healthmart.core.contract import Column, Source
from healthmart.defs.ingest.preset_sql import Applied
from healthmart.defs.ingest.readers import Reader
from healthmart.defs.ingest.results import LINEAGE_COLUMNS, NOT_DATA_RULE, FileError
from healthmart.defs.ingest.sql import norm, num, qi, ql, text_expr, type_label, typed_expr


@dataclass
class Plan:
    source: Source
    reader: Reader
    contract_to_file: dict[str, str]  # contract column -> file column
    extras: list[tuple[str, str]]  # (raw table column name, file column)
    applied: Applied | None = None  # the format preset read through, if any

    @property
    def aggregate(self) -> bool:
        """Whether the file's rows are events aggregated to usage rows."""
        return self.applied is not None and self.applied.preset.aggregate

    @property
    def has_skip(self) -> bool:
        """Whether the preset drops rows that are not data (extra header rows, TOTAL lines)."""
        return self.applied is not None and self.applied.has_skip


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


def plan_load(
    source: Source,
    reader: Reader,
    mapping: dict[str, str],
    config_label: str = "",
    applied: Applied | None = None,
) -> Plan:
    contract = {c.name: c for c in source.columns}
    contract_to_file: dict[str, str] = {}
    extras: list[tuple[str, str]] = []
    lineage = {n for n, _ in LINEAGE_COLUMNS}
    seen_extra: dict[str, str] = {}
    if applied is not None:
        # The preset says where every contract column comes from; the rest are extra columns
        # (none for events, which aggregate).
        for col in reader.columns:
            if applied.preset.aggregate or col in applied.consumed:
                continue
            name = applied.preset.keep.get(norm(col)) or norm(col) or "unnamed"
            if name in contract or name in lineage or name.startswith("__"):
                name = "extra_" + name.lstrip("_")
            if name in seen_extra:
                raise FileError(
                    f"column '{name}' appears more than once ('{seen_extra[name]}' and '{col}')"
                )
            seen_extra[name] = col
            extras.append((name, col))
        return Plan(source, reader, dict(applied.contract_to_file), extras, applied)
    for col in reader.columns:
        target = mapping.get(norm(col), norm(col))
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
                label = type_label(col).split(" (")[0].removeprefix("a ").removeprefix("an ")
                raise FileError(
                    f"column '{fcol}' has Parquet type {file_type}, which cannot hold "
                    f"{name} values ({label} or text expected)"
                )
    return Plan(source, reader, contract_to_file, extras)


@dataclass(frozen=True)
class Checked:
    sql: str  # columns: __row, __s<i>, __o<i>, __x<i>, typed contract columns, __rule
    detail: str  # SQL expression over those columns (evaluate on quarantined rows only)
    record: str  # idem: the original row as JSON text


def checked_sql(plan: Plan, relation: str, row_map: str | None) -> Checked:
    """The file as typed rows with the first failing rule (NULL = the row is good).

    Text and typed values are computed in projections *below* a streaming window, which the
    optimizer does not push filters through: each value is computed once per row, and the
    `WHERE __rule ...` of the callers only evaluates the rule over those columns. (Without the
    barrier DuckDB inlines every expression into the filter and recomputes them many times.) The
    window also numbers the rows in file order (preserve_insertion_order is on) for CSV / NDJSON;
    Parquet uses its own file_row_number. `row_map` = temp table shifting CSV row numbers past
    malformed lines (see load_file).
    """
    src = plan.source
    applied = plan.applied
    if applied is not None:
        relation = applied.over(relation)
    text_cols = []
    for i, col in enumerate(src.columns):
        fcol = plan.contract_to_file.get(col.name)
        expr = text_expr(f"f.{qi(fcol)}") if fcol is not None else "CAST(NULL AS VARCHAR)"
        text_cols.append(f"{expr} AS __s{i}")
    for i, (_, fcol) in enumerate(plan.extras):
        text_cols.append(f"{text_expr(f'f.{qi(fcol)}')} AS __x{i}")
    orig_cols = [f"f.{qi(c)} AS __o{i}" for i, c in enumerate(plan.reader.columns)]
    orig_cols += [f"f.{c}" for c in (applied.passthrough if applied else ())]

    typed_cols = [
        f"{typed_expr(col, f'__s{i}')} AS {qi(col.name)}" for i, col in enumerate(src.columns)
    ]

    # Ordered checks: (condition, rule SQL, detail SQL); a preset's problems (a word it cannot
    # map, a date it cannot parse) come first: they leave the converted value empty.
    checks: list[tuple[str, str, str]] = [
        (c.condition, c.rule, c.detail) for c in (applied.checks if applied else ())
    ]
    for i, col in enumerate(src.columns):
        if col.required:
            empty = f"{col.name} is empty"
            if applied is not None and col.name in applied.read_from:
                where = applied.read_from[col.name]
                empty += f" (preset {applied.preset.name} reads it from {where})"
            checks.append((f"__s{i} IS NULL", ql(f"required_missing:{col.name}"), ql(empty)))
    for i, col in enumerate(src.columns):
        v = qi(col.name)
        checks.append(
            (
                f"__s{i} IS NOT NULL AND {v} IS NULL",
                ql(f"invalid_type:{col.name}"),
                f"{ql(col.name + '=')} || '''' || left(__s{i}, 200) || '''' || "
                f"{ql(' is not ' + type_label(col))}",
            )
        )
    for i, col in enumerate(src.columns):
        if col.accepted:
            v = qi(col.name)
            values = ", ".join(ql(a) for a in col.accepted)
            checks.append(
                (
                    f"{v} NOT IN ({values})",
                    ql(f"not_accepted:{col.name}"),
                    f"{ql(col.name + '=')} || '''' || left(__s{i}, 200) || '''' || "
                    f"{ql(' is not one of: ' + ', '.join(col.accepted))}",
                )
            )
    for i, col in enumerate(src.columns):
        v = qi(col.name)
        if col.min_value is not None:
            checks.append(
                (
                    f"{v} < {num(col.min_value)}",
                    ql(f"below_min:{col.name}"),
                    f"{ql(col.name + '=')} || __s{i} || "
                    f"{ql(' is below the minimum ' + num(col.min_value))}",
                )
            )
        if col.max_value is not None:
            checks.append(
                (
                    f"{v} > {num(col.max_value)}",
                    ql(f"above_max:{col.name}"),
                    f"{ql(col.name + '=')} || __s{i} || "
                    f"{ql(' is above the maximum ' + num(col.max_value))}",
                )
            )
    for name, predicate in src.row_rules:
        checks.append(
            (f"COALESCE(({predicate}), false)", ql(name), ql(f"row rule {name}: {predicate}"))
        )

    if checks:
        rule = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r, _ in checks) + " END"
        detail = "CASE " + " ".join(f"WHEN {c} THEN {d}" for c, _, d in checks) + " END"
    else:
        rule = detail = "CAST(NULL AS VARCHAR)"
    record_args = ", ".join(f"{ql(c)}, __o{i}" for i, c in enumerate(plan.reader.columns))
    record = f"CAST(json_object({record_args}) AS VARCHAR)" if record_args else "'{}'"

    file_rn = ["f.__file_rn AS __frn"] if plan.reader.has_file_row_number else []
    if plan.reader.has_file_row_number:
        row_sql, row_join = "b.__frn", ""
    elif row_map:
        row_sql = "b.__rn + COALESCE(m.k, 0)"
        row_join = f"ASOF LEFT JOIN {row_map} m ON b.__rn > m.g"
    else:
        row_sql, row_join = "b.__rn", ""
    # Rows a preset says are not data: its extra header rows, and rows matching its
    # skip_rows_where (a TOTAL line, a draft invoice, an identify call). Counted, not loaded.
    not_data = "false"
    if applied is not None:
        not_data = "__skip"
        if applied.preset.extra_header_rows:
            not_data += f" OR __row <= {applied.preset.extra_header_rows}"
    sql = f"""
        WITH f AS ({relation}),
        t AS (SELECT {", ".join(file_rn + text_cols + orig_cols)} FROM f),
        typed AS (SELECT *, {", ".join(typed_cols)} FROM t),
        b AS (SELECT *, row_number() OVER () AS __rn FROM typed),
        c AS (SELECT b.*, {row_sql} AS __row FROM b {row_join})
        SELECT *, CASE WHEN {not_data} THEN {ql(NOT_DATA_RULE)} ELSE {rule} END AS __rule FROM c
    """
    return Checked(sql, detail, record)
