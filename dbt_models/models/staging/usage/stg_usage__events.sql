with

source as (
    select * from {{ source('usage', 'usage') }}
),

versioned as (
    select
        *,
        row_number() over (
            partition by account_id, activity_date, user_id, feature
            order by {{ newest_first() }}
        ) as version_rank
    from source
)

select
    -- ids
    account_id,
    user_id,
    lower(feature) as feature,
    -- dates
    activity_date,
    -- measures
    event_count,
    minutes,
    -- lineage
    _source_file as source_file
from versioned
where version_rank = 1
