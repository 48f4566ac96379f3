-- depends_on: {{ ref('signal_config') }}
-- revenue_trend: the recurring run-rate of the last window divided by that of the window
-- before it. The run-rate on a day is the sum, over the invoices whose service period covers
-- the day (int_invoices__service_periods), of the amount divided by the days of the period;
-- a window's run-rate is its mean over the days of the window. An annual invoice counts for
-- every day of its year, not on the day it was issued. Missing when the run-rate of the
-- earlier window is 0.

{%- set window_days = signal_window_days('revenue_trend') %}

with

account_days as (
    select * from {{ ref('int_accounts__daily') }}
),

scoring_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
),

invoice_periods as (
    select * from {{ ref('int_invoices__service_periods') }}
),

lookback as (
    select
        min(score_day) - 2 * {{ window_days }} as first_day,
        max(score_day) - 1 as last_day
    from scoring_dates
),

-- the periods cut to the days the windows of this run cover (the daily amount is that of
-- the whole period)
recurring as (
    select
        invoice_periods.account_id,
        greatest(invoice_periods.start_day, lookback.first_day) as start_day,
        least(invoice_periods.end_day, lookback.last_day) as end_day,
        invoice_periods.daily_amount
    from invoice_periods
    cross join lookback
    where invoice_periods.end_day >= lookback.first_day
        and invoice_periods.start_day <= lookback.last_day
),

windows as (
    {{ trailing_window_spread_sums('recurring', 'account_days', [
        {'name': 'billed_last_window', 'days_back_from': window_days, 'days_back_to': 1},
        {'name': 'billed_previous_window', 'days_back_from': 2 * window_days, 'days_back_to': window_days + 1},
    ]) }}
)

select
    -- ids
    account_days.account_id,
    -- dates
    account_days.score_date,
    -- signal
    'revenue_trend' as signal,
    windows.billed_last_window / nullif(windows.billed_previous_window, 0) as raw_value,
    cast(null as {{ dbt.type_string() }}) as raw_label,
    -- components
    windows.billed_last_window / {{ window_days }} as run_rate_last_window,
    windows.billed_previous_window / {{ window_days }} as run_rate_previous_window
from account_days
left join windows
    on account_days.account_id = windows.account_id
    and account_days.score_day = windows.score_day
