with

source as (
    select * from {{ source('support', 'support') }}
),

versioned as (
    select
        *,
        row_number() over (
            partition by ticket_id order by {{ newest_first('updated_at') }}
        ) as version_rank
    from source
)

select
    -- ids
    ticket_id,
    account_id,
    -- timestamps
    opened_at,
    closed_at,
    -- attributes
    lower(priority) as priority,
    lower(category) as category,
    -- measures
    csat,
    first_response_minutes,
    -- lineage
    updated_at,
    _source_file as source_file
from versioned
where version_rank = 1
