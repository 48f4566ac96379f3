-- depends_on: {{ ref('enablement_features') }}
-- Product usage summed per account and day: the one pass over the usage events that the
-- usage-based signals share.

with

events as (
    select * from {{ ref('stg_usage__events') }}
),

enablement_features as (
    select * from {{ ref('enablement_features') }}
),

flagged as (
    select
        events.*,
        exists (
            select 1
            from enablement_features
            where events.feature like enablement_features.feature_pattern
        ) as is_enablement_feature
    from events
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
    sum(case when is_enablement_feature then event_count else 0 end) as enablement_events,
    -- flags
    max(case when user_id is null then 1 else 0 end) as has_account_level_rows,
    max(case when user_id is not null then 1 else 0 end) as has_user_rows
from flagged
group by account_id, activity_date
