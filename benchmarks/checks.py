"""The benchmark's checks: the pipeline's published scores against a reference's.

`compare` matches the scores of one date (DataFrames of a few hundred thousand rows at most);
`compare_history` matches every account-day of a full build with the full-history reference,
joined in DuckDB (the serving file attached read-only, the reference's Parquet file read as
is): neither side is loaded into Python.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pandas as pd

from benchmarks.reference_sql import sql_literal
from healthmart.core.settings import DEFAULT_MEMORY_LIMIT

TOLERANCE = 0.01


def pipeline_scores(serving_path: Path) -> pd.DataFrame:
    """computed_score and computed_tier of the latest scoring date of the published marts."""
    con = duckdb.connect(str(serving_path), read_only=True)
    try:
        return con.execute(
            """
            select account_id, score_date, computed_score, computed_tier as tier
            from marts.fct_health_scores
            where score_date = (select max(score_date) from marts.fct_health_scores)
            """
        ).df()
    finally:
        con.close()


def compare(expected: pd.DataFrame, actual: pd.DataFrame, what: str) -> dict:
    """Accounts missing on either side, scores further apart than TOLERANCE, other tiers."""
    merged = expected.merge(
        actual, on="account_id", how="outer", suffixes=("_a", "_b"), indicator=True
    )
    both = merged[merged["_merge"] == "both"]
    a, b = both["computed_score_a"].astype(float), both["computed_score_b"].astype(float)
    score_off = ((a - b).abs() > TOLERANCE) | (a.isna() != b.isna())
    tier_off = (both["tier_a"] != both["tier_b"]) & ~score_off & ((a - b).abs() == 0)
    dates_a = {str(pd.Timestamp(d).date()) for d in expected["score_date"].dropna().unique()}
    dates_b = {str(pd.Timestamp(d).date()) for d in actual["score_date"].dropna().unique()}
    result = {
        "what": what,
        "accounts": int(len(merged)),
        "score_dates": sorted(dates_a | dates_b),
        "only_in_first": int((merged["_merge"] == "left_only").sum()),
        "only_in_second": int((merged["_merge"] == "right_only").sum()),
        "score_mismatches": int(score_off.sum()),
        "tier_mismatches": int(tier_off.sum()),
        "max_abs_diff": float((a - b).abs().max()) if len(both) else 0.0,
        "examples": both.loc[score_off, ["account_id", "computed_score_a", "computed_score_b"]]
        .head(5)
        .to_dict("records"),
    }
    result["mismatches"] = (
        result["only_in_first"]
        + result["only_in_second"]
        + result["score_mismatches"]
        + result["tier_mismatches"]
        + (0 if dates_a == dates_b else 1)
    )
    status = "OK" if result["mismatches"] == 0 else "MISMATCH"
    print(
        f"  check {what}: {status} ({result['accounts']:,} accounts, "
        f"{result['mismatches']} mismatches, max |diff| {result['max_abs_diff']:.4f})",
        flush=True,
    )
    return result


def published_account_days(serving_path: Path) -> int:
    """The number of account-days in marts.fct_health_scores (all published dates)."""
    con = duckdb.connect(str(serving_path), read_only=True)
    try:
        return con.execute("select count(*) from marts.fct_health_scores").fetchone()[0]
    finally:
        con.close()


def parquet_rows(path: Path) -> int:
    """The number of rows of a Parquet file (the account-days a full-history run scored)."""
    con = duckdb.connect()
    try:
        query = f"select count(*) from read_parquet({sql_literal(str(path))})"
        return con.execute(query).fetchone()[0]
    finally:
        con.close()


def history_scores(history_path: Path, score_date: str = "latest") -> pd.DataFrame:
    """One date of the full-history reference's scores (default: its latest date)."""
    path = sql_literal(str(history_path))
    date = (
        f"(select max(score_date) from read_parquet({path}))"
        if score_date == "latest"
        else f"DATE {sql_literal(score_date)}"
    )
    return duckdb.sql(f"select * from read_parquet({path}) where score_date = {date}").df()


HISTORY_COMPARISON = """
with

pipeline as (
    select account_id, score_date, preset, computed_score, computed_tier as tier, coverage
    from serving.marts.fct_health_scores
),

reference as (
    select account_id, score_date, preset, computed_score, tier, coverage
    from read_parquet({history})
),

joined as (
    select
        coalesce(pipeline.account_id, reference.account_id) as account_id,
        coalesce(pipeline.score_date, reference.score_date) as score_date,
        pipeline.account_id is not null as in_pipeline,
        reference.account_id is not null as in_reference,
        pipeline.computed_score as pipeline_score,
        reference.computed_score as reference_score,
        pipeline.tier as pipeline_tier,
        reference.tier as reference_tier,
        -- further apart than the tolerance (a difference of one rounding step is within it)
        round(abs(pipeline.computed_score - reference.computed_score), 9) > {tolerance}
        or (pipeline.computed_score is null) <> (reference.computed_score is null)
        as score_off,
        pipeline.tier is distinct from reference.tier as tier_off,
        pipeline.preset is distinct from reference.preset as preset_off,
        round(abs(pipeline.coverage - reference.coverage), 9) > 1e-6
        or (pipeline.coverage is null) <> (reference.coverage is null) as coverage_off
    from pipeline
    full outer join reference
        on pipeline.account_id = reference.account_id
        and pipeline.score_date = reference.score_date
)
"""


def compare_history(
    serving_path: Path, history_path: Path, what: str, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> dict:
    """Every account-day of marts.fct_health_scores against the full-history reference:
    account-days missing on either side and, on the ones in both, computed scores further
    apart than TOLERANCE, other tiers (when the scores agree), other presets or coverage."""
    query = HISTORY_COMPARISON.format(history=sql_literal(str(history_path)), tolerance=TOLERANCE)
    with tempfile.TemporaryDirectory(prefix="compare_history_") as spill:
        con = duckdb.connect()
        try:
            con.execute("SET enable_progress_bar = false")
            con.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
            con.execute(f"SET temp_directory = {sql_literal(spill)}")
            con.execute(f"ATTACH {sql_literal(str(serving_path))} AS serving (READ_ONLY)")
            counts = con.execute(
                query
                + """
                select
                    count(*) filter (where in_pipeline and in_reference),
                    count(distinct score_date),
                    min(score_date),
                    max(score_date),
                    count(distinct account_id),
                    count(*) filter (where not in_reference),
                    count(*) filter (where not in_pipeline),
                    count(*) filter (where in_pipeline and in_reference and score_off),
                    count(*) filter (
                        where in_pipeline and in_reference and not score_off and tier_off
                    ),
                    count(*) filter (where in_pipeline and in_reference and preset_off),
                    count(*) filter (where in_pipeline and in_reference and coverage_off),
                    coalesce(max(abs(pipeline_score - reference_score)), 0)
                from joined
                """
            ).fetchone()
            examples = con.execute(
                query
                + """
                select
                    account_id, cast(score_date as varchar) as score_date,
                    pipeline_score, reference_score, pipeline_tier, reference_tier
                from joined
                where not (in_pipeline and in_reference)
                    or score_off or tier_off or preset_off or coverage_off
                order by score_date, account_id
                limit 5
                """
            ).df()
        finally:
            con.close()
    (
        account_days,
        dates,
        first,
        last,
        accounts,
        only_pipeline,
        only_reference,
        score_off,
        tier_off,
        preset_off,
        coverage_off,
        max_diff,
    ) = counts
    result = {
        "what": what,
        "account_days": int(account_days),
        "accounts": int(accounts),
        "dates": int(dates),
        "score_dates": [str(first), str(last)] if dates else [],
        "only_in_first": int(only_pipeline),
        "only_in_second": int(only_reference),
        "score_mismatches": int(score_off),
        "tier_mismatches": int(tier_off),
        "preset_mismatches": int(preset_off),
        "coverage_mismatches": int(coverage_off),
        "max_abs_diff": float(max_diff),
        "examples": examples.astype(object).where(examples.notna(), None).to_dict("records"),
    }
    result["mismatches"] = sum(
        result[k]
        for k in (
            "only_in_first",
            "only_in_second",
            "score_mismatches",
            "tier_mismatches",
            "preset_mismatches",
            "coverage_mismatches",
        )
    )
    status = "OK" if result["mismatches"] == 0 else "MISMATCH"
    print(
        f"  check {what}: {status} ({result['account_days']:,} account-days on "
        f"{result['dates']} dates, {result['mismatches']} mismatches, "
        f"max |diff| {result['max_abs_diff']:.4f})",
        flush=True,
    )
    return result
