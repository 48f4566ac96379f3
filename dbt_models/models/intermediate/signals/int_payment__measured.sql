-- depends_on: {{ ref('signal_config') }}
-- depends_on: {{ ref('scoring_settings') }}
-- payment: share of the invoices due in the window that were paid on time, times one minus
-- the share of the amount due in the window that is, on the scoring date, unpaid more than
-- payment_overdue_days after its due date. Void invoices do not count. Missing when no
-- invoice fell due in the window.

{%- set window_days = signal_window_days('payment') %}
{%- set overdue_days = scoring_setting('payment_overdue_days', 30) | int %}

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
    select min(score_day) - {{ window_days }} - 1 as first_event_day,
        max(score_day) - 1 as last_event_day
    from scoring_dates
),

countable_invoices as (
    select
        account_id,
        amount,
        {{ day_number('due_date') }} as due_day,
        {{ day_number('paid_date') }} as paid_day,
        case when paid_date is not null and paid_date <= due_date then 1 else 0 end as is_paid_on_time
    from invoices
    where invoice_status <> 'void'
        and {{ day_number('due_date') }} between (select first_event_day from lookback)
            and (select last_event_day from lookback)
),

due_invoices as (
    select
        account_id,
        due_day as event_day,
        amount,
        is_paid_on_time
    from countable_invoices
),

due_windows as (
    {{ trailing_window_sums('due_invoices', 'account_days', [
        {'name': 'invoices_due', 'expr': '1', 'days_back_from': window_days, 'days_back_to': 1},
        {'name': 'invoices_paid_on_time', 'expr': 'is_paid_on_time', 'days_back_from': window_days, 'days_back_to': 1},
        {'name': 'amount_due', 'expr': 'amount', 'days_back_from': window_days, 'days_back_to': 1},
    ]) }}
),

-- An invoice is overdue on scoring days due + overdue_days + 1 .. its payment day (it is
-- known paid only from the day after), and counts while its due date is in the window.
overdue_spells as (
    select
        account_id,
        amount,
        due_day + {{ overdue_days }} + 1 as spell_start,
        least(coalesce(paid_day, due_day + {{ window_days }}), due_day + {{ window_days }}) as spell_end
    from countable_invoices
),

overdue_deltas as (
    select account_id, spell_start as day_key, 0 as is_spine, amount as delta
    from overdue_spells
    where spell_start <= spell_end
    union all
    select account_id, spell_end + 1 as day_key, 0 as is_spine, -amount as delta
    from overdue_spells
    where spell_start <= spell_end
    union all
    select account_id, score_day as day_key, 1 as is_spine, 0 as delta
    from account_days
),

overdue_running as (
    select
        account_id,
        day_key,
        is_spine,
        -- exact (fixed-point): deltas of the same day come in any order
        cast(sum(cast(delta as decimal(18, 6))) over (
            partition by account_id
            order by day_key, is_spine
            rows between unbounded preceding and current row
        ) as double) as amount_overdue
    from overdue_deltas
),

overdue as (
    select
        account_id,
        day_key as score_day,
        amount_overdue
    from overdue_running
    where is_spine = 1
)

select
    -- ids
    account_days.account_id,
    -- dates
    account_days.score_date,
    -- signal
    'payment' as signal,
    case
        when due_windows.invoices_due > 0
            then (due_windows.invoices_paid_on_time / due_windows.invoices_due)
            * greatest(
                0.0,
                1.0 - coalesce(overdue.amount_overdue / nullif(due_windows.amount_due, 0), 0.0)
            )
    end as raw_value,
    cast(null as {{ dbt.type_string() }}) as raw_label,
    -- components
    due_windows.invoices_due,
    due_windows.invoices_paid_on_time,
    due_windows.amount_due,
    coalesce(overdue.amount_overdue, 0) as amount_overdue
from account_days
left join due_windows
    on account_days.account_id = due_windows.account_id
    and account_days.score_day = due_windows.score_day
left join overdue
    on account_days.account_id = overdue.account_id
    and account_days.score_day = overdue.score_day
