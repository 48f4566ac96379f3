-- Churn by the tier accounts were in at the start of each complete month and quarter: how
-- many were customers, how many of them churned during the period, and the ARR involved.

with

cohort_churn as (
    select * from {{ ref('fct_cohort_churn') }}
    where cohort_type = 'tier'
),

tier_bands as (
    select * from {{ ref('tier_bands') }}
)

select
    -- period
    cohort_churn.period_type,
    cohort_churn.period_start,
    cohort_churn.period_end,
    -- tier
    cohort_churn.cohort as tier_at_period_start,
    tier_bands.severity as tier_severity,
    -- accounts
    cohort_churn.accounts_at_start,
    cast(cohort_churn.churned as {{ dbt.type_bigint() }}) as accounts_churned,
    cohort_churn.churn_rate,
    round(100 * cohort_churn.churn_rate, 1) as churn_rate_pct,
    -- revenue
    cohort_churn.arr_at_start,
    cohort_churn.arr_churned,
    cohort_churn.arr_churned / nullif(cohort_churn.arr_at_start, 0) as arr_churn_rate
from cohort_churn
left join tier_bands
    on cohort_churn.cohort = tier_bands.tier
