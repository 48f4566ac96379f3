-- depends_on: {{ ref('signal_config') }}
-- adoption: distinct active users in the window divided by licensed seats. Accounts that
-- export account-level aggregates (no user ids) get active days divided by the window.
-- No activity at all is an adoption of 0, not a missing value: silence is not health.

{%- set window_days = signal_window_days('adoption') %}

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

events as (
    select * from {{ ref('stg_usage__events') }}
),

lookback as (
    select min(score_day) - {{ window_days }} - 1 as first_event_day,
        max(score_day) - 1 as last_event_day
    from scoring_dates
),

user_activity as (
    select distinct
        events.account_id,
        events.user_id as entity,
        {{ day_number('events.activity_date') }} as event_day
    from events
    where events.user_id is not null
        and {{ day_number('events.activity_date') }} between (select first_event_day from lookback)
            and (select last_event_day from lookback)
),

daily_flags as (
    select
        account_id,
        activity_day as event_day,
        has_user_rows,
        1 as active_day
    from usage_days
    where activity_day between (select first_event_day from lookback)
            and (select last_event_day from lookback)
),

active_users as (
    {{ trailing_distinct_count('user_activity', 'account_days', window_days, 'active_users') }}
),

active_days as (
    {{ trailing_window_sums('daily_flags', 'account_days', [
        {'name': 'active_days', 'expr': 'active_day', 'days_back_from': window_days, 'days_back_to': 1},
        {'name': 'days_with_user_ids', 'expr': 'has_user_rows', 'days_back_from': window_days, 'days_back_to': 1},
    ]) }}
)

select
    -- ids
    account_days.account_id,
    -- dates
    account_days.score_date,
    -- signal
    'adoption' as signal,
    case
        when active_days.days_with_user_ids > 0
            then cast(active_users.active_users as double) / nullif(account_days.licensed_seats, 0)
        when active_days.active_days > 0
            then active_days.active_days / {{ window_days }}
        else 0
    end as raw_value,
    cast(null as {{ dbt.type_string() }}) as raw_label,
    -- components
    coalesce(active_users.active_users, 0) as active_users,
    active_days.active_days,
    account_days.licensed_seats
from account_days
left join active_users
    on account_days.account_id = active_users.account_id
    and account_days.score_day = active_users.score_day
left join active_days
    on account_days.account_id = active_days.account_id
    and account_days.score_day = active_days.score_day
