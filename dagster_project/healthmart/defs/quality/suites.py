"""The expectation suites: one per export (raw table) and one per key mart.

A suite is a reviewable JSON file in ``expectations/`` in Great Expectations' 1.x
ExpectationSuite serialisation. Each expectation carries GX's own ``severity``:

* ``critical`` – **blocking**: a failure stops the run before the marts are published;
* ``warning`` – reported (Dagster check with WARN severity, a row in quality.validation_results),
  never blocks.

``meta.frame`` says what an expectation is validated on (see
:mod:`healthmart.defs.quality.validate`):
``rows`` (the table's rows, streamed in chunks), ``duplicates`` (the rows whose key occurs more
than once, which DuckDB narrows down) or a named frame whose SQL is in the suite's
``meta.healthmart.frames`` (e.g. the per-source ``profile`` of freshness and volume). Numbers
that are configuration (freshness lag, volume ratio) are ``{"$PARAMETER": name}`` references,
resolved from ``expectations/parameters.json``.

The export suites are derived from the contract (:data:`healthmart.core.contract.SOURCES`) by
:func:`export_suite`; ``python -m healthmart.defs.quality.suites`` writes them (and the mart suites)
to ``expectations/``; hand-added expectations are kept as long as the file is not rewritten.
A source of the contract without a suite file is validated with the derived suite.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healthmart.core.contract import (
    ACCOUNT_COLUMN,
    ACCOUNTS_SOURCE,
    SOURCES,
    Column,
    Source,
    names_accounts,
)
from healthmart.core.settings import PROJECT_ROOT
from healthmart.defs.quality.systemic import FILES, files_frame

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
PARAMETERS_FILE = "parameters.json"

CRITICAL = "critical"  # blocking
WARNING = "warning"  # reported, never blocks

ROWS = "rows"
DUPLICATES = "duplicates"
PROFILE = "profile"

# Scopes: which rows of the table a run validates (see validate.py).
NEW_FILES = "new_files"  # rows of export files not validated yet (ingest_meta.files)
SCORING_DATES = "scoring_dates"  # rows of the run's scoring dates (all rows outside a run)
WHOLE_TABLE = "table"

# The dtype GX sees for a contract type in a validation batch (validate.to_frame keeps
# strings and numbers as Arrow dtypes, dates and timestamps as datetime64).
GX_TYPES = {
    "VARCHAR": "str",
    "DATE": "datetime64",
    "TIMESTAMP": "datetime64",
    "TINYINT": "int",
    "SMALLINT": "int",
    "INTEGER": "int",
    "BIGINT": "int",
    "DOUBLE": "float",
}


# Range rules that hold for some rows only: (column, (condition column, value), min, max, text).
CONDITIONAL_RANGES: dict[str, tuple[tuple[str, tuple[str, str], float, float, str], ...]] = {
    "survey": (
        ("score", ("survey_type", "nps"), 0, 10, "an NPS answer is 0-10"),
        ("score", ("survey_type", "csat"), 1, 5, "a CSAT answer is 1-5"),
    ),
}

# A row rule of the contract of the form "<a> < <b>" (TRUE for a bad row) becomes a GX pair
# expectation a >= b.
_PAIR_RULE = re.compile(r"^\s*(\w+)\s*<\s*(\w+)\s*$")

# Per-source profile: the newest date of the source against the scoring date (the newest date
# in all exports), and the rows of the latest period (volume_window_days up to that date; 1 =
# the newest day) against the mean rows of a period over the volume_baseline_days before it.
PROFILE_SQL = """
with per_day as (
    select cast({time_column} as date) as day, count(*) as day_rows
    from {{table}}
    where {time_column} is not null
    group by 1
),
latest as (
    select max(day) as latest_date from per_day
),
measured as (
    select
        latest.latest_date,
        {{scoring_date}} as scoring_date,
        (select cast(sum(day_rows) as bigint) from per_day) as row_count,
        coalesce((
            select cast(sum(day_rows) as bigint) from per_day
            where day > latest.latest_date - {{volume_window_days}}
                and day <= latest.latest_date
        ), 0) as latest_period_rows,
        coalesce((
            select cast(sum(day_rows) as double) from per_day
            where day > latest.latest_date - {{volume_window_days}} - {{volume_baseline_days}}
                and day <= latest.latest_date - {{volume_window_days}}
        ), 0) * {{volume_window_days}} / {{volume_baseline_days}} as baseline_period_rows
    from latest
)
select
    latest_date,
    scoring_date,
    date_diff('day', latest_date, scoring_date) as lag_days,
    row_count,
    latest_period_rows,
    baseline_period_rows,
    latest_period_rows / nullif(baseline_period_rows, 0) as volume_ratio
from measured
""".strip()


def expectation(
    kind: str,
    description: str,
    *,
    severity: str = CRITICAL,
    frame: str = ROWS,
    **kwargs: Any,
) -> dict[str, Any]:
    """One expectation as GX serialises it, with the frame it runs on in its meta."""
    return {
        "type": kind,
        "kwargs": kwargs,
        "meta": {"frame": frame},
        "description": description,
        "severity": severity,
    }


def _uniqueness(
    columns: Iterable[str], description: str, severity: str = CRITICAL
) -> dict[str, Any]:
    columns = list(columns)
    if len(columns) == 1:
        return expectation(
            "expect_column_values_to_be_unique",
            description,
            severity=severity,
            frame=DUPLICATES,
            column=columns[0],
        )
    return expectation(
        "expect_compound_columns_to_be_unique",
        description,
        severity=severity,
        frame=DUPLICATES,
        column_list=columns,
    )


def _range(column: Column) -> dict[str, Any] | None:
    if column.min_value is None and column.max_value is None:
        return None
    if column.min_value is not None and column.max_value is not None:
        text = f"{column.name} is {column.min_value:g}-{column.max_value:g}"
    elif column.min_value is not None:
        text = f"{column.name} is at least {column.min_value:g}"
    else:
        text = f"{column.name} is at most {column.max_value:g}"
    return expectation(
        "expect_column_values_to_be_between",
        text,
        column=column.name,
        min_value=column.min_value,
        max_value=column.max_value,
    )


def export_suite(source: Source) -> dict[str, Any]:
    """The suite of one export, derived from its contract."""
    names = source.column_names
    exps: list[dict[str, Any]] = [
        expectation(
            "expect_table_columns_to_match_set",
            "every column of the contract is there (extra columns are allowed)",
            column_set=list(names),
            exact_match=False,
        )
    ]
    for column in source.columns:
        exps.append(
            expectation(
                "expect_column_values_to_be_of_type",
                f"{column.name} is {column.type}",
                column=column.name,
                type_=GX_TYPES.get(column.type.upper(), "str"),
            )
        )
    for column in source.columns:
        if column.required:
            exps.append(
                expectation(
                    "expect_column_values_to_not_be_null",
                    f"{column.name} is required",
                    column=column.name,
                )
            )
    for column in source.columns:
        if column.accepted:
            exps.append(
                expectation(
                    "expect_column_values_to_be_in_set",
                    f"{column.name} is one of {', '.join(column.accepted)}",
                    column=column.name,
                    value_set=list(column.accepted),
                )
            )
    for column in source.columns:
        rng = _range(column)
        if rng is not None:
            exps.append(rng)
    for column_name, condition, low, high, text in CONDITIONAL_RANGES.get(source.name, ()):
        if column_name in names:
            exps.append(
                expectation(
                    "expect_column_values_to_be_between",
                    text,
                    column=column_name,
                    min_value=low,
                    max_value=high,
                    # GX's serialisation of Column(<name>) == <value>
                    row_condition={
                        "type": "comparison",
                        "column": {"name": condition[0]},
                        "operator": "==",
                        "parameter": condition[1],
                    },
                )
            )
    for rule_name, predicate in source.row_rules:
        match = _PAIR_RULE.match(predicate)
        if match and set(match.groups()) <= set(names):
            later, earlier = match.groups()
            exps.append(
                expectation(
                    "expect_column_pair_values_a_to_be_greater_than_b",
                    f"{later} is on or after {earlier} (contract rule {rule_name})",
                    column_A=later,
                    column_B=earlier,
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                )
            )
    # Warnings: the ingest quarantines such rows (date_in_future); these see rows that
    # reached raw another way.
    for column in source.columns:
        if column.name in source.past_date_columns:
            exps.append(
                expectation(
                    "expect_column_values_to_be_between",
                    f"{column.name} is not in the future (not after the day the file was "
                    "loaded, plus future_tolerance_days)",
                    severity=WARNING,
                    column=column.name,
                    max_value={"$PARAMETER": "latest_plausible_date"},
                )
            )
    # A warning, not a block: the same key in two files (an export delivered twice, a
    # re-delivered day) is resolved by the contract - the newest version column, else the
    # newest file, wins - and duplicates within one file are quarantined by the ingest.
    key = list(source.key) + ([source.version_column] if source.version_column else [])
    exps.append(
        _uniqueness(
            key,
            f"one row per {', '.join(key)} among the files validated together (a key in two "
            "files is resolved by the newest version, else the newest file)",
            severity=WARNING,
        )
    )
    derived: dict[str, str] = {}
    if names_accounts(source):
        derived["_account_known"] = (
            f"{ACCOUNT_COLUMN} in (select {ACCOUNT_COLUMN} from raw.{ACCOUNTS_SOURCE})"
        )
        # A warning: the ingest quarantines rows of unknown accounts (unknown_account); rows
        # loaded before any accounts were, or whose account left the export, show here.
        exps.append(
            expectation(
                "expect_column_values_to_be_in_set",
                f"every {ACCOUNT_COLUMN} is known in the accounts export",
                severity=WARNING,
                column="_account_known",
                value_set=[True],
            )
        )
    # What blocks: problems of a whole file or source (healthmart.defs.quality.systemic).
    frames: dict[str, dict[str, Any]] = {FILES: files_frame(source)}
    exps.append(
        expectation(
            "expect_column_values_to_be_between",
            "quarantine share: at most quarantine_max_share of a file's rows quarantined at "
            "ingest (judged from quarantine_min_rows quarantined rows)",
            frame=FILES,
            column="quarantined_share",
            min_value=0,
            max_value={"$PARAMETER": "quarantine_max_share"},
        )
    )
    exps.append(
        expectation(
            "expect_column_values_to_be_between",
            "shrunk file: a new version of a file has at least file_min_size_ratio times the "
            "rows of the version before (judged from shrink_min_rows rows before)",
            frame=FILES,
            column="size_ratio",
            min_value={"$PARAMETER": "file_min_size_ratio"},
        )
    )
    if source.time_column:
        frames[PROFILE] = {
            "sql": PROFILE_SQL.format(time_column=source.time_column),
            "chunked": False,
            "index_columns": [
                "latest_date",
                "scoring_date",
                "latest_period_rows",
                "baseline_period_rows",
            ],
        }
        # Freshness warns; a source staler still blocks (healthmart.defs.quality.systemic).
        for label, severity, parameter in (
            ("freshness", WARNING, "freshness_max_lag_days"),
            ("stale source", CRITICAL, "stale_max_lag_days"),
        ):
            exps.append(
                expectation(
                    "expect_column_values_to_be_between",
                    f"{label}: the newest {source.time_column} is at most {parameter} before "
                    "the scoring date (the newest date in all exports)",
                    severity=severity,
                    frame=PROFILE,
                    column="lag_days",
                    min_value=0,
                    max_value={"$PARAMETER": parameter},
                )
            )
        exps.append(
            expectation(
                "expect_column_values_to_be_between",
                "volume: rows of the latest volume_window_days (1: the newest day) against "
                "the mean of such a period over the volume_baseline_days before",
                severity=WARNING,
                frame=PROFILE,
                column="volume_ratio",
                min_value={"$PARAMETER": "volume_min_ratio"},
                max_value={"$PARAMETER": "volume_max_ratio"},
            )
        )
    meta = {
        "asset_key": ["raw", source.name],
        "table": f"raw.{source.name}",
        "source": source.name,
        "scope": NEW_FILES,
        "index_columns": list(source.key),
        "derived_columns": derived,
        "frames": frames,
    }
    return _suite(f"raw_{source.name}", exps, meta)


def _suite(name: str, expectations: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    """Canonical GX serialisation (round-tripped through GX, so the files are what GX writes)."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(
        name=name, expectations=expectations, meta={"healthmart": meta}
    ).to_json_dict()
    suite["meta"].pop("great_expectations_version", None)
    return suite


# --------------------------------------------------------------------------------------------
# Mart suites
# --------------------------------------------------------------------------------------------

TIERS = ["critical", "at_risk", "attention", "healthy", "unscored"]
LIFECYCLE_STAGES = ["churned", "not_started", "onboarding", "mature"]
SCORE_COLUMNS = (
    "account_id",
    "score_date",
    "health_score",
    "computed_score",
    "tier",
    "colour",
    "coverage",
    "low_confidence",
    "delta_7d",
    "delta_30d",
)


def _score_expectations(current: bool = False) -> list[dict[str, Any]]:
    """current: fct_health_current, where an account never scored (e.g. churned before the
    first scoring date) has no score_date and tier unscored."""
    exps = [
        expectation(
            "expect_table_columns_to_match_set",
            "the mart columns of the contract are there",
            column_set=list(SCORE_COLUMNS),
            exact_match=False,
        ),
        expectation("expect_column_values_to_not_be_null", "account scored", column="account_id"),
        *(
            []
            if current
            else [
                expectation(
                    "expect_column_values_to_not_be_null", "scoring date", column="score_date"
                )
            ]
        ),
        expectation("expect_column_values_to_not_be_null", "every row has a tier", column="tier"),
        expectation(
            "expect_column_values_to_be_in_set",
            "tiers of seeds/tier_bands.csv",
            column="tier",
            value_set=TIERS,
        ),
    ]
    for column in ("health_score", "computed_score"):
        exps.append(
            expectation(
                "expect_column_values_to_be_between",
                f"{column} is within 0-100",
                column=column,
                min_value=0,
                max_value=100,
            )
        )
    exps.append(
        expectation(
            "expect_column_values_to_be_between",
            "coverage is a share, within 0-1",
            column="coverage",
            min_value=0,
            max_value=1,
        )
    )
    return exps


def mart_suites() -> list[dict[str, Any]]:
    """The suites of the key marts (hand-written: the marts are the product's contract)."""
    scores = _score_expectations() + [
        _uniqueness(["account_id", "score_date"], "one row per account and scoring date")
    ]
    current = [
        *_score_expectations(current=True),
        _uniqueness(["account_id"], "one current row per account"),
        expectation(
            "expect_column_values_to_be_in_set",
            "every account of dim_accounts has its current row",
            frame="accounts",
            column="has_current_row",
            value_set=[True],
        ),
    ]
    # fct_signal_scores is a view of fct_signal_scores_wide (one row per account-day, five
    # columns per signal): the wide rows are validated, each reduced by DuckDB to the lowest
    # and highest signal score and weight of the row (derived columns over every
    # signal_score__* / weight__* column, so a signal added to seeds/signal_config.csv is
    # checked without editing the suite) - a row per account-day, not one per signal.
    signals = [
        expectation(
            "expect_table_columns_to_match_set",
            "the key columns are there",
            column_set=["account_id", "score_date"],
            exact_match=False,
        ),
        expectation("expect_column_values_to_not_be_null", "account scored", column="account_id"),
        expectation("expect_column_values_to_not_be_null", "scoring date", column="score_date"),
        *(
            expectation(
                "expect_column_values_to_be_between",
                f"{what} ({bound} of the row)",
                column=f"{bound}_{column}",
                min_value=0,
                max_value=top,
            )
            for column, what, top in (
                ("signal_score", "every signal_score is within 0-100", 100),
                ("weight", "every weight is a share, within 0-1", 1),
            )
            for bound in ("lowest", "highest")
        ),
        _uniqueness(["account_id", "score_date"], "one row per account and scoring date"),
        expectation(
            "expect_column_values_to_be_between",
            "the weights of an account-day sum to 1 when any signal has data",
            frame="weights",
            column="weight_sum",
            min_value={"$PARAMETER": "weight_sum_min"},
            max_value={"$PARAMETER": "weight_sum_max"},
        ),
        expectation(
            "expect_column_values_to_be_in_set",
            "every signal of seeds/signal_config.csv has its five columns",
            frame="signal_columns",
            column="has_columns",
            value_set=[True],
        ),
    ]
    accounts = [
        expectation(
            "expect_table_columns_to_match_set",
            "the mart columns of the contract are there",
            column_set=["account_id", "tenure_days", "lifecycle_stage"],
            exact_match=False,
        ),
        expectation("expect_column_values_to_not_be_null", "account id", column="account_id"),
        _uniqueness(["account_id"], "one row per account"),
        expectation(
            "expect_column_values_to_be_in_set",
            "lifecycle stages",
            column="lifecycle_stage",
            value_set=LIFECYCLE_STAGES,
        ),
    ]

    def meta(
        model: str,
        scope: str,
        frames: dict[str, Any] | None = None,
        derived: dict[str, str] | None = None,
        columns: list[str] | None = None,
    ) -> dict[str, Any]:
        return {
            "asset_key": ["marts", model],
            "table": f"marts.{model}",
            "model": model,
            "scope": scope,
            "date_column": "score_date" if scope == SCORING_DATES else None,
            "index_columns": ["account_id", "score_date"]
            if scope == SCORING_DATES
            else ["account_id"],
            "derived_columns": derived or {},
            "frames": frames or {},
            # the table's columns the rows frame reads (default: all)
            **({"row_columns": columns} if columns else {}),
        }

    return [
        _suite("fct_health_scores", scores, meta("fct_health_scores", SCORING_DATES)),
        _suite(
            "fct_health_current",
            current,
            meta(
                "fct_health_current",
                WHOLE_TABLE,
                {
                    "accounts": {
                        "sql": "select d.account_id, exists (select 1 from {table} c where "
                        "c.account_id = d.account_id) as has_current_row "
                        "from marts.dim_accounts d",
                        "chunked": True,
                    }
                },
            ),
        ),
        _suite(
            "fct_signal_scores_wide",
            signals,
            meta(
                "fct_signal_scores_wide",
                SCORING_DATES,
                {
                    "weights": {
                        "sql": "select account_id, score_date, weight_sum from (select "
                        "account_id, score_date, list_count(list_value(*columns("
                        "'^signal_score__'))) as signals_with_score, coalesce(list_sum("
                        "list_value(*columns('^weight__'))), 0) as weight_sum from {rows}) "
                        "where signals_with_score > 0",
                        "chunked": True,
                    },
                    "signal_columns": {
                        "sql": "select config.signal, count(wide.column_name) = 5 as has_columns "
                        "from config.signal_config as config left join (describe {table}) as "
                        "wide on wide.column_name in ('raw_value__' || config.signal, "
                        "'raw_label__' || config.signal, 'signal_score__' || config.signal, "
                        "'has_data__' || config.signal, 'weight__' || config.signal) "
                        "group by config.signal",
                        "index_columns": ["signal"],
                    },
                },
                derived={
                    "lowest_signal_score": "least(*columns('^signal_score__'))",
                    "highest_signal_score": "greatest(*columns('^signal_score__'))",
                    "lowest_weight": "least(*columns('^weight__'))",
                    "highest_weight": "greatest(*columns('^weight__'))",
                },
                columns=["account_id", "score_date"],
            ),
        ),
        _suite("dim_accounts", accounts, meta("dim_accounts", WHOLE_TABLE)),
    ]


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suite:
    """A suite as loaded: its GX serialisation and where it came from."""

    data: dict[str, Any]
    path: Path | None  # None: derived from the contract (no file)

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def meta(self) -> dict[str, Any]:
        return self.data.get("meta", {}).get("healthmart", {})

    @property
    def expectations(self) -> list[dict[str, Any]]:
        return self.data["expectations"]

    @property
    def asset_key(self) -> tuple[str, ...]:
        return tuple(self.meta["asset_key"])

    @property
    def table(self) -> str:
        return self.meta["table"]

    @property
    def fingerprint(self) -> str:
        import hashlib

        return hashlib.sha256(json.dumps(self.data, sort_keys=True).encode()).hexdigest()[:16]


def suite_path(directory: Path, name: str) -> Path:
    return directory / f"{name}.json"


def load_suites(directory: Path = EXPECTATIONS_DIR) -> list[Suite]:
    """Every suite file of the folder, plus a derived suite for each contract source that has
    no file (a new source is validated from the day it appears in the contract)."""
    suites = [
        Suite(json.loads(path.read_text()), path)
        for path in sorted(directory.glob("*.json"))
        if path.name != PARAMETERS_FILE
    ]
    named = {suite.name for suite in suites}
    for source in SOURCES.values():
        if f"raw_{source.name}" not in named:
            suites.append(Suite(export_suite(source), None))
    return suites


def load_parameters(directory: Path = EXPECTATIONS_DIR) -> dict[str, dict[str, Any]]:
    """Suite parameters: ``defaults`` overlaid with the suite's own entry, per suite name."""
    path = directory / PARAMETERS_FILE
    if not path.exists():
        path = EXPECTATIONS_DIR / PARAMETERS_FILE
    data = json.loads(path.read_text())
    defaults = data.get("defaults", {})
    suites = data.get("suites", {})
    return {"*": dict(defaults)} | {name: defaults | values for name, values in suites.items()}


def parameters_for(parameters: dict[str, dict[str, Any]], suite: str) -> dict[str, Any]:
    return dict(parameters.get(suite, parameters.get("*", {})))


def write_suites(
    directory: Path = EXPECTATIONS_DIR, extra_sources: Iterable[Source] = ()
) -> list[Path]:
    """(Re)write the derived export suites and the mart suites as JSON files."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    sources = {**{s.name: s for s in extra_sources}, **SOURCES}
    for data in [export_suite(s) for s in sources.values()] + mart_suites():
        path = suite_path(directory, data["name"])
        path.write_text(json.dumps(data, indent=2) + "\n")
        written.append(path)
    return written


# The CSM overrides export, written beside the others until the contract has it.
OVERRIDES = Source(
    name="overrides",
    description="CSM overrides of the health score, valid for a period.",
    key=("account_id", "valid_from"),
    time_column="valid_from",
    columns=(
        Column("account_id", "VARCHAR", required=True),
        Column("health_score", "DOUBLE", min_value=0, max_value=100),
        Column("tier", "VARCHAR"),
        Column("author", "VARCHAR", required=True),
        Column("reason", "VARCHAR", required=True),
        Column("valid_from", "DATE", required=True),
        Column("valid_until", "DATE"),
    ),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write the derived expectation suites")
    parser.add_argument("--out", type=Path, default=EXPECTATIONS_DIR)
    args = parser.parse_args(argv)
    for path in write_suites(args.out, extra_sources=[OVERRIDES]):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
