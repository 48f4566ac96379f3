"""Expectation suites as blocking Dagster asset checks.

One check per suite: ``gx_raw_<source>`` on each ingest asset, ``gx_<model>`` on the key marts.
A failed expectation of severity ``critical`` fails its check with ERROR severity; as every
check is blocking, nothing downstream of that asset runs in the run: no dbt build after a bad
export, no publication of the serving file after a bad mart (the last good file stays
served). A failed ``warning`` expectation gives a WARN check result and the run goes on.
Every outcome is written to ``quality.validation_results`` and shown in the check's metadata.
"""

import json
from pathlib import Path
from typing import Any

import dagster as dg

from healthmart.core.contract import ACCOUNTS_SOURCE, SOURCES, names_accounts
from healthmart.core.resources import HealthmartSettings
from healthmart.defs.dbt.assets import mart_asset_key, run_scoring_dates
from healthmart.defs.quality.results import RESULTS_TABLE, validate_and_record
from healthmart.defs.quality.suites import (
    Suite,
    export_suite,
    load_parameters,
    parameters_for,
    suite_path,
)
from healthmart.defs.quality.systemic import blocking_message
from healthmart.defs.quality.validate import Outcome, SuiteResult, outcome_summary

# The key marts with a suite (expectations/<model>.json).
MART_SUITES = (
    "dim_accounts",
    "fct_signal_scores_wide",
    "fct_health_scores",
    "fct_health_current",
)


def load_suite(directory: Path, name: str) -> Suite:
    """The suite file of that name; for an export without a file, the suite derived from the
    contract (so a new source is checked from the day it is added)."""
    path = suite_path(directory, name)
    if path.exists():
        return Suite(json.loads(path.read_text()), path)
    source = name.removeprefix("raw_")
    if name.startswith("raw_") and source in SOURCES:
        return Suite(export_suite(SOURCES[source]), None)
    raise FileNotFoundError(f"no expectation suite {path}")


def failure_line(suite: str, outcome: Outcome, parameters: dict[str, Any]) -> str:
    """One line for a failed expectation: what a systemic check blocked for (the file or source
    and by how much), else the expectation, its counts and a few examples."""
    message = None
    if outcome.blocking:
        message = blocking_message(suite, outcome.column, outcome.examples, parameters)
    return message or f"{suite}: {outcome_summary(outcome)} e.g. {list(outcome.examples)[:3]}"


def check_metadata(result: SuiteResult, suite: Suite, run_id: str) -> dict[str, Any]:
    failed = [o for o in result.outcomes if not o.success]
    lines = [
        "| expectation | column | severity | unexpected | of | examples |",
        "|---|---|---|---|---|---|",
    ]
    for o in failed:
        examples = ", ".join(str(e) for e in o.examples[:3]).replace("|", "\\|")
        unexpected = o.unexpected_count if o.unexpected_count is not None else o.observed_value
        lines.append(
            f"| {o.expectation_type} | {o.column or ''} | {o.severity} | {unexpected} "
            f"| {o.element_count if o.element_count is not None else ''} | {examples} |"
        )
    blocked = [failure_line(suite.name, o, result.parameters) for o in result.blocking_failures]
    return {
        "suite": suite.name,
        "blocked_because": dg.MetadataValue.md("\n".join(f"- {b}" for b in blocked) or "none"),
        "suite_file": str(suite.path) if suite.path else "derived from the contract",
        "scope": result.scope,
        "rows_validated": result.rows_validated,
        "chunks": result.chunks,
        "seconds": round(result.seconds, 2),
        "expectations": len(result.outcomes),
        "blocking_failures": len(result.blocking_failures),
        "warnings": len(result.warnings),
        "failed_expectations": dg.MetadataValue.md(
            "\n".join(lines) if failed else "all expectations met"
        ),
        "results": dg.MetadataValue.text(
            f"select * from {RESULTS_TABLE} where run_id = '{run_id}' and suite = '{suite.name}'"
        ),
    }


def build_suite_check(
    suite_name: str, asset_key: dg.AssetKey, additional_deps: list[dg.AssetKey]
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_key,
        name=f"gx_{suite_name}",
        description=(
            f"Great Expectations suite expectations/{suite_name}.json: critical expectations "
            "block what is downstream, warnings are reported."
        ),
        blocking=True,
        additional_deps=additional_deps or None,
    )
    def _check(
        context: dg.AssetCheckExecutionContext, settings: HealthmartSettings
    ) -> dg.AssetCheckResult:
        resolved = settings.resolve()
        suite = load_suite(resolved.expectations_dir, suite_name)
        parameters = parameters_for(load_parameters(resolved.expectations_dir), suite.name)
        run_id = context.run.run_id
        _, window = run_scoring_dates(context.run, resolved)
        result = validate_and_record(
            resolved.warehouse_path,
            suite,
            parameters,
            run_id=run_id,
            date_range=window,
            chunk_rows=resolved.quality_chunk_rows,
            memory_limit=resolved.duckdb_memory_limit,
        )
        for outcome in result.outcomes:
            if not outcome.success:
                log = context.log.error if outcome.blocking else context.log.warning
                log(failure_line(suite.name, outcome, result.parameters))
        context.log.info(
            f"{suite.name}: {result.rows_validated} rows ({result.scope}) in "
            f"{result.seconds:.1f} s, {len(result.blocking_failures)} blocking failure(s), "
            f"{len(result.warnings)} warning(s)"
        )
        if result.blocking_failures:
            severity = dg.AssetCheckSeverity.ERROR
        else:
            severity = dg.AssetCheckSeverity.WARN
        return dg.AssetCheckResult(
            passed=result.success,
            severity=severity,
            metadata=check_metadata(result, suite, run_id),
        )

    return _check


def build_checks() -> list[dg.AssetChecksDefinition]:
    checks = []
    accounts_key = dg.AssetKey(["raw", ACCOUNTS_SOURCE])
    for source in SOURCES.values():
        references = names_accounts(source)
        checks.append(
            build_suite_check(
                f"raw_{source.name}",
                dg.AssetKey(["raw", source.name]),
                [accounts_key] if references else [],
            )
        )
    for model in MART_SUITES:
        # fct_health_current is checked against dim_accounts (every account has its row)
        deps = [mart_asset_key("dim_accounts")] if model == "fct_health_current" else []
        checks.append(build_suite_check(model, mart_asset_key(model), deps))
    return checks


quality_checks = build_checks()

__all__ = ["MART_SUITES", "build_checks", "quality_checks"]
