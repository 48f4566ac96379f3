{{ config(tags=['history_summary']) }}
-- Churn within the horizon by score decile (1 = the 10 % lowest scores), per preset.

with

observations as (
    select * from {{ ref('fct_backtest_observations') }}
),

ranked as (
    select
        *,
        ntile(10) over (
            partition by preset order by computed_score, account_id, score_date
        ) as score_decile
    from observations
)

select
    -- group
    preset,
    score_decile,
    -- score range
    min(computed_score) as min_score,
    max(computed_score) as max_score,
    -- counts
    count(*) as observations,
    cast(sum(case when churned_within_horizon then 1 else 0 end) as {{ dbt.type_bigint() }}) as churned,
    avg(case when churned_within_horizon then 1.0 else 0.0 end) as churn_rate
from ranked
group by preset, score_decile
