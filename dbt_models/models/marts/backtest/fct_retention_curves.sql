{{ config(tags=['history_summary']) }}
-- Retention curves: of the accounts in a cohort at its start, how many (and how much ARR)
-- were still customers 0, 1, 2, ... months later, for every month the data covers.
-- Cohorts: signup month (start = signup date) and tier at the first day of each month
-- (start = that day, computed tier as published). Retention = 1 - cumulative churn rate, with the churn
-- rate as everywhere: churned / accounts at start.

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

first_churn as (
    -- the first churn of each spell; a churn before the cohort start is filtered below
    select account_id, churned_on from churn_spells
),

month_offsets as (
    -- 0 .. the number of months the data spans
    select value as months_since_start
    from ({{ integer_series(
        "(select " ~ dbt.datediff('first_activity_date', 'last_activity_date', 'month') ~ " from date_bounds)"
    ) }}) as offsets
),

signup_cohorts as (
    select
        'signup_month' as cohort_type,
        cast(cast({{ dbt.date_trunc('month', 'signup_date') }} as date) as {{ dbt.type_string() }}) as cohort,
        cast({{ dbt.date_trunc('month', 'signup_date') }} as date) as cohort_start,
        account_id,
        signup_date as start_date,
        coalesce(arr, 0) as arr
    from accounts
    where signup_date >= (select first_activity_date from date_bounds)
),

tier_cohorts as (
    select
        'tier_at_month_start' as cohort_type,
        health_scores.tier as cohort,
        health_scores.score_date as cohort_start,
        health_scores.account_id,
        health_scores.score_date as start_date,
        coalesce(accounts.arr, 0) as arr
    from health_scores
    inner join accounts
        on health_scores.account_id = accounts.account_id
    where health_scores.score_date = cast({{ dbt.date_trunc('month', 'health_scores.score_date') }} as date)
),

members as (
    select * from signup_cohorts
    union all
    select * from tier_cohorts
),

checkpoints as (
    select
        members.*,
        month_offsets.months_since_start,
        cast({{ dbt.dateadd('month', 'month_offsets.months_since_start', 'members.start_date') }} as date)
            as checkpoint_date
    from members
    cross join month_offsets
),

observed as (
    select *
    from checkpoints
    where checkpoint_date <= (select last_activity_date from date_bounds)
),

flagged as (
    select
        observed.*,
        exists (
            select 1
            from first_churn
            where first_churn.account_id = observed.account_id
                and first_churn.churned_on >= observed.start_date
                and first_churn.churned_on < observed.checkpoint_date
        ) as churned_by_checkpoint
    from observed
)

select
    -- cohort
    cohort_type,
    cohort,
    cohort_start,
    months_since_start,
    -- counts
    count(*) as accounts_at_start,
    cast(sum(case when churned_by_checkpoint then 0 else 1 end) as {{ dbt.type_bigint() }}) as retained,
    avg(case when churned_by_checkpoint then 0.0 else 1.0 end) as logo_retention,
    {{ exact_sum('arr', 4, 38) }} as arr_at_start,
    {{ exact_sum('case when churned_by_checkpoint then 0 else arr end', 4, 38) }} as arr_retained,
    {{ exact_sum('case when churned_by_checkpoint then 0 else arr end', 4, 38) }}
    / nullif({{ exact_sum('arr', 4, 38) }}, 0) as arr_retention
from flagged
group by cohort_type, cohort, cohort_start, months_since_start
