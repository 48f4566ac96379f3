with

source as (
    select * from {{ source('outcomes', 'outcomes') }}
),

versioned as (
    select
        *,
        row_number() over (
            partition by account_id, event_date, event_type order by {{ newest_first() }}
        ) as version_rank
    from source
)

select
    -- ids
    account_id,
    -- dates
    event_date,
    -- attributes
    lower(event_type) as event_type,
    reason as event_reason,
    -- measures
    arr_change,
    -- lineage
    _source_file as source_file
from versioned
where version_rank = 1
