-- A table, updated from the first activity date a run's new or changed files touch (see
-- macros/changed_data.sql): the versions of a key share its activity_date, so the newest one
-- is found among the rows of the dates rebuilt.

with

source as (
    select * from {{ source('usage', 'usage') }}
    {{ changed_data_filter('activity_date') }}
),

-- Events a preset aggregated at ingest arrive as one row per key and file (_source_events
-- set): an export split by the hour holds part of a day in each file, so the parts of a key
-- are added up into one version, as new as its newest part.
event_parts as (
    select
        account_id,
        activity_date,
        user_id,
        feature,
        cast(sum(event_count) as bigint) as event_count,
        sum(minutes) as minutes,
        max(_file_modified_at) as _file_modified_at,
        max(_source_file) as _source_file,
        max(_source_row) as _source_row
    from source
    where _source_events is not null
    group by account_id, activity_date, user_id, feature
),

versions as (
    select
        account_id,
        activity_date,
        user_id,
        feature,
        event_count,
        minutes,
        _file_modified_at,
        _source_file,
        _source_row
    from source
    where _source_events is null
    union all
    select * from event_parts
),

versioned as (
    select
        *,
        row_number() over (
            partition by account_id, activity_date, user_id, feature
            order by {{ newest_first() }}
        ) as version_rank
    from versions
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
