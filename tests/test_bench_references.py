"""The benchmark's references score exactly as the pipeline does.

Small generated exports (200 accounts, 3 months) plus a few corrections dropped as extra files
(a newer version of an account, an invoice voided later, a stale re-export of a ticket, a
usage row exported twice) go through the real daily job (`healthmart run`); the hand-written
DuckDB script and the pandas implementation must then give every customer of the latest scoring
date the same computed score (within 0.01) and tier as `marts.fct_health_scores`, and the
full-history DuckDB script every account-day of every date the job published.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from benchmarks import reference_history, reference_pandas, reference_sql
from benchmarks.checks import (
    compare,
    compare_history,
    pipeline_scores,
    published_account_days,
)
from benchmarks.exports import add_new_day, last_activity_date
from healthmart.cli.run import run
from healthmart.core.settings import Settings
from healthmart.generate.exports import generate_exports


def write_corrections(exports: Path) -> dict[str, str]:
    """Extra files that only the staging dedupe rules score right; returns what they change."""
    accounts = pd.read_csv(exports / "accounts" / "accounts.csv", dtype=str)
    usage = duckdb.sql(
        f"select * from read_parquet('{exports}/usage/*.parquet') "
        "where user_id is not null order by activity_date desc, account_id limit 1"
    ).df()
    billing = pd.read_csv(exports / "billing" / "billing.csv.gz", dtype=str)
    support = pd.read_csv(exports / "support" / "support.csv", dtype=str)

    # a newer version of one account: fewer seats and another segment
    account = accounts.iloc[[0]].copy()
    account["licensed_seats"] = "3"
    account["segment"] = "Enterprise"
    account["updated_at"] = "2026-10-31T00:00:00Z"  # after every generated one, not in the future
    account.to_csv(exports / "accounts" / "accounts_correction.csv", index=False)

    # the most recent paid invoice of another account, voided later
    invoice = billing[billing["status"] == "paid"].sort_values("issued_date").iloc[[-1]].copy()
    invoice["status"] = "void"
    invoice["updated_at"] = "2026-10-31T00:00:00Z"
    invoice.to_csv(exports / "billing" / "billing_correction.csv", index=False)

    # an older version of a recent ticket, re-exported: must not win
    ticket = support.dropna(subset=["updated_at"]).sort_values("opened_at").iloc[[-1]].copy()
    ticket["priority"] = "urgent"
    ticket["category"] = "incident"
    ticket["updated_at"] = "2000-01-01T00:00:00Z"
    ticket.to_csv(exports / "support" / "support_stale.csv", index=False)

    # a usage row exported again in a newer file with another event count: the newer file wins
    usage["event_count"] = usage["event_count"] * 10 + 5
    usage.to_parquet(exports / "usage" / "usage_redelivery.parquet", index=False)
    return {
        "account": account["account_id"].iloc[0],
        "invoice": invoice["invoice_id"].iloc[0],
        "ticket": ticket["ticket_id"].iloc[0],
    }


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, pd.DataFrame]:
    root = tmp_path_factory.mktemp("bench_references")
    settings = Settings(
        exports_dir=root / "exports",
        serving_path=root / "serving" / "healthmart.duckdb",
        warehouse_path=root / "warehouse.duckdb",
        preset="hbr",
    )
    generate_exports(settings.exports_dir, accounts=200, months=3, seed=7)
    write_corrections(settings.exports_dir)
    mp = pytest.MonkeyPatch()
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    mp.setenv("HEALTHMART_REPORT_PATH", str(root / "health_report.html"))
    try:
        assert run(settings, accounts=0, months=0, seed=0) == 0
    finally:
        mp.undo()
    return settings, pipeline_scores(settings.serving_path)


def test_the_pipeline_scored_a_real_population(small_run: tuple[Settings, pd.DataFrame]) -> None:
    settings, ours = small_run
    last = last_activity_date(settings.exports_dir)
    assert {pd.Timestamp(d).date() for d in ours["score_date"]} == {
        last + pd.Timedelta(days=1).to_pytimedelta()
    }
    assert 100 < len(ours) <= 200
    assert ours["computed_score"].notna().all()
    assert ours["tier"].nunique() >= 3


def test_sql_reference_equals_the_pipeline(small_run: tuple[Settings, pd.DataFrame]) -> None:
    settings, ours = small_run
    reference = reference_sql.current_scores(settings.exports_dir, preset="hbr")
    result = compare(ours, reference, "pipeline vs SQL reference")
    assert result["mismatches"] == 0, result
    assert result["accounts"] == len(ours)
    # the default config assigns the run's preset to both lifecycle stages; scores with
    # missing signals (coverage < 1) are exercised
    assert set(reference["preset"]) == {"hbr"}
    assert (reference["coverage"] < 1).any() and (reference["coverage"] == 1).any()


def test_pandas_reference_equals_the_pipeline(small_run: tuple[Settings, pd.DataFrame]) -> None:
    settings, ours = small_run
    reference = reference_pandas.current_scores(settings.exports_dir, preset="hbr")
    result = compare(ours, reference, "pipeline vs pandas reference")
    assert result["mismatches"] == 0, result
    assert result["accounts"] == len(ours)


def test_history_reference_equals_the_pipeline_on_every_date(
    small_run: tuple[Settings, pd.DataFrame], tmp_path: Path
) -> None:
    settings, ours = small_run
    out = tmp_path / "history.parquet"
    rows = reference_history.write_history(settings.exports_dir, out, preset="hbr")
    result = compare_history(settings.serving_path, out, "pipeline vs full-history reference")
    assert result["mismatches"] == 0, result
    assert result["account_days"] == rows == published_account_days(settings.serving_path)
    # every date from the warm-up (history_warmup_days = 30 after the first activity) to the
    # day after the last activity: far more than one date's customers
    first = last_activity_date(settings.exports_dir, "min") + timedelta(days=30)
    last = last_activity_date(settings.exports_dir) + timedelta(days=1)
    assert result["score_dates"] == [first.isoformat(), last.isoformat()]
    assert result["dates"] == (last - first).days + 1 > 30
    assert result["account_days"] > 30 * len(ours)

    # the check is not vacuous: a score 0.02 off, another tier and a missing account-day
    broken = tmp_path / "broken.parquet"
    duckdb.sql(
        f"""
        copy (
            select
                account_id, score_date, preset,
                case when rn = 1 then computed_score + 0.02 else computed_score end
                as computed_score,
                case when rn = 2 then 'healthy_or_not' else tier end as tier,
                coverage
            from (
                select
                    *,
                    row_number() over (
                        order by computed_score is null, account_id, score_date
                    ) as rn
                from read_parquet('{out}')
            )
            where rn <> 3
        ) to '{broken}' (format parquet)
        """
    )
    broken_result = compare_history(settings.serving_path, broken, "broken")
    assert broken_result["score_mismatches"] == 1
    assert broken_result["tier_mismatches"] == 1
    assert broken_result["only_in_first"] == 1
    assert broken_result["mismatches"] == 3


def test_a_new_day_of_exports_moves_the_scoring_date(tmp_path: Path) -> None:
    """The harness's incremental day: each event source gets the last day's rows one day
    later, with new ids, and the references score the day after it."""
    exports = tmp_path / "exports"
    generate_exports(exports, accounts=30, months=3, seed=3)
    before = reference_sql.current_scores(exports)
    last = last_activity_date(exports)
    new_day = add_new_day(exports)
    assert new_day == last + pd.Timedelta(days=1).to_pytimedelta()
    assert last_activity_date(exports) == new_day
    for source in ("usage", "billing", "support", "survey", "csm"):
        assert list((exports / source).glob("*bench_day_*")), source
    after = reference_sql.current_scores(exports)
    assert {pd.Timestamp(d).date() for d in after["score_date"]} == {
        new_day + pd.Timedelta(days=1).to_pytimedelta()
    }
    # no outcome lands on the new day: every customer of the day before is still one
    assert set(before["account_id"]) <= set(after["account_id"])
    assert compare(after, reference_pandas.current_scores(exports), "new day")["mismatches"] == 0


def test_the_history_reference_gets_at_least_the_pipeline_s_memory() -> None:
    from benchmarks.harness import HISTORY_MEMORY_LIMIT, history_memory_limit

    assert history_memory_limit("3GB") == HISTORY_MEMORY_LIMIT
    assert history_memory_limit("500MB") == HISTORY_MEMORY_LIMIT
    assert history_memory_limit("3GiB") == HISTORY_MEMORY_LIMIT
    assert history_memory_limit("16GB") == "16GB"
    assert history_memory_limit("2TB") == "2TB"
    # a limit it cannot read is the pipeline's, passed on to DuckDB as it is
    assert history_memory_limit("lots") == "lots"
