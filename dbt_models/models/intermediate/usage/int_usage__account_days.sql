-- Product usage summed per account and day: the one pass over the usage events that the
-- usage-based signals share. Updated from the first activity date a run's new or changed
-- files touch (macros/changed_data.sql).

with

events as (
    -- the days a run's new or changed files touch (all of them on a full build)
    select * from {{ ref('stg_usage__events') }}
    {{ changed_data_filter('activity_date') }}
)

select
    -- ids
    account_id,
    -- dates
    activity_date,
    {{ day_number('activity_date') }} as activity_day,
    -- measures
    sum(event_count) as events,
    sum(minutes) as minutes,
    count(distinct user_id) as active_users,
    count(distinct feature) as features_used,
    -- flags
    max(case when user_id is null then 1 else 0 end) as has_account_level_rows,
    max(case when user_id is not null then 1 else 0 end) as has_user_rows
from events
group by account_id, activity_date
