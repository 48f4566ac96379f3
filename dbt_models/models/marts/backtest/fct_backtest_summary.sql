{{ config(tags=['history_summary']) }}
-- depends_on: {{ ref('tier_bands') }}
-- How well each preset's score predicted churn within the horizon: over all observations,
-- per segment and per month of scoring date (is the score getting better or worse).
--   auc: probability that a churner scored lower than a non-churner (ties count half) -
--        the Mann-Whitney statistic from average ranks; 0.5 = no better than chance
--   precision / recall at the at-risk threshold: flagged = tier at_risk or critical
--   lift of the lowest decile: churn rate of the 10 % lowest scores / overall churn rate

with

observations as (
    select * from {{ ref('fct_backtest_observations') }}
),

tier_bands as (
    select * from {{ ref('tier_bands') }}
),

at_risk_threshold as (
    -- tiers at least as severe as at_risk are "flagged"
    select severity as flagged_severity from tier_bands where tier = 'at_risk'
),

grouped as (
    select
        preset, 'all' as segment, 'all' as period, account_id, score_date,
        churned_within_horizon, computed_score, tier_severity
    from observations
    union all
    select
        preset, segment, 'all' as period, account_id, score_date,
        churned_within_horizon, computed_score, tier_severity
    from observations
    union all
    select
        preset,
        'all' as segment,
        cast(score_month as {{ dbt.type_string() }}) as period,
        account_id,
        score_date,
        churned_within_horizon,
        computed_score,
        tier_severity
    from observations
),

ranked as (
    select
        *,
        -- rank 1 = healthiest; ties share their average rank
        rank() over (partition by preset, segment, period order by computed_score desc)
        + (count(*) over (partition by preset, segment, period, computed_score) - 1) / 2.0
            as risk_rank,
        ntile(10) over (
            partition by preset, segment, period order by computed_score, account_id, score_date
        ) as decile
    from grouped
),

summarised as (
    select
        preset,
        segment,
        period,
        count(*) as observations,
        cast(sum(case when churned_within_horizon then 1 else 0 end) as {{ dbt.type_bigint() }}) as churned,
        sum(case when churned_within_horizon then risk_rank else 0 end) as churner_rank_sum,
        sum(case when tier_severity >= (select flagged_severity from at_risk_threshold) then 1 else 0 end)
            as flagged,
        sum(
            case
                when tier_severity >= (select flagged_severity from at_risk_threshold)
                    and churned_within_horizon then 1
                else 0
            end
        ) as flagged_churned,
        sum(case when decile = 1 then 1 else 0 end) as lowest_decile_observations,
        sum(case when decile = 1 and churned_within_horizon then 1 else 0 end) as lowest_decile_churned
    from ranked
    group by preset, segment, period
)

select
    -- group
    preset,
    segment,
    period,
    -- counts
    observations,
    churned,
    cast(churned as double) / observations as churn_rate,
    flagged,
    flagged_churned,
    -- quality of the score
    case
        when churned > 0 and churned < observations
            then (churner_rank_sum - churned * (churned + 1) / 2.0)
            / (cast(churned as double) * (observations - churned))
    end as auc,
    cast(flagged_churned as double) / nullif(flagged, 0) as precision_at_risk,
    cast(flagged_churned as double) / nullif(churned, 0) as recall_at_risk,
    (cast(lowest_decile_churned as double) / nullif(lowest_decile_observations, 0))
    / nullif(cast(churned as double) / observations, 0) as lift_lowest_decile
from summarised
