{{ config(tags=['per_scoring_date']) }}
-- depends_on: {{ ref('scoring_settings') }}
-- One row per account and scoring date of this run on which the account is a customer:
-- signed up before the date, and not churned before it (a reactivation starts a new spell).

{%- set onboarding_days = scoring_setting('onboarding_days', 90) | int %}

with

accounts as (
    select * from {{ ref('stg_accounts__accounts') }}
),

scoring_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
),

churn_spells as (
    select * from {{ ref('int_accounts__churn_spells') }}
),

candidate_days as (
    select
        accounts.account_id,
        scoring_dates.score_date,
        scoring_dates.score_day,
        accounts.segment,
        accounts.industry,
        accounts.plan,
        accounts.signup_date,
        accounts.licensed_seats,
        accounts.arr,
        {{ dbt.datediff('accounts.signup_date', 'scoring_dates.score_date', 'day') }} as tenure_days
    from accounts
    inner join scoring_dates
        on accounts.signup_date < scoring_dates.score_date
),

churned_days as (
    select distinct
        candidate_days.account_id,
        candidate_days.score_date
    from candidate_days
    inner join churn_spells
        on candidate_days.account_id = churn_spells.account_id
        and candidate_days.score_date > churn_spells.churned_on
        and (
            churn_spells.reactivated_on is null
            or candidate_days.score_date <= churn_spells.reactivated_on
        )
)

select
    -- ids
    candidate_days.account_id,
    -- dates
    candidate_days.score_date,
    candidate_days.score_day,
    candidate_days.signup_date,
    -- attributes
    candidate_days.segment,
    candidate_days.industry,
    candidate_days.plan,
    case
        when candidate_days.tenure_days < {{ onboarding_days }} then 'onboarding'
        else 'mature'
    end as lifecycle_stage,
    -- measures
    candidate_days.tenure_days,
    candidate_days.licensed_seats,
    candidate_days.arr
from candidate_days
left join churned_days
    on candidate_days.account_id = churned_days.account_id
    and candidate_days.score_date = churned_days.score_date
where churned_days.account_id is null
