with

source as (
    select * from {{ source('billing', 'billing') }}
),

versioned as (
    select
        *,
        row_number() over (
            partition by invoice_id order by {{ newest_first('updated_at') }}
        ) as version_rank
    from source
)

select
    -- ids
    invoice_id,
    account_id,
    -- dates
    issued_date,
    due_date,
    paid_date,
    period_start,
    period_end,
    -- measures
    amount,
    upper(currency) as currency,
    -- status
    lower(status) as invoice_status,
    -- lineage
    updated_at,
    _source_file as source_file
from versioned
where version_rank = 1
