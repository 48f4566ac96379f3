{{ config(tags=['history_summary']) }}
-- depends_on: {{ ref('scoring_settings') }}
-- What each current customer is worth and how much of it is at risk, from the history in
-- the data: the segment's observed annual churn rate (churn events / customer-years scored),
-- the expected lifetime it implies (capped at clv_max_years), customer lifetime value =
-- ARR x gross_margin x expected lifetime, and the value at risk = that value x the share of
-- account-days of the account's current tier that churned within churn_horizon_days.

{%- set gross_margin = scoring_setting('gross_margin', 1) %}
{%- set max_years = scoring_setting('clv_max_years', 10) %}
{%- set horizon_days = scoring_setting('churn_horizon_days', 90) | int %}

with

accounts as (
    select * from {{ ref('dim_accounts') }}
),

current_scores as (
    select * from {{ ref('fct_health_current') }}
),

health_scores as (
    select * from {{ ref('fct_health_scores') }}
),

churn_spells as (
    select * from {{ ref('int_accounts__churn_spells') }}
),

date_bounds as (
    select * from {{ ref('int_exports__date_bounds') }}
),

scored_span as (
    select
        min(score_date) as first_score_date,
        max(score_date) as last_score_date
    from health_scores
),

exposure as (
    select
        coalesce(segment, 'unknown') as segment,
        count(*) as customer_days
    from health_scores
    group by coalesce(segment, 'unknown')
),

churn_events as (
    select
        coalesce(accounts.segment, 'unknown') as segment,
        count(*) as churn_events
    from churn_spells
    inner join accounts
        on churn_spells.account_id = accounts.account_id
    cross join scored_span
    where churn_spells.churned_on between scored_span.first_score_date and scored_span.last_score_date
    group by coalesce(accounts.segment, 'unknown')
),

segment_rates as (
    select
        exposure.segment,
        exposure.customer_days,
        coalesce(churn_events.churn_events, 0) as churn_events,
        coalesce(churn_events.churn_events, 0) / (exposure.customer_days / 365.25) as annual_churn_rate
    from exposure
    left join churn_events
        on exposure.segment = churn_events.segment
),

-- account-days whose whole horizon lies in the data, and whether they churned within it
observed as (
    select
        health_scores.account_id,
        health_scores.score_date,
        health_scores.tier,
        max(case when churn_spells.account_id is not null then 1 else 0 end) as churned
    from health_scores
    cross join date_bounds
    left join churn_spells
        on health_scores.account_id = churn_spells.account_id
        and churn_spells.churned_on >= health_scores.score_date
        and churn_spells.churned_on < {{ dbt.dateadd('day', horizon_days, 'health_scores.score_date') }}
    where {{ dbt.dateadd('day', horizon_days - 1, 'health_scores.score_date') }} <= date_bounds.last_activity_date
    group by health_scores.account_id, health_scores.score_date, health_scores.tier
),

tier_risk as (
    select
        tier,
        count(*) as observed_account_days,
        avg(cast(churned as double)) as churn_probability
    from observed
    group by tier
),

valued as (
    select
        accounts.account_id,
        accounts.account_name,
        coalesce(accounts.segment, 'unknown') as segment,
        accounts.csm_owner,
        accounts.lifecycle_stage,
        accounts.contract_end,
        accounts.arr,
        accounts.tenure_days,
        current_scores.score_date,
        current_scores.health_score,
        current_scores.tier,
        segment_rates.annual_churn_rate,
        segment_rates.churn_events as segment_churn_events,
        segment_rates.customer_days as segment_customer_days,
        case
            when segment_rates.annual_churn_rate > 1.0 / {{ max_years }}
                then 1.0 / segment_rates.annual_churn_rate
            else {{ max_years }}
        end as expected_lifetime_years,
        tier_risk.churn_probability as tier_churn_probability
    from accounts
    inner join current_scores
        on accounts.account_id = current_scores.account_id
    left join segment_rates
        on coalesce(accounts.segment, 'unknown') = segment_rates.segment
    left join tier_risk
        on current_scores.tier = tier_risk.tier
    where not accounts.is_churned
        and current_scores.score_date is not null
)

select
    -- ids
    account_id,
    account_name,
    segment,
    csm_owner,
    -- dates
    score_date,
    contract_end,
    -- account
    lifecycle_stage,
    tenure_days,
    arr,
    health_score,
    tier,
    -- segment history
    segment_customer_days,
    segment_churn_events,
    round(annual_churn_rate, 6) as segment_annual_churn_rate,
    round(expected_lifetime_years, 4) as expected_lifetime_years,
    -- value
    round(arr * {{ gross_margin }} * expected_lifetime_years, 2) as customer_lifetime_value,
    round(tier_churn_probability, 6) as tier_churn_probability,
    round(arr * tier_churn_probability, 2) as arr_at_risk,
    round(arr * {{ gross_margin }} * expected_lifetime_years * tier_churn_probability, 2) as value_at_risk,
    row_number() over (
        order by arr * {{ gross_margin }} * expected_lifetime_years * tier_churn_probability desc nulls last,
            account_id
    ) as value_at_risk_rank
from valued
