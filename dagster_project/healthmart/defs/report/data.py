"""The health report's numbers: aggregated in SQL on the marts of the serving file (read-only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from healthmart.defs.report.style import css_colour

SCORE_BIN_WIDTH = 2.5


@dataclass(frozen=True)
class Tier:
    name: str
    colour: str  # CSS colour
    severity: int | None


@dataclass(frozen=True)
class Overview:
    as_of: date | None
    preset: str | None
    accounts: int
    customers: int
    mean_score: float | None
    low_confidence: int
    last_month: tuple[date, int, int, float] | None  # period start, churned, at start, rate


@dataclass(frozen=True)
class ReportData:
    overview: Overview
    tiers: list[Tier]
    tier_counts: pd.DataFrame
    churn_monthly: pd.DataFrame
    churn_backtest: pd.DataFrame
    score_bins: pd.DataFrame
    trend: pd.DataFrame
    drivers: pd.DataFrame
    actions: pd.DataFrame
    signals: pd.DataFrame


def _frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence | Mapping | None = None
) -> pd.DataFrame:
    """Run a query; a mart that does not exist (an older serving file) reads as no rows."""
    try:
        return con.execute(sql, params or []).df()
    except duckdb.CatalogException:
        return pd.DataFrame()


def load_overview(con: duckdb.DuckDBPyConnection) -> Overview:
    row = _frame(
        con,
        """
        select max(score_date) as as_of, mode(preset) as preset, count(*) as accounts,
               count(*) filter (where not is_churned) as customers,
               avg(health_score) filter (where not is_churned) as mean_score,
               count(*) filter (where not is_churned and low_confidence) as low_confidence
        from marts.fct_health_current
        """,
    )
    last = _frame(
        con,
        """
        select period_start, cast(churned as bigint) as churned, accounts_at_start, churn_rate
        from marts.fct_cohort_churn
        where period_type = 'month' and cohort_type = 'all'
        order by period_start desc
        limit 1
        """,
    )
    if row.empty:
        return Overview(None, None, 0, 0, None, 0, None)
    r = row.iloc[0]
    return Overview(
        as_of=None if pd.isna(r.as_of) else pd.Timestamp(r.as_of).date(),
        preset=None if pd.isna(r.preset) else str(r.preset),
        accounts=int(r.accounts),
        customers=int(r.customers),
        mean_score=None if pd.isna(r.mean_score) else float(r.mean_score),
        low_confidence=int(r.low_confidence),
        last_month=None
        if last.empty
        else (
            pd.Timestamp(last.period_start[0]).date(),
            int(last.churned[0]),
            int(last.accounts_at_start[0]),
            float(last.churn_rate[0]),
        ),
    )


def load_tiers(con: duckdb.DuckDBPyConnection) -> list[Tier]:
    """Every tier the marts use with its colour, best (healthy) first, unscored last."""
    rows = _frame(
        con,
        """
        select tier, any_value(colour) as colour, min(tier_severity) as severity
        from (
            select tier, colour, tier_severity from marts.fct_health_current
            union all
            select tier, colour, tier_severity from marts.fct_health_scores
        )
        where tier is not null
        group by tier
        order by severity nulls last, tier
        """,
    )
    return [
        Tier(
            name=str(r.tier),
            colour=css_colour(r.colour),
            severity=None if pd.isna(r.severity) else int(r.severity),
        )
        for r in rows.itertuples()
    ]


def load_tier_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return _frame(
        con,
        """
        select tier, any_value(colour) as colour, min(tier_severity) as severity,
               count(*) as accounts, sum(arr) as arr, avg(health_score) as mean_score
        from marts.fct_health_current
        where not is_churned
        group by tier
        order by severity nulls last, tier
        """,
    )


def load_churn_monthly(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return _frame(
        con,
        """
        select cohort as tier, count(distinct period_start) as months,
               cast(sum(accounts_at_start) as bigint) as account_months,
               cast(sum(churned) as bigint) as churned,
               sum(churned) / nullif(sum(accounts_at_start), 0) as churn_rate,
               sum(arr_churned) / nullif(sum(arr_at_start), 0) as arr_churn_rate
        from marts.fct_cohort_churn
        where period_type = 'month' and cohort_type = 'tier'
        group by cohort
        """,
    )


def load_churn_backtest(con: duckdb.DuckDBPyConnection, preset: str | None) -> pd.DataFrame:
    return _frame(
        con,
        """
        select tier, horizon_days, accounts, scored_account_days,
               cast(churned_within_horizon as bigint) as churned, churn_rate_within_horizon
        from marts.fct_backtest_churn_by_tier
        where preset = ?
        """,
        [preset],
    )


# verdicts of fct_backtest_signals that a weighted signal should not have, and what they mean
NOT_PREDICTIVE = {
    "inverted": "points the wrong way",
    "uninformative": "no better than chance",
}


def not_predictive(weight: float, verdict: str) -> str | None:
    """What is wrong with a signal of the backtest that carries weight and does not predict
    churn; None when nothing is."""
    return NOT_PREDICTIVE.get(verdict) if weight > 0 else None


def load_backtest_signals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each signal's own AUC against churn within the horizon (fct_backtest_signals): the
    weighted signals first, the weakest first."""
    return _frame(
        con,
        """
        select signal, preset, preset_weight, auc, auc_low, auc_high, with_data_share,
               verdict, horizon_days, churned_accounts
        from marts.fct_backtest_signals
        order by preset_weight = 0, auc nulls last, signal
        """,
    )


def load_score_bins(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Current customers per tier and score bin (the histogram, binned in SQL)."""
    return _frame(
        con,
        """
        select tier, least(floor(health_score / $width), 100 / $width - 1) * $width as bin_start,
               count(*) as accounts
        from marts.fct_health_current
        where not is_churned and health_score is not null
        group by all
        order by bin_start
        """,
        {"width": SCORE_BIN_WIDTH},
    )


def load_trend(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per week: the share of scored account-days in each tier and the mean score."""
    return _frame(
        con,
        """
        with daily as (
            select score_date, tier, count(*) as account_days,
                   sum(health_score) as score_sum, count(health_score) as scored
            from marts.fct_health_scores
            group by score_date, tier
        ),
        weekly as (
            select date_trunc('week', score_date) as week_start, tier,
                   sum(account_days) as account_days, sum(score_sum) as score_sum,
                   sum(scored) as scored
            from daily
            group by all
        )
        select week_start, tier, account_days,
               account_days / sum(account_days) over (partition by week_start) as share,
               sum(score_sum) over (partition by week_start)
                   / nullif(sum(scored) over (partition by week_start), 0) as mean_score
        from weekly
        order by week_start, tier
        """,
    )


def load_drivers(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Points lost per signal on the latest scoring date: sum of weight x (100 - score)."""
    return _frame(
        con,
        """
        select signal, any_value(dimension) as dimension, count(*) as accounts,
               sum(weight * (100 - signal_score)) as points_lost,
               avg(weight * (100 - signal_score)) as points_lost_per_account,
               avg(signal_score) as mean_signal_score
        from marts.fct_signal_scores
        where score_date = (select max(score_date) from marts.fct_signal_scores)
          and signal_score is not null and weight > 0
        group by signal
        order by points_lost desc
        """,
    )


def load_actions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Current customers needing action on the latest scoring date (mart fct_account_actions),
    one row per account: its reasons, most urgent play first, then by value at risk."""
    return _frame(
        con,
        """
        with latest as (
            select max(score_date) as score_date
            from marts.fct_health_current
            where not is_churned
        ),
        actions as (
            select *
            from marts.fct_account_actions
            where score_date = (select score_date from latest)
        ),
        per_account as (
            select account_id,
                   string_agg(reason, '; ' order by action_rank) as reason,
                   arg_min(play, action_rank) as play,
                   min(priority) as priority,
                   min(next_renewal_date) as next_renewal_date
            from actions
            group by account_id
        )
        select c.account_id, c.account_name, p.reason, p.play, p.priority,
               c.health_score, c.tier, c.colour, c.delta_30d, c.arr,
               p.next_renewal_date, c.top_drivers, c.csm_owner, v.value_at_risk
        from per_account as p
        join marts.fct_health_current as c using (account_id)
        left join marts.fct_customer_value as v using (account_id)
        where not c.is_churned
        order by p.priority, v.value_at_risk desc nulls last, c.tier_severity desc nulls last,
                 c.health_score, c.account_id
        """,
    )


def load_report_data(serving_path: Path) -> ReportData:
    con = duckdb.connect(str(serving_path), read_only=True)
    try:
        overview = load_overview(con)
        return ReportData(
            overview=overview,
            tiers=load_tiers(con),
            tier_counts=load_tier_counts(con),
            churn_monthly=load_churn_monthly(con),
            churn_backtest=load_churn_backtest(con, overview.preset),
            score_bins=load_score_bins(con),
            trend=load_trend(con),
            drivers=load_drivers(con),
            actions=load_actions(con),
            signals=load_backtest_signals(con),
        )
    finally:
        con.close()
