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

events as (
    select * from {{ ref('stg_usage__events') }}
),

feature_days as (
    select * from {{ ref('int_usage__feature_days') }}
),

enablement_features as (
    select * from {{ ref('enablement_features') }}
),

lookback as (
    select min(score_day) - {{ window_days }} - 1 as first_event_day,
        max(score_day) - 1 as last_event_day
    from scoring_dates
),

-- features matching a pattern of seeds/enablement_features.csv (read here, per scoring
-- date, so a config change applies to the dates scored under it)
catalogue as (
    select min(feature_days.activity_day) as first_enablement_day
    from feature_days
    where feature_days.events > 0
        and exists (
            select 1
            from enablement_features
            where feature_days.feature like enablement_features.feature_pattern
        )
),

enablement_feature_names as (
    select distinct feature_days.feature
    from feature_days
    inner join enablement_features
        on feature_days.feature like enablement_features.feature_pattern
),

daily_enablement as (
    select
        events.account_id,
        {{ day_number('events.activity_date') }} as event_day,
        sum(events.event_count) as enablement_events
    from events
    inner join enablement_feature_names
        on events.feature = enablement_feature_names.feature
    where {{ day_number('events.activity_date') }} between (select first_event_day from lookback)
            and (select last_event_day from lookback)
    group by events.account_id, events.activity_date
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
