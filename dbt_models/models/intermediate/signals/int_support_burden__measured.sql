-- depends_on: {{ ref('signal_config') }}
-- depends_on: {{ ref('ticket_weights') }}
-- support_burden: tickets opened in the window, each weighted by priority and category
-- (seeds/ticket_weights.csv), per 10 licensed seats. Missing when the account had no
-- product activity in the window: no tickets from a silent account is not a good sign.

{%- set window_days = signal_window_days('support_burden') %}

with

account_days as (
    select * from {{ ref('int_accounts__daily') }}
),

scoring_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
),

tickets as (
    select * from {{ ref('stg_support__tickets') }}
),

usage_days as (
    select * from {{ ref('int_usage__account_days') }}
),

ticket_weights as (
    select * from {{ ref('ticket_weights') }}
),

lookback as (
    select min(score_day) - {{ window_days }} - 1 as first_event_day,
        max(score_day) - 1 as last_event_day
    from scoring_dates
),

weighted_tickets as (
    select
        tickets.account_id,
        {{ day_number('tickets.opened_at') }} as event_day,
        coalesce(priority_weights.weight, 1.0) * coalesce(category_weights.weight, 1.0) as ticket_weight,
        0 as events
    from tickets
    left join ticket_weights as priority_weights
        on priority_weights.attribute = 'priority'
        and coalesce(tickets.priority, '') = coalesce(priority_weights.value, '')
    left join ticket_weights as category_weights
        on category_weights.attribute = 'category'
        and coalesce(tickets.category, '') = coalesce(category_weights.value, '')
    where {{ day_number('tickets.opened_at') }} between (select first_event_day from lookback)
            and (select last_event_day from lookback)
),

activity as (
    select
        account_id,
        activity_day as event_day,
        0 as ticket_weight,
        events
    from usage_days
    where activity_day between (select first_event_day from lookback)
            and (select last_event_day from lookback)
),

daily as (
    select * from weighted_tickets
    union all
    select * from activity
),

windows as (
    {{ trailing_window_sums('daily', 'account_days', [
        {'name': 'weighted_tickets', 'expr': 'ticket_weight', 'days_back_from': window_days, 'days_back_to': 1},
        {'name': 'usage_events', 'expr': 'events', 'days_back_from': window_days, 'days_back_to': 1},
    ]) }}
)

select
    -- ids
    account_days.account_id,
    -- dates
    account_days.score_date,
    -- signal
    'support_burden' as signal,
    case
        when windows.usage_events > 0
            then 10.0 * windows.weighted_tickets / nullif(account_days.licensed_seats, 0)
    end as raw_value,
    cast(null as {{ dbt.type_string() }}) as raw_label,
    -- components
    windows.weighted_tickets,
    windows.usage_events,
    account_days.licensed_seats
from account_days
left join windows
    on account_days.account_id = windows.account_id
    and account_days.score_day = windows.score_day
