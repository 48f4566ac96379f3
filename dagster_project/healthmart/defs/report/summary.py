"""The summary printed at the end of a run, read from the serving file (read-only)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from healthmart.defs.report.data import load_backtest_signals, not_predictive

EXAMPLE_QUERIES = (
    (
        "Today's actions: who needs what, most urgent play first, then by value at risk",
        """select a.account_id, a.play, a.reason, a.tier, a.health_score, a.csm_owner,
       v.value_at_risk
from marts.fct_account_actions as a
left join marts.fct_customer_value as v using (account_id)
where a.score_date = (select max(score_date) from marts.fct_account_actions)
order by a.priority, v.value_at_risk desc nulls last
limit 20;""",
    ),
    (
        "At-risk and critical customers with the signals pulling them down",
        """select account_id, account_name, health_score, tier, top_drivers, arr, contract_end
from marts.fct_health_current
where not is_churned and tier in ('critical', 'at_risk')
order by health_score, arr desc
limit 20;""",
    ),
    (
        "Monthly churn rate by tier at the start of the month",
        """select period_start, cohort as tier, accounts_at_start, churned,
       round(100 * churn_rate, 1) as churn_rate_pct
from marts.fct_cohort_churn
where period_type = 'month' and cohort_type = 'tier'
order by period_start, tier;""",
    ),
)


def _tier_order(column: str) -> str:
    """SQL that sorts tiers from worst to best, unknown tiers last."""
    return (
        f"case {column} when 'critical' then 1 when 'at_risk' then 2 "
        f"when 'attention' then 3 when 'healthy' then 4 else 5 end"
    )


def render_summary(serving_path: Path) -> str:
    """A plain-text report of the published mart."""
    con = duckdb.connect(str(serving_path), read_only=True)
    try:
        return "\n".join(_sections(con, serving_path))
    finally:
        con.close()


def _sections(con: duckdb.DuckDBPyConnection, serving_path: Path) -> list[str]:
    lines: list[str] = []
    as_of, preset, accounts, customers = con.execute(
        """
        select max(score_date), mode(preset), count(*), count(*) filter (where not is_churned)
        from marts.fct_health_current
        """
    ).fetchone()
    lines += [
        "",
        "=" * 78,
        f"healthmart: customer health as of {as_of}  (preset: {preset})",
        "=" * 78,
        f"{accounts} accounts in the export; {customers} current customers, "
        f"{accounts - customers} churned.",
        "",
        "Current customers per tier:",
    ]
    rows = con.execute(
        f"""
        select tier, count(*) as accounts, round(avg(health_score), 1) as mean_score,
               round(sum(arr)) as arr, count(*) filter (where low_confidence) as low_confidence
        from marts.fct_health_current
        where not is_churned
        group by tier
        order by {_tier_order("tier")}
        """
    ).fetchall()
    lines.append(
        f"  {'tier':<10} {'accounts':>8} {'share':>7} {'mean score':>10} {'ARR':>14} "
        f"{'low conf.':>9}"
    )
    for tier, n, mean_score, arr, low in rows:
        share = 100.0 * n / customers if customers else 0.0
        lines.append(
            f"  {tier:<10} {n:>8} {share:>6.1f}% {_num(mean_score):>10} {_num(arr):>14} {low:>9}"
        )

    lines += ["", "Churn by tier over the history (tier at the start of each month):"]
    rows = con.execute(
        f"""
        select cohort as tier, sum(accounts_at_start), sum(churned),
               sum(churned) / sum(accounts_at_start) as monthly_rate
        from marts.fct_cohort_churn
        where period_type = 'month' and cohort_type = 'tier'
        group by cohort
        order by {_tier_order("cohort")}
        """
    ).fetchall()
    backtest = {
        tier: (days, churned, rate)
        for tier, days, churned, rate in con.execute(
            """
            select tier, scored_account_days, churned_within_horizon, churn_rate_within_horizon
            from marts.fct_backtest_churn_by_tier
            where preset = ?
            """,
            [preset],
        ).fetchall()
    }
    horizon = con.execute(
        "select any_value(horizon_days) from marts.fct_backtest_churn_by_tier"
    ).fetchone()[0]
    lines.append(
        f"  {'tier':<10} {'account-months':>14} {'churned':>8} {'monthly churn':>13} "
        f"{f'churn within {horizon} d of a score':>30}"
    )
    for tier, months, churned, rate in rows:
        bt = backtest.get(tier)
        bt_text = f"{100 * bt[2]:.2f}% of {bt[0]} account-days" if bt else "n/a"
        lines.append(f"  {tier:<10} {months:>14} {churned:>8} {100 * rate:>12.2f}% {bt_text:>30}")

    lines += backtest_lines(con, preset, horizon)

    lines += ["", "The ten lowest-scoring current customers and their weakest signals:"]
    rows = con.execute(
        """
        select c.account_id, c.account_name, c.health_score, c.tier, c.segment,
               string_agg(s.signal || ' ' || cast(round(s.signal_score) as integer), ', '
                          order by s.weight * (100 - s.signal_score) desc) as weakest
        from (
            select * from marts.fct_health_current
            where not is_churned and health_score is not null
            order by health_score, account_id
            limit 10
        ) as c
        left join marts.fct_signal_scores as s
            on s.account_id = c.account_id and s.score_date = c.score_date
            and s.signal_score is not null and s.weight > 0 and s.signal_score < 50
        group by all
        order by c.health_score, c.account_id
        """
    ).fetchall()
    for account_id, name, score, tier, segment, weakest in rows:
        lines.append(
            f"  {account_id:<10} {str(name)[:24]:<24} {score:>6.1f} {tier:<9} {str(segment):<11} "
            f"{weakest or '-'}"
        )

    actions = con.execute(
        """
        select play, count(distinct account_id), round(sum(arr))
        from marts.fct_account_actions
        where score_date = (select max(score_date) from marts.fct_account_actions)
            and action_rank = 1
        group by play
        order by min(priority), play
        """
    ).fetchall()
    needing = sum(n for _, n, _ in actions)
    lines += ["", f"Needing action on {as_of}: {needing} accounts (fct_account_actions), by play:"]
    for play, n, arr in actions:
        lines.append(f"  {play:<18} {n:>6} accounts  ARR {_num(arr)}")

    lines += [
        "",
        f"Serving file (open it read-only with any DuckDB client or BI tool): {serving_path}",
        f"  duckdb -readonly {serving_path}",
        "",
        "Queries to paste:",
    ]
    for title, sql in EXAMPLE_QUERIES:
        lines += [f"-- {title}", sql, ""]
    return lines


def backtest_lines(con: duckdb.DuckDBPyConnection, preset: str, horizon: int) -> list[str]:
    """How well the score and each signal on its own ranked the accounts that churned within
    the horizon (fct_backtest_summary, fct_backtest_signals); a signal that carries weight
    and is not predictive is marked, so that the analyst learns it the day it happens."""
    score = con.execute(
        """
        select auc from marts.fct_backtest_summary
        where preset = ? and segment = 'all' and period = 'all'
        """,
        [preset],
    ).fetchall()
    score_auc = score[0][0] if score else None
    lines = [
        "",
        f"Churn within {horizon} d, backtest: AUC of the {preset} score {_auc(score_auc)}; "
        "each signal on its own (95 % interval):",
        f"  {'signal':<16} {'weight':>6} {'AUC':>6} {'interval':>13} {'with data':>9}  verdict",
    ]
    flagged = []
    for r in load_backtest_signals(con).itertuples():
        interval = f"{_auc(r.auc_low)}-{_auc(r.auc_high)}" if not pd.isna(r.auc_low) else "-"
        wrong = not_predictive(r.preset_weight, r.verdict)
        mark = f"  <- {wrong}" if wrong else ""
        if wrong:
            flagged.append(r.signal)
        share = "-" if pd.isna(r.with_data_share) else f"{100 * r.with_data_share:.0f}%"
        lines.append(
            f"  {r.signal:<16} {100 * r.preset_weight:>5.1f}% {_auc(r.auc):>6} {interval:>13} "
            f"{share:>9}  {r.verdict}{mark}"
        )
    if flagged:
        lines.append(
            f"  {len(flagged)} weighted signal(s) not predictive: {', '.join(flagged)} "
            "(see `healthmart calibrate`)."
        )
    return lines


def _auc(value: float | None) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.3f}"


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
