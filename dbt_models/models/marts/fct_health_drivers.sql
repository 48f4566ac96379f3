{{ config(materialized='view', tags=['per_scoring_date']) }}
-- depends_on: {{ ref('signal_config') }}
-- depends_on: {{ ref('signal_bands') }}
-- depends_on: {{ ref('tier_bands') }}
-- Why a score moved: one row per account, scoring date and signal (of the preset assigned
-- that day or of the one published 30 days earlier) with the signal's contribution to the
-- computed score that day and its change since the score published 30 days earlier, split
-- in three parts that add up to it:
--   data_change        = today's contribution - the contribution 30 days earlier restated
--                        under today's config and today's preset (what the data did);
--   weighting_change   = that restated contribution under today's preset - under the preset
--                        the account had then (a lifecycle / segment preset switch);
--   restatement_change = the restated contribution under the preset it had then - the one
--                        published then (a config change since, or data corrected late).
-- Summed over an account-day's signals, total_change is computed_score minus the computed
-- score published 30 days earlier (before their rounding to 2 decimals). A view over
-- fct_signal_scores_wide: today's row and the row 30 days earlier (total_change is their
-- difference; weighting_change and restatement_change are stored on today's row).

{%- set signals = measured_signals_checked(scoring_config()) %}

with

wide as (
    select * from {{ ref('fct_signal_scores_wide') }}
),

earlier as (
    select * from {{ ref('fct_signal_scores_wide') }}
),

preset_weights as (
    select * from {{ ref('preset_weights') }}
),

signals as (
    {{ signal_names_relation(signals) }}
),

long as (
    select
        wide.account_id,
        signals.signal,
        wide.preset,
        wide.preset_30d_ago,
        wide.score_date,
        {{ signal_column_sql(signals, 'signal_score__') }} as signal_score,
        {{ signal_column_sql(signals, 'weight__') }} as weight,
        {{ signal_column_sql(signals, 'signal_score__', row='earlier.') }} as signal_score_30d_ago,
        {{ signal_column_sql(signals, 'weight__', row='earlier.') }} as weight_30d_ago,
        {{ signal_column_sql(signals, 'weighting_change_30d__') }} as weighting_change,
        {{ signal_column_sql(signals, 'restatement_change_30d__') }} as restatement_change,
        wide.has_published_30d_ago,
        wide.published_preset_30d_ago,
        wide.config_version,
        wide.config_version_30d_ago
    from wide
    left join earlier
        on wide.account_id = earlier.account_id
        and earlier.score_date = {{ dbt.dateadd('day', -30, 'wide.score_date') }}
    cross join signals
)

select
    -- ids
    long.account_id,
    long.signal,
    coalesce(today_weights.dimension, earlier_weights.dimension) as dimension,
    long.preset,
    long.preset_30d_ago,
    -- dates
    long.score_date,
    -- today
    long.signal_score,
    coalesce(long.weight, 0) * coalesce(long.signal_score, 0) as contribution,
    -- 30 days earlier (as published)
    long.signal_score_30d_ago,
    case
        when long.has_published_30d_ago
            then coalesce(long.weight_30d_ago, 0) * coalesce(long.signal_score_30d_ago, 0)
    end as contribution_30d_ago,
    -- change since 30 days earlier, split
    long.total_change - long.weighting_change - long.restatement_change as data_change,
    long.weighting_change,
    long.restatement_change,
    long.total_change,
    -- config
    long.config_version,
    long.config_version_30d_ago,
    -- flags
    coalesce(long.has_published_30d_ago and long.config_version <> long.config_version_30d_ago, false)
        as config_changed,
    coalesce(long.has_published_30d_ago and long.preset <> long.preset_30d_ago, false)
        as preset_changed
from (
    select
        long.*,
        case
            when long.has_published_30d_ago
                then coalesce(long.weight, 0) * coalesce(long.signal_score, 0)
                - coalesce(long.weight_30d_ago, 0) * coalesce(long.signal_score_30d_ago, 0)
        end as total_change
    from long
) as long
left join preset_weights as today_weights
    on long.preset = today_weights.preset
    and long.signal = today_weights.signal
left join preset_weights as earlier_weights
    on long.published_preset_30d_ago = earlier_weights.preset
    and long.signal = earlier_weights.signal
where long.weight is not null
    or long.weight_30d_ago is not null
