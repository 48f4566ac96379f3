-- depends_on: {{ ref('signal_config') }}
-- revenue_trend: amount invoiced (void excluded) in the last window divided by the amount
-- invoiced in the window before it. Missing when nothing was invoiced in the earlier window.

{%- set window_days = signal_window_days('revenue_trend') %}

with

account_days as (
    select * from {{ ref('int_accounts__daily') }}
),

scoring_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
),

invoices as (
    select * from {{ ref('stg_billing__invoices') }}
),

lookback as (
    select min(score_day) - 2 * {{ window_days }} - 1 as first_event_day,
        max(score_day) - 1 as last_event_day
    from scoring_dates
),

issued_invoices as (
    select
        account_id,
        {{ day_number('issued_date') }} as event_day,
        amount
    from invoices
    where invoice_status <> 'void'
        and {{ day_number('issued_date') }} between (select first_event_day from lookback)
            and (select last_event_day from lookback)
),

windows as (
    {{ trailing_window_sums('issued_invoices', 'account_days', [
        {'name': 'amount_last_window', 'expr': 'amount', 'days_back_from': window_days, 'days_back_to': 1},
        {'name': 'amount_previous_window', 'expr': 'amount', 'days_back_from': 2 * window_days, 'days_back_to': window_days + 1},
    ]) }}
)

select
    -- ids
    account_days.account_id,
    -- dates
    account_days.score_date,
    -- signal
    'revenue_trend' as signal,
    windows.amount_last_window / nullif(windows.amount_previous_window, 0) as raw_value,
    cast(null as {{ dbt.type_string() }}) as raw_label,
    -- components
    windows.amount_last_window,
    windows.amount_previous_window
from account_days
left join windows
    on account_days.account_id = windows.account_id
    and account_days.score_day = windows.score_day
