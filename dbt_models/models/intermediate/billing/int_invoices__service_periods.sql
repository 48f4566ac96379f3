-- The service period of every invoice that was not voided: the days it bills, both included.
-- Only what was known when the invoice was issued decides its period, so an invoice issued
-- later never changes a past score. An exported period (period_start and period_end) is
-- taken as it is, moved to start on the issue date when it starts before (billing in
-- arrears: a score cannot see an invoice before it is issued). Without one, the period is
-- inferred from the billing cadence: it starts on the issue date and lasts as long as the gap
-- since the account's previous issue date (void invoices do not count). An account's first
-- invoice bills until the day before its contract_end when it was issued within that
-- contract (contract_start, when given, on or before the issue date), else one calendar month.

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
        amount,
        invoice_status,
        {{ day_number('issued_date') }} as issued_day,
        {{ day_number('period_start') }} as exported_start_day,
        {{ day_number('period_end') }} as exported_end_day
    from invoices
    where invoice_status <> 'void'
),

cadence as (
    select
        *,
        -- the account's nearest earlier issue day (same-day invoices share it)
        max(issued_day) over (
            partition by account_id
            order by issued_day
            range between unbounded preceding and 1 preceding
        ) as previous_issued_day
    from billed
),

periods as (
    select
        cadence.invoice_id,
        cadence.account_id,
        cadence.issued_date,
        cadence.issued_day,
        cadence.amount,
        cadence.invoice_status,
        case
            when cadence.exported_start_day is not null and cadence.exported_end_day is not null
                then 'exported'
            when cadence.previous_issued_day is not null then 'previous_gap'
            when accounts.contract_end > cadence.issued_date
                and coalesce(accounts.contract_start <= cadence.issued_date, true)
                then 'contract_end'
            else 'one_month'
        end as period_source,
        case
            when cadence.exported_start_day is not null and cadence.exported_end_day is not null
                then cadence.exported_end_day - cadence.exported_start_day + 1
            when cadence.previous_issued_day is not null
                then cadence.issued_day - cadence.previous_issued_day
            when accounts.contract_end > cadence.issued_date
                and coalesce(accounts.contract_start <= cadence.issued_date, true)
                then {{ day_number('accounts.contract_end') }} - cadence.issued_day
            else {{ day_number(dbt.dateadd('month', 1, 'cadence.issued_date')) }}
                - cadence.issued_day
        end as period_days,
        case
            when cadence.exported_start_day is not null and cadence.exported_end_day is not null
                then greatest(cadence.exported_start_day, cadence.issued_day)
            else cadence.issued_day
        end as start_day
    from cadence
    left join accounts
        on cadence.account_id = accounts.account_id
)

select
    -- ids
    invoice_id,
    account_id,
    -- dates
    issued_date,
    cast({{ dbt.dateadd('day', 'start_day - issued_day', 'issued_date') }} as date) as period_start,
    cast(
        {{ dbt.dateadd('day', 'start_day + period_days - 1 - issued_day', 'issued_date') }} as date
    ) as period_end,
    start_day,
    start_day + period_days - 1 as end_day,
    -- measures
    amount,
    period_days,
    amount / period_days as daily_amount,
    -- status
    invoice_status,
    period_source
from periods
