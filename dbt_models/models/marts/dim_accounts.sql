-- depends_on: {{ ref('scoring_settings') }}
-- One row per account of the accounts export, cleaned, with its tenure and lifecycle stage
-- as of the data (the day after the last activity in the exports).

{%- set onboarding_days = scoring_setting('onboarding_days', 90) | int %}

with

accounts as (
    select * from {{ ref('stg_accounts__accounts') }}
),

churn_spells as (
    select * from {{ ref('int_accounts__churn_spells') }}
),

date_bounds as (
    select * from {{ ref('int_exports__date_bounds') }}
),

latest_churn as (
    -- the churn spell still open as of the data: churned and not reactivated since
    select
        churn_spells.account_id,
        max(churn_spells.churned_on) as churned_on
    from churn_spells
    cross join date_bounds
    where churn_spells.reactivated_on is null
        or churn_spells.reactivated_on >= date_bounds.data_as_of_date
    group by churn_spells.account_id
),

enriched as (
    select
        accounts.*,
        latest_churn.churned_on,
        date_bounds.data_as_of_date,
        {{ dbt.datediff(
            'accounts.signup_date',
            'coalesce(latest_churn.churned_on, date_bounds.data_as_of_date)',
            'day'
        ) }} as tenure_days
    from accounts
    cross join date_bounds
    left join latest_churn
        on accounts.account_id = latest_churn.account_id
)

select
    -- ids
    account_id,
    account_name,
    -- attributes
    industry,
    segment,
    plan,
    region,
    csm_owner,
    employees,
    licensed_seats,
    -- dates
    signup_date,
    contract_start,
    contract_end,
    churned_on,
    data_as_of_date,
    -- measures
    arr,
    tenure_days,
    -- lifecycle
    case
        when churned_on is not null then 'churned'
        when signup_date >= data_as_of_date then 'not_started'
        when tenure_days < {{ onboarding_days }} then 'onboarding'
        else 'mature'
    end as lifecycle_stage,
    churned_on is not null as is_churned,
    -- lineage
    updated_at,
    source_file
from enriched
