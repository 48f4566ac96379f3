{{ config(tags=['history_summary']) }}
-- depends_on: {{ ref('scoring_settings') }}
-- Does the score predict churn? For every preset and tier: the account-days scored in that
-- tier whose full horizon (churn_horizon_days) lies inside the data, and how many of them
-- churned within the horizon (on the scoring date or the days after it).

{%- set horizon_days = scoring_setting('churn_horizon_days', 90) | int %}

with

health_scores as (
    select * from {{ ref('int_health_scores__weighted') }}
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
    where {{ dbt.dateadd('day', horizon_days - 1, 'score_date') }}
        <= (select last_activity_date from date_bounds)
),

churned_within_horizon as (
    select distinct
        observable.account_id,
        observable.score_date,
        observable.preset
    from observable
    inner join churn_spells
        on observable.account_id = churn_spells.account_id
        and churn_spells.churned_on >= observable.score_date
        and churn_spells.churned_on < {{ dbt.dateadd('day', horizon_days, 'observable.score_date') }}
),

flagged as (
    select
        observable.*,
        case when churned_within_horizon.account_id is not null then 1 else 0 end as churned
    from observable
    left join churned_within_horizon
        on observable.account_id = churned_within_horizon.account_id
        and observable.score_date = churned_within_horizon.score_date
        and observable.preset = churned_within_horizon.preset
)

select
    -- ids
    preset,
    tier,
    -- measures
    max(tier_severity) as tier_severity,
    {{ horizon_days }} as horizon_days,
    count(*) as scored_account_days,
    count(distinct account_id) as accounts,
    sum(churned) as churned_within_horizon,
    cast(sum(churned) as double) / count(*) as churn_rate_within_horizon
from flagged
group by preset, tier
