{{ config(tags=['history_summary']) }}
-- Churn by cohort for every complete month and quarter of the scored history.
-- churn_rate = accounts that churned during the period / accounts that were customers at
-- its start (scored on its first day). Cohorts: the tier at period start, segment,
-- industry, plan, signup month, and all accounts together.

with

health_scores as (
    -- the computed tier as published (preset assigned per account-day; overrides left out)
    select
        account_id,
        score_date,
        computed_tier as tier
    from {{ ref('fct_health_scores') }}
),

accounts as (
    select * from {{ ref('stg_accounts__accounts') }}
),

churn_spells as (
    select * from {{ ref('int_accounts__churn_spells') }}
),

date_bounds as (
    select * from {{ ref('int_exports__date_bounds') }}
),

scored_span as (
    select min(score_date) as first_score_date from health_scores
),

days as (
    {{ date_series(
        '(select first_score_date from scored_span)',
        '(select last_activity_date from date_bounds)'
    ) }}
),

period_starts as (
    select 'month' as period_type, calendar_date as period_start
    from days
    where calendar_date = cast({{ dbt.date_trunc('month', 'calendar_date') }} as date)
    union all
    select 'quarter' as period_type, calendar_date as period_start
    from days
    where calendar_date = cast({{ dbt.date_trunc('quarter', 'calendar_date') }} as date)
),

periods as (
    select
        period_type,
        period_start,
        case
            when period_type = 'month'
                then cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'period_start')) }} as date)
            else cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, 'period_start')) }} as date)
        end as period_end
    from period_starts
),

complete_periods as (
    select * from periods
    where period_end <= (select last_activity_date from date_bounds)
),

at_start as (
    select
        complete_periods.period_type,
        complete_periods.period_start,
        complete_periods.period_end,
        health_scores.account_id,
        health_scores.tier,
        accounts.segment,
        accounts.industry,
        accounts.plan,
        cast({{ dbt.date_trunc('month', 'accounts.signup_date') }} as date) as signup_month,
        coalesce(accounts.arr, 0) as arr
    from complete_periods
    inner join health_scores
        on health_scores.score_date = complete_periods.period_start
    inner join accounts
        on health_scores.account_id = accounts.account_id
),

churned_in_period as (
    select distinct
        at_start.period_type,
        at_start.period_start,
        at_start.account_id
    from at_start
    inner join churn_spells
        on at_start.account_id = churn_spells.account_id
        and churn_spells.churned_on between at_start.period_start and at_start.period_end
),

flagged as (
    select
        at_start.*,
        case when churned_in_period.account_id is not null then 1 else 0 end as is_churned
    from at_start
    left join churned_in_period
        on at_start.period_type = churned_in_period.period_type
        and at_start.period_start = churned_in_period.period_start
        and at_start.account_id = churned_in_period.account_id
),

cohorts as (
    select *, 'all' as cohort_type, 'all' as cohort from flagged
    union all
    select *, 'tier' as cohort_type, tier as cohort from flagged
    union all
    select *, 'segment' as cohort_type, coalesce(segment, 'unknown') as cohort from flagged
    union all
    select *, 'industry' as cohort_type, coalesce(industry, 'unknown') as cohort from flagged
    union all
    select *, 'plan' as cohort_type, coalesce(plan, 'unknown') as cohort from flagged
    union all
    select
        *,
        'signup_month' as cohort_type,
        coalesce(cast(signup_month as {{ dbt.type_string() }}), 'unknown') as cohort
    from flagged
)

select
    -- period
    period_type,
    period_start,
    period_end,
    -- cohort
    cohort_type,
    cohort,
    -- measures
    count(*) as accounts_at_start,
    cast(sum(is_churned) as {{ dbt.type_bigint() }}) as churned,
    cast(sum(is_churned) as double) / count(*) as churn_rate,
    {{ exact_sum('arr', 4, 38) }} as arr_at_start,
    {{ exact_sum('case when is_churned = 1 then arr else 0 end', 4, 38) }} as arr_churned
from cohorts
group by period_type, period_start, period_end, cohort_type, cohort
