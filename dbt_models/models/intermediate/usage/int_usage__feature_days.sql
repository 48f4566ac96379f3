-- Product usage summed per feature and day over all accounts: the feature catalogue through
-- time (the enablement signal starts on the day after the first use of an enablement
-- feature). Small (features x days); updated from the first activity date a run's new or
-- changed files touch (macros/changed_data.sql).

with

events as (
    select * from {{ ref('stg_usage__events') }}
    {{ changed_data_filter('activity_date') }}
)

select
    -- ids
    feature,
    -- dates
    activity_date,
    {{ day_number('activity_date') }} as activity_day,
    -- measures
    sum(event_count) as events,
    count(distinct account_id) as accounts
from events
group by feature, activity_date
