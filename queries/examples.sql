-- Example queries over the serving file (data/healthmart.duckdb), for analysts and BI tools.
-- Open the file read-only, e.g. `duckdb -readonly data/healthmart.duckdb`, and paste one.
-- Each query follows a `-- name: <name>` line; tests/test_serving.py runs every one of them
-- against a freshly published serving file.

-- name: current_tiers
-- Current customers per tier, worst tier first: how many, their mean score and their ARR.
select
    tier,
    tier_colour,
    count(*) as customers,
    round(avg(health_score), 1) as mean_score,
    sum(arr) as arr,
    sum(case when is_low_confidence then 1 else 0 end) as low_confidence
from analyst.account_health
group by tier, tier_colour, tier_severity
order by tier_severity desc nulls last;

-- name: at_risk_accounts
-- Current customers in the at_risk or critical tier, lowest score first, each with its three
-- weakest signals: the signal's 0-100 score and the points it costs the health score.
with

at_risk as (
    select account_id, account_name, csm_owner, tier, health_score, arr, renewal_date, scored_on
    from analyst.account_health
    where tier in ('at_risk', 'critical')
),

ranked_signals as (
    select
        signal_breakdown.account_id,
        signal_breakdown.signal,
        signal_breakdown.signal_score,
        signal_breakdown.points_lost,
        row_number() over (
            partition by signal_breakdown.account_id
            order by signal_breakdown.points_lost desc, signal_breakdown.signal
        ) as weakness_rank
    from analyst.signal_breakdown
    inner join at_risk
        on signal_breakdown.account_id = at_risk.account_id
        and signal_breakdown.score_date = at_risk.scored_on
    where signal_breakdown.points_lost > 0
)

select
    at_risk.account_id,
    at_risk.account_name,
    at_risk.csm_owner,
    at_risk.tier,
    at_risk.health_score,
    at_risk.arr,
    at_risk.renewal_date,
    ranked_signals.weakness_rank,
    ranked_signals.signal as weak_signal,
    round(ranked_signals.signal_score, 1) as signal_score,
    round(ranked_signals.points_lost, 1) as points_lost
from at_risk
inner join ranked_signals
    on at_risk.account_id = ranked_signals.account_id
where ranked_signals.weakness_rank <= 3
order by at_risk.health_score, at_risk.account_id, ranked_signals.weakness_rank;

-- name: churn_by_tier
-- Does the tier predict churn? Over every complete month of the history: the accounts that
-- started a month in each tier and the share of them that churned during that month.
select
    tier_at_period_start as tier,
    count(*) as months,
    sum(accounts_at_start) as account_months,
    sum(accounts_churned) as churned,
    round(100.0 * sum(accounts_churned) / sum(accounts_at_start), 2) as monthly_churn_pct,
    sum(arr_churned) as arr_churned
from analyst.churn_by_tier
where period_type = 'month'
group by tier_at_period_start, tier_severity
order by tier_severity desc nulls last;

-- name: score_trend
-- The daily score of one account over its history. Here: the lowest-scoring current
-- customer; put an account id in place of the subquery to follow another one.
select
    score_date,
    health_score,
    tier,
    score_change_7d,
    score_change_30d,
    weakest_signals
from analyst.health_history
where account_id = (
    select account_id
    from analyst.account_health
    where health_score is not null
    order by health_score, account_id
    limit 1
)
order by score_date;

-- name: nps_by_segment
-- Net Promoter Score per segment over the last 365 days (answers of current customers).
select
    segment,
    customers,
    customers_answering,
    nps_answers,
    promoters,
    passives,
    detractors,
    nps
from analyst.nps_by_segment
order by nps desc nulls last, segment;
