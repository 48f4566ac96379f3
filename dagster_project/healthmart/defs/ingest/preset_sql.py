"""The SQL a preset generates for one file: each contract column taken from the export and
converted (value words, scales, minor units, unix times, date formats, zones), the problems a
preset finds (a word it cannot map, a date it cannot parse), and the rows that are not data.

Set-based: one projection over the file's relation, no per-row Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from healthmart.core.contract import Column
from healthmart.defs.ingest.preset import UNIX_UNITS, ZONE_SLOT, ColumnSpec, Preset, SkipRule
from healthmart.defs.ingest.results import FileError
from healthmart.defs.ingest.sql import norm, num, qi, ql, text_expr

# ISO 4217 minor units that are not 2 (the currencies Stripe and Chargebee list as zero-decimal
# and three-decimal); every other currency has cents.
CURRENCY_EXPONENTS = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
         "VUV", "XAF", "XOF", "XPF"),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}  # fmt: skip

UNMAPPED_RULE = "unmapped_value"
UNPARSED_RULE = "unparsed_value"
OUT_OF_SCALE_RULE = "out_of_scale"


@dataclass(frozen=True)
class Resolved:
    """One export name of a preset found in the file."""

    column: str  # the file's column
    path: str | None = None  # a JSON path inside it ('a.b' names)
    zone: str | None = None  # the zone its header names

    @property
    def label(self) -> str:
        return f"{self.column}.{self.path}" if self.path else self.column


def _json_path(rest: str) -> str:
    parts = []
    for seg in rest.split("."):
        m = re.fullmatch(r"(.*?)((?:\[\d+\])*)", seg)
        key, index = m.group(1), m.group(2)
        parts.append(f'"{key}"{index}' if key else index)
    return "$." + ".".join(parts)


def resolve(name: str, columns: list[str]) -> Resolved | None:
    """Find a preset's export name among the file's columns (case-insensitive).

    'Started at ({zone})' matches a header naming a zone; 'properties.account_id' is the key
    account_id inside the JSON column properties (when no column has the dotted name itself).
    """
    by_norm = {norm(c): c for c in columns}
    if ZONE_SLOT in name:
        pattern = re.escape(norm(name)).replace(re.escape(ZONE_SLOT), "(?P<zone>.+)")
        for col in columns:
            m = re.fullmatch(pattern, norm(col))
            if m:
                return Resolved(col, zone=col.strip()[m.start("zone") : m.end("zone")])
        return None
    if norm(name) in by_norm:
        return Resolved(by_norm[norm(name)])
    head, dot, rest = name.partition(".")
    head = re.sub(r"\[\d+\]$", "", head)
    if dot and rest and norm(head) in by_norm:
        return Resolved(by_norm[norm(head)], path=rest)
    return None


def json_heads(preset: Preset) -> set[str]:
    """Export names whose values the preset reads inside JSON ('properties' of 'properties.x')."""
    return {n.partition(".")[0] for n in preset.read_columns if "." in n and ZONE_SLOT not in n}


def _expr(r: Resolved) -> str:
    col = qi(r.column)
    if r.path is None:
        return text_expr(col)
    return text_expr(f"json_extract_string({col}, {ql(_json_path(r.path))})")


@dataclass(frozen=True)
class Conversion:
    text: str  # SQL: the value as contract text (NULL when it cannot convert)
    describe: str  # what it does, for the mapping `healthmart inspect` prints
    expects: str  # what a value must be, for the quarantine detail


def _time_sql(spec: ColumnSpec, v: str, col: Column, zone: str | None) -> tuple[str, list[str]]:
    steps: list[str] = []
    if spec.unix:
        micros = f"CAST(round(TRY_CAST({v} AS DOUBLE) * {UNIX_UNITS[spec.unix]}) AS BIGINT)"
        ts = f"make_timestamp({micros})"
        steps.append(f"unix {spec.unix} to UTC")
    elif spec.formats:
        fmts = "[" + ", ".join(ql(f) for f in spec.formats) + "]"
        ts = f"try_strptime({v}, {fmts})"
        steps.append("read as " + " or ".join(spec.formats))
    elif zone == "UTC":
        # Times with an offset are converted, times without one are UTC (the contract's rule).
        ts = f"TRY_CAST({v} AS TIMESTAMPTZ)"
        steps.append("time to UTC")
    elif zone:
        ts = f"TRY_CAST({v} AS TIMESTAMP)"
    else:
        return v, steps
    if zone and zone != "UTC":
        ts = f"(CAST({ts} AS TIMESTAMP) AT TIME ZONE {ql(zone)})"
        steps.append(f"local time in {zone} to UTC")
    if col.type.upper() == "DATE":
        return f"CAST(CAST(CAST({ts} AS TIMESTAMP) AS DATE) AS VARCHAR)", steps
    return f"CAST({ts} AS VARCHAR)", steps


def convert(spec: ColumnSpec, col: Column, raw: str, zone: str | None, currency: str | None):
    """The conversion of a column's raw text (`raw`, SQL) to contract text."""
    v, steps, expects = raw, [], []
    if spec.values is not None:
        cases = " ".join(
            f"WHEN {ql(k)} THEN {'NULL' if val is None else ql(val)}"
            for k, val in spec.values.items()
        )
        v = f"(CASE lower({v}) {cases} END)"
        words = ", ".join(
            f"{k} -> {'(none)' if val is None else val}" for k, val in spec.values.items()
        )
        steps.append(f"words: {words}")
    if spec.upper:
        v = f"upper({v})"
        steps.append("upper-cased")
    if spec.scale:
        lo, hi, to_lo, to_hi = spec.scale
        x = f"TRY_CAST({v} AS DOUBLE)"
        v = (
            f"CAST({num(to_lo)} + ({x} - {num(lo)}) * {num(to_hi - to_lo)} / {num(hi - lo)} "
            "AS VARCHAR)"
        )
        steps.append(
            f"scale {num(lo)}-{num(hi)} to {num(to_lo)}-{num(to_hi)}: "
            f"{num(to_lo)} + (x - {num(lo)}) x {num(to_hi - to_lo)}/{num(hi - lo)}"
        )
        expects.append(f"a number from {num(lo)} to {num(hi)}")
    if spec.multiply_by is not None:
        v = f"CAST(TRY_CAST({v} AS DOUBLE) * {num(spec.multiply_by)} AS VARCHAR)"
        steps.append(f"x {num(spec.multiply_by)}")
        expects.append("a number")
    if spec.divide_by is not None:
        v = f"CAST(TRY_CAST({v} AS DOUBLE) / {num(spec.divide_by)} AS VARCHAR)"
        steps.append(f"/ {num(spec.divide_by)}")
        expects.append("a number")
    if spec.minor_units:
        exps = " ".join(f"WHEN {ql(c)} THEN {10**e}" for c, e in sorted(CURRENCY_EXPONENTS.items()))
        divisor = f"(CASE upper(trim({currency})) {exps} ELSE 100 END)" if currency else "100"
        v = f"CAST(TRY_CAST({v} AS DOUBLE) / {divisor} AS VARCHAR)"
        steps.append(
            "minor units to amount: / 100 (/ 1 for zero-decimal currencies such as JPY, "
            "/ 1000 for three-decimal ones such as KWD)"
        )
        expects.append("a whole number of minor units")
    if spec.unix or spec.formats or zone:
        v, time_steps = _time_sql(spec, v, col, zone)
        steps += time_steps
        if spec.unix:
            expects.append(f"a unix time in {spec.unix}")
        elif spec.formats:
            expects.append("a time as " + " or ".join(spec.formats))
        else:
            expects.append("a date and time")
    return Conversion(v, "; ".join(steps), " and ".join(expects) or "convertible")


@dataclass(frozen=True)
class Check:
    condition: str  # SQL over the relation's columns, TRUE for a bad row
    rule: str
    detail: str  # SQL


@dataclass
class Applied:
    """A preset applied to one file: its relation and what the plan needs to know."""

    preset: Preset
    layers: list[list[str]]  # projections over the file: raw text, contract text, problems
    contract_to_file: dict[str, str]  # contract column -> relation column
    consumed: set[str]  # file columns the preset reads (not kept as extra columns)
    mapping: list[tuple[str, str, str]]  # contract column, from (labels), conversion
    passthrough: list[str]  # relation columns the checked SQL carries along
    checks: list[Check]
    has_skip: bool
    read_from: dict[str, str]  # contract column -> where the preset reads it (for details)

    def over(self, relation: str) -> str:
        """The file's columns + __c<i> (contract text), __pr<i>/__pd<i> (problems), __skip."""
        sql = f"SELECT f.*, {', '.join(self.layers[0])} FROM ({relation}) f"
        for layer in self.layers[1:]:
            if layer:
                sql = f"SELECT *, {', '.join(layer)} FROM ({sql})"
        return sql


def _skip_sql(rule: SkipRule, columns: list[str]) -> str | None:
    r = resolve(rule.column, columns)
    if r is None:
        return None
    e = _expr(r)
    parts = []
    if rule.values:
        parts.append(f"lower({e}) IN ({', '.join(ql(v) for v in rule.values)})")
    if rule.matches is not None:
        parts.append(f"regexp_matches({e}, {ql(rule.matches)}, 'i')")
    if rule.missing:
        parts.append(f"{e} IS NULL")
    return "(" + " OR ".join(parts) + ")"


def apply_preset(
    preset: Preset, columns: list[str], overrides: dict[str, str] | None = None
) -> Applied:
    """The preset over a file with these columns. `overrides`: lower-cased export column ->
    contract column from the ingest config: where the file has such a column, the preset reads
    that contract column from it (conversions kept) instead.
    """
    src = preset.source
    specs = dict(preset.columns)
    for export_col, target in (overrides or {}).items():
        # Only where the file has the column: the config maps every file of the source.
        found = next((c for c in columns if norm(c) == export_col), None)
        if found is None:
            continue
        old = specs.get(target, ColumnSpec(target))
        specs[target] = ColumnSpec(**{**old.__dict__, "sources": (found,), "constant": None})
    layer1: list[str] = []  # raw text per column
    layer2: list[str] = []  # converted text
    layer3: list[str] = []  # problems
    contract_to_file: dict[str, str] = {}
    consumed: set[str] = set()
    mapping: list[tuple[str, str, str]] = []
    passthrough: list[str] = []
    checks: list[Check] = []
    read_from: dict[str, str] = {}
    for i, col in enumerate(src.columns):
        spec = specs.get(col.name)
        if spec is None:
            continue
        if spec.constant is not None:
            layer2.append(f"{ql(spec.constant)} AS __c{i}")
            contract_to_file[col.name] = f"__c{i}"
            mapping.append((col.name, f"the value {spec.constant!r}", ""))
            continue
        found = [r for r in (resolve(s, columns) for s in spec.sources) if r is not None]
        read_from[col.name] = ", ".join(f"'{s}'" for s in spec.sources)
        if not found:
            if col.required:
                raise FileError(
                    f"required column '{col.name}' is missing: preset {preset.name} reads it "
                    f"from {read_from[col.name]} (found columns: {', '.join(columns)})"
                )
            continue
        consumed.update(r.column for r in found)
        exprs = [_expr(r) for r in found]
        layer1.append(
            f"{exprs[0] if len(exprs) == 1 else 'COALESCE(' + ', '.join(exprs) + ')'} AS __r{i}"
        )
        zone = spec.zone
        if zone == ZONE_SLOT:
            zone = next((r.zone for r in found if r.zone), None)
        if zone:
            try:
                ZoneInfo(zone)
            except (ValueError, ZoneInfoNotFoundError):
                raise FileError(
                    f"column '{found[0].label}' names the time zone '{zone}', which is unknown "
                    f"(preset {preset.name})"
                ) from None
        currency = None
        if spec.minor_units:
            cur = resolve(spec.minor_units, columns)
            if cur is None and spec.minor_units in specs:
                cur_spec = specs[spec.minor_units]
                cur = next((r for r in (resolve(s, columns) for s in cur_spec.sources) if r), None)
            currency = _expr(cur) if cur else None
        conv = convert(spec, col, f"__r{i}", zone, currency)
        layer2.append(f"{conv.text} AS __c{i}")
        contract_to_file[col.name] = f"__c{i}"
        mapping.append((col.name, ", ".join(f"'{r.label}'" for r in found), conv.describe))
        if not spec.converts:
            continue
        problems: list[tuple[str, str, str]] = []
        label = f"column '{found[0].label}'"
        value = f"'''' || left(__r{i}, 200) || ''''"
        if spec.values is not None:
            keys = ", ".join(ql(k) for k in spec.values)
            problems.append(
                (
                    f"__r{i} IS NOT NULL AND lower(__r{i}) NOT IN ({keys})",
                    f"{UNMAPPED_RULE}:{col.name}",
                    f"{ql(col.name + ' ')} || {value} || "
                    + ql(
                        f" ({label}) has no mapping in preset {preset.name} "
                        f"(it maps: {', '.join(spec.values)})"
                    ),
                )
            )
        if spec.scale:
            lo, hi = spec.scale[0], spec.scale[1]
            x = f"TRY_CAST(__r{i} AS DOUBLE)"
            problems.append(
                (
                    f"{x} < {num(lo)} OR {x} > {num(hi)}",
                    f"{OUT_OF_SCALE_RULE}:{col.name}",
                    f"{ql(col.name + ' ')} || {value} || "
                    + ql(f" ({label}) is outside the scale {num(lo)}-{num(hi)}"),
                )
            )
        nulls = ""
        if spec.values is not None:
            nulls = (
                " AND "
                + " AND ".join(
                    f"lower(__r{i}) <> {ql(k)}" for k, v in spec.values.items() if v is None
                )
                if any(v is None for v in spec.values.values())
                else ""
            )
        problems.append(
            (
                f"__r{i} IS NOT NULL AND __c{i} IS NULL{nulls}",
                f"{UNPARSED_RULE}:{col.name}",
                f"{ql(col.name + ' ')} || {value} || "
                + ql(f" ({label}) is not {conv.expects} (preset {preset.name})"),
            )
        )
        rule = "CASE " + " ".join(f"WHEN {c} THEN {ql(r)}" for c, r, _ in problems) + " END"
        detail = "CASE " + " ".join(f"WHEN {c} THEN {d}" for c, _, d in problems) + " END"
        layer3 += [f"{rule} AS __pr{i}", f"{detail} AS __pd{i}"]
        passthrough += [f"__pr{i}", f"__pd{i}"]
        checks.append(Check(f"__pr{i} IS NOT NULL", f"__pr{i}", f"__pd{i}"))
    skips = [s for s in (_skip_sql(r, columns) for r in preset.skip_rows_where) if s]
    for rule in preset.skip_rows_where:
        r = resolve(rule.column, columns)
        if r is not None:
            consumed.add(r.column)
    skip = " OR ".join(skips) if skips else "false"
    layer1.append(f"COALESCE({skip}, false) AS __skip")
    passthrough.append("__skip")
    return Applied(
        preset=preset,
        layers=[layer1, layer2, layer3],
        contract_to_file=contract_to_file,
        consumed=consumed,
        mapping=mapping,
        passthrough=passthrough,
        checks=checks,
        has_skip=bool(skips) or preset.extra_header_rows > 0,
        read_from=read_from,
    )


def reading_options(preset: Preset | None) -> dict:
    """How the reader opens a file for a preset (see readers.open_reader)."""
    if preset is None:
        return {}
    heads = json_heads(preset)
    options: dict = {
        "skip": preset.skip_rows,
        "records": preset.records,
        "json_columns": frozenset(norm(h) for h in heads),
    }
    if preset.aggregate and preset.format == "json":
        # Events: read only what the preset reads, without a pass over the file for its keys.
        wanted = []
        for name in preset.read_columns:
            head = name.partition(".")[0] if name.partition(".")[0] in heads else name
            if head not in wanted:
                wanted.append(head)
        options["only_columns"] = wanted
    return options
