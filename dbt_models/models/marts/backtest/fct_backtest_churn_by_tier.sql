{{ config(tags=['history_summary']) }}
-- Does the score predict churn? For every preset and tier: the account-days scored in that
-- tier whose full horizon lies inside the data, and how many of them churned within it.

with

observations as (
    select * from {{ ref('fct_backtest_observations') }}
)

select
    -- ids
    preset,
    tier,
    -- measures
    max(tier_severity) as tier_severity,
    max(horizon_days) as horizon_days,
    count(*) as scored_account_days,
    count(distinct account_id) as accounts,
    cast(sum(case when churned_within_horizon then 1 else 0 end) as {{ dbt.type_bigint() }})
        as churned_within_horizon,
    avg(case when churned_within_horizon then 1.0 else 0.0 end) as churn_rate_within_horizon
from observations
group by preset, tier
