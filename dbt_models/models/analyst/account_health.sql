-- depends_on: {{ ref('preset_assignments') }}
-- depends_on: {{ ref('preset_weights') }}
-- Current customers and their latest health, one row each: score, tier, dimension scores,
-- the signals pulling the score down, ARR and renewal. A view over the marts, so it reads
-- the same in the warehouse and in the published serving file.

with

health_current as (
    select * from {{ ref('fct_health_current') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

current_customers as (
    select
        health_current.*,
        accounts.region,
        accounts.licensed_seats,
        cast(accounts.data_as_of_date as date) as as_of_date
    from health_current
    inner join accounts
        on health_current.account_id = accounts.account_id
    where not health_current.is_churned
        and health_current.lifecycle_stage <> 'not_started'
)

select
    -- ids
    account_id,
    account_name,
    -- account
    segment,
    industry,
    plan,
    region,
    csm_owner,
    lifecycle_stage,
    tenure_days,
    licensed_seats,
    -- health
    as_of_date,
    score_date as scored_on,
    health_score,
    tier,
    colour as tier_colour,
    tier_severity,
    {%- for dimension in mart_dimensions() %}
    {{ dimension }}_score,
    {%- endfor %}
    delta_7d as score_change_7d,
    delta_30d as score_change_30d,
    trend as score_trend,
    top_drivers as weakest_signals,
    coverage as data_coverage,
    low_confidence as is_low_confidence,
    preset as weighting_preset,
    -- revenue and renewal
    arr,
    contract_end as renewal_date,
    {{ dbt.datediff('as_of_date', 'contract_end', 'day') }} as days_to_renewal
from current_customers
