-- A table, updated from the first activity date a run's new or changed files touch (see
-- macros/changed_data.sql): the versions of a key share its activity_date, so the newest one
-- is found among the rows of the dates rebuilt.

with

source as (
    select * from {{ source('usage', 'usage') }}
    {{ changed_data_filter('activity_date') }}
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
