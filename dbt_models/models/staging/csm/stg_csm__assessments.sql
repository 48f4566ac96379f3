with

source as (
    select * from {{ source('csm', 'csm') }}
),

versioned as (
    select
        *,
        row_number() over (
            partition by account_id, assessed_at order by {{ newest_first() }}
        ) as version_rank
    from source
)

select
    -- ids
    account_id,
    author,
    -- timestamps
    assessed_at,
    valid_until,
    -- measures
    sentiment,
    lower(renewal_intent) as renewal_intent,
    note as assessment_note,
    -- lineage
    _source_file as source_file
from versioned
where version_rank = 1
