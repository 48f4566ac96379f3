-- depends_on: {{ ref('signal_config') }}
-- breadth: distinct features the account used in the window divided by the size of the
-- feature catalogue, which is every feature any account used in the same window (so a
-- user's own feature names define it). Normalised later as a percentile within segment.

{%- set window_days = signal_window_days('breadth') %}

with

account_days as (
    select * from {{ ref('int_accounts__daily') }}
),

scoring_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
),

events as (
    select * from {{ ref('stg_usage__events') }}
),

lookback as (
    select min(score_day) - {{ window_days }} - 1 as first_event_day,
        max(score_day) - 1 as last_event_day
    from scoring_dates
),

feature_activity as (
    select distinct
        events.account_id,
        events.feature as entity,
        {{ day_number('events.activity_date') }} as event_day
    from events
    where {{ day_number('events.activity_date') }} between (select first_event_day from lookback)
            and (select last_event_day from lookback)
),

catalogue_activity as (
    select distinct
        '__catalogue__' as account_id,
        entity,
        event_day
    from feature_activity
),

catalogue_days as (
    select
        '__catalogue__' as account_id,
        score_day
    from scoring_dates
),

features_used as (
    {{ trailing_distinct_count('feature_activity', 'account_days', window_days, 'features_used') }}
),

catalogue as (
    {{ trailing_distinct_count('catalogue_activity', 'catalogue_days', window_days, 'catalogue_features') }}
)

select
    -- ids
    account_days.account_id,
    -- dates
    account_days.score_date,
    -- signal
    'breadth' as signal,
    coalesce(cast(features_used.features_used as double), 0)
    / nullif(catalogue.catalogue_features, 0) as raw_value,
    cast(null as {{ dbt.type_string() }}) as raw_label,
    -- components
    coalesce(features_used.features_used, 0) as features_used,
    catalogue.catalogue_features
from account_days
left join features_used
    on account_days.account_id = features_used.account_id
    and account_days.score_day = features_used.score_day
left join catalogue
    on account_days.score_day = catalogue.score_day
