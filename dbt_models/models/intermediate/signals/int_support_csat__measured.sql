-- depends_on: {{ ref('signal_config') }}
-- support_csat: mean CSAT of the tickets rated in the window (a rating is known when the
-- ticket closes; tickets without closed_at count from when they were opened).

{%- set window_days = signal_window_days('support_csat') %}

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

lookback as (
    select min(score_day) - {{ window_days }} - 1 as first_event_day,
        max(score_day) - 1 as last_event_day
    from scoring_dates
),

rated_tickets as (
    select
        account_id,
        {{ day_number('coalesce(closed_at, opened_at)') }} as event_day,
        csat
    from tickets
    where csat is not null
        and {{ day_number('coalesce(closed_at, opened_at)') }} between (select first_event_day from lookback)
            and (select last_event_day from lookback)
),

windows as (
    {{ trailing_window_sums('rated_tickets', 'account_days', [
        {'name': 'csat_sum', 'expr': 'csat', 'days_back_from': window_days, 'days_back_to': 1},
        {'name': 'rated_tickets', 'expr': '1', 'days_back_from': window_days, 'days_back_to': 1},
    ]) }}
)

select
    -- ids
    account_days.account_id,
    -- dates
    account_days.score_date,
    -- signal
    'support_csat' as signal,
    windows.csat_sum / nullif(windows.rated_tickets, 0) as raw_value,
    cast(null as {{ dbt.type_string() }}) as raw_label,
    -- components
    windows.rated_tickets
from account_days
left join windows
    on account_days.account_id = windows.account_id
    and account_days.score_day = windows.score_day
