-- depends_on: {{ ref('signal_config') }}
-- enablement: 1 when the account used an enablement feature (seeds/enablement_features.csv)
-- in the window, else 0. Missing until some account has used an enablement feature at all
-- (before the scoring date): a signal the data cannot measure must not count as a zero.

{%- set window_days = signal_window_days('enablement') %}

with

account_days as (
    select * from {{ ref('int_accounts__daily') }}
),

scoring_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
),

usage_days as (
    select * from {{ ref('int_usage__account_days') }}
),

lookback as (
    select min(score_day) - {{ window_days }} - 1 as first_event_day from scoring_dates
),

catalogue as (
    select min(activity_day) as first_enablement_day
    from usage_days
    where enablement_events > 0
),

daily_enablement as (
    select
        account_id,
        activity_day as event_day,
        enablement_events
    from usage_days
    where activity_day >= (select first_event_day from lookback)
),

windows as (
    {{ trailing_window_sums('daily_enablement', 'account_days', [
        {'name': 'enablement_events', 'expr': 'enablement_events', 'days_back_from': window_days, 'days_back_to': 1},
    ]) }}
)

select
    -- ids
    account_days.account_id,
    -- dates
    account_days.score_date,
    -- signal
    'enablement' as signal,
    case
        when (select first_enablement_day from catalogue) is null then null
        when account_days.score_day <= (select first_enablement_day from catalogue) then null
        when windows.enablement_events > 0 then 1.0
        else 0.0
    end as raw_value,
    cast(null as {{ dbt.type_string() }}) as raw_label,
    -- components
    windows.enablement_events
from account_days
left join windows
    on account_days.account_id = windows.account_id
    and account_days.score_day = windows.score_day
