with

source as (
    select * from {{ source('overrides', 'overrides') }}
),

versioned as (
    select
        *,
        row_number() over (
            partition by account_id, valid_from order by {{ newest_first() }}
        ) as version_rank
    from source
)

select
    -- ids
    account_id,
    author as override_author,
    -- dates
    valid_from,
    valid_until,
    -- override
    health_score as override_score,
    lower(trim(tier)) as override_tier,
    reason as override_reason,
    -- lineage
    _source_file as source_file,
    _source_row as source_row
from versioned
where version_rank = 1
