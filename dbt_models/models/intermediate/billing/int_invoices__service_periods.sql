-- The service period of every invoice that was not voided: the days it bills, both included.
-- An exported period (period_start and period_end) is taken as it is. Without one, the period
-- is inferred from the account's billing cadence: from the issue date up to the day before
-- the account's next invoice is issued (a later issue date; void invoices do not count). The
-- account's last invoice bills as long as the gap before it; an account's only invoice bills
-- until the day before the account's contract_end (its renewal date) when that is later,
-- else one calendar month.

with

invoices as (
    select * from {{ ref('stg_billing__invoices') }}
),

accounts as (
    select * from {{ ref('stg_accounts__accounts') }}
),

billed as (
    select
        invoice_id,
        account_id,
        issued_date,
        period_start,
        period_end,
        amount,
        invoice_status,
        {{ day_number('issued_date') }} as issued_day
    from invoices
    where invoice_status <> 'void'
),

cadence as (
    select
        *,
        -- the nearest other issue day after and before this one (same-day invoices share it)
        min(issued_day) over (
            partition by account_id
            order by issued_day
            range between 1 following and unbounded following
        ) as next_issued_day,
        max(issued_day) over (
            partition by account_id
            order by issued_day
            range between unbounded preceding and 1 preceding
        ) as previous_issued_day
    from billed
),

inferred as (
    select
        cadence.*,
        case
            when cadence.next_issued_day is not null then 'billing_cadence'
            when cadence.previous_issued_day is not null then 'previous_gap'
            when accounts.contract_end > cadence.issued_date then 'contract_end'
            else 'one_month'
        end as inferred_from,
        case
            when cadence.next_issued_day is not null
                then cadence.next_issued_day - 1
            when cadence.previous_issued_day is not null
                then 2 * cadence.issued_day - cadence.previous_issued_day - 1
            when accounts.contract_end > cadence.issued_date
                then {{ day_number('accounts.contract_end') }} - 1
            else {{ day_number(dbt.dateadd('month', 1, 'cadence.issued_date')) }} - 1
        end as inferred_end_day
    from cadence
    left join accounts
        on cadence.account_id = accounts.account_id
),

periods as (
    select
        invoice_id,
        account_id,
        issued_date,
        amount,
        invoice_status,
        issued_day,
        case
            when period_start is not null and period_end is not null
                then {{ day_number('period_start') }}
            else issued_day
        end as start_day,
        case
            when period_start is not null and period_end is not null
                then {{ day_number('period_end') }}
            else inferred_end_day
        end as end_day,
        case
            when period_start is not null and period_end is not null then 'exported'
            else inferred_from
        end as period_source
    from inferred
)

select
    -- ids
    invoice_id,
    account_id,
    -- dates
    issued_date,
    cast({{ dbt.dateadd('day', 'start_day - issued_day', 'issued_date') }} as date) as period_start,
    cast({{ dbt.dateadd('day', 'end_day - issued_day', 'issued_date') }} as date) as period_end,
    start_day,
    end_day,
    -- measures
    amount,
    end_day - start_day + 1 as period_days,
    amount / (end_day - start_day + 1) as daily_amount,
    -- status
    invoice_status,
    period_source
from periods
