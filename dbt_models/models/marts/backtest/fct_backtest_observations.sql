{{ config(tags=['history_summary']) }}
-- depends_on: {{ ref('scoring_settings') }}
-- The backtest's raw material: every account-day scored by every preset whose full churn
-- horizon (churn_horizon_days) lies inside the data, and whether the account churned within
-- it (on the scoring date or the days after). The score of a date uses only data from before
-- it, so this is an honest out-of-sample test of each preset.

{%- set horizon_days = scoring_setting('churn_horizon_days', 90) | int %}

with

health_scores as (
    select * from {{ ref('int_health_scores__weighted') }}
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

observable as (
    select *
    from health_scores
    where computed_score is not null
        and {{ dbt.dateadd('day', horizon_days - 1, 'score_date') }}
        <= (select last_activity_date from date_bounds)
),

first_churn_in_horizon as (
    select
        observable.account_id,
        observable.score_date,
        observable.preset,
        min(churn_spells.churned_on) as churned_on
    from observable
    inner join churn_spells
        on observable.account_id = churn_spells.account_id
        and churn_spells.churned_on >= observable.score_date
        and churn_spells.churned_on < {{ dbt.dateadd('day', horizon_days, 'observable.score_date') }}
    group by observable.account_id, observable.score_date, observable.preset
)

select
    -- ids
    observable.account_id,
    observable.preset,
    -- dates
    observable.score_date,
    cast({{ dbt.date_trunc('month', 'observable.score_date') }} as date) as score_month,
    first_churn_in_horizon.churned_on,
    -- attributes
    coalesce(accounts.segment, 'unknown') as segment,
    -- score
    observable.computed_score,
    observable.tier,
    observable.tier_severity,
    observable.coverage,
    -- outcome
    {{ horizon_days }} as horizon_days,
    first_churn_in_horizon.churned_on is not null as churned_within_horizon
from observable
left join accounts
    on observable.account_id = accounts.account_id
left join first_churn_in_horizon
    on observable.account_id = first_churn_in_horizon.account_id
    and observable.score_date = first_churn_in_horizon.score_date
    and observable.preset = first_churn_in_horizon.preset
