-- depends_on: {{ ref('signal_config') }}
-- usage_trend: events in the last window divided by events in the window before it.
-- Missing when the earlier window had no events (no base to compare with).

{%- set window_days = signal_window_days('usage_trend') %}

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
    select min(score_day) - 2 * {{ window_days }} - 1 as first_event_day,
        max(score_day) - 1 as last_event_day
    from scoring_dates
),

daily_events as (
    select
        account_id,
        activity_day as event_day,
        events
    from usage_days
    where activity_day between (select first_event_day from lookback)
            and (select last_event_day from lookback)
),

windows as (
    {{ trailing_window_sums('daily_events', 'account_days', [
        {'name': 'events_last_window', 'expr': 'events', 'days_back_from': window_days, 'days_back_to': 1},
        {'name': 'events_previous_window', 'expr': 'events', 'days_back_from': 2 * window_days, 'days_back_to': window_days + 1},
    ]) }}
)

select
    -- ids
    account_days.account_id,
    -- dates
    account_days.score_date,
    -- signal
    'usage_trend' as signal,
    windows.events_last_window / nullif(windows.events_previous_window, 0) as raw_value,
    cast(null as {{ dbt.type_string() }}) as raw_label,
    -- components
    windows.events_last_window,
    windows.events_previous_window
from account_days
left join windows
    on account_days.account_id = windows.account_id
    and account_days.score_day = windows.score_day
