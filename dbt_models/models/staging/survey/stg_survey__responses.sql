with

source as (
    select * from {{ source('survey', 'survey') }}
),

versioned as (
    select
        *,
        row_number() over (
            partition by response_id order by {{ newest_first() }}
        ) as version_rank
    from source
)

select
    -- ids
    response_id,
    account_id,
    -- timestamps
    responded_at,
    -- attributes
    lower(survey_type) as survey_type,
    lower(respondent_role) as respondent_role,
    comment as response_comment,
    -- measures
    score,
    -- lineage
    _source_file as source_file
from versioned
where version_rank = 1
