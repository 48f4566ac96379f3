{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='score_date',
        on_schema_change='sync_all_columns',
        tags=['per_scoring_date'],
    )
}}
-- Why a score moved: one row per account, scoring date and signal with the signal's
-- contribution to the computed score that day and its change since the score published 30
-- days earlier, split in three parts that add up to it:
--   data_change        = today's contribution - the contribution 30 days earlier restated
--                        under today's config and today's preset (what the data did);
--   weighting_change   = that restated contribution under today's preset - under the preset
--                        the account had then (a lifecycle / segment preset switch);
--   restatement_change = the restated contribution under the preset it had then - the one
--                        published then (a config change since, or data corrected late).
-- Summed over an account-day's signals, total_change is computed_score minus the computed
-- score published 30 days earlier (before their rounding to 2 decimals).

with

run_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
    where is_run_date
),

assigned as (
    select * from {{ ref('int_health_scores__assigned') }}
),

weighted_signals as (
    select * from {{ ref('int_signal_weights__applied') }}
),

published_signals as (
    select * from {{ ref('fct_signal_scores') }}
),

today as (
    select
        assigned.account_id,
        assigned.score_date,
        assigned.preset,
        assigned.config_version,
        {{ dbt.dateadd('day', -30, 'assigned.score_date') }} as earlier_date
    from assigned
    inner join run_dates
        on assigned.score_date = run_dates.score_date
),

earlier as (
    select
        today.account_id,
        today.score_date,
        today.preset,
        today.earlier_date,
        assigned.preset as earlier_preset
    from today
    inner join assigned
        on today.account_id = assigned.account_id
        and assigned.score_date = today.earlier_date
),

-- Every contribution the split needs, one row per source, read in two scans of the
-- weighted signals: today's under today's preset, and the ones 30 days earlier restated under
-- today's preset and under the preset of then (both presets' rows in one join); then what was
-- published 30 days earlier. Each row carries its value in its own column, 0 in the others.
parts as (
    select
        today.account_id,
        today.score_date,
        weighted_signals.signal,
        weighted_signals.dimension,
        weighted_signals.dimension as today_dimension,
        weighted_signals.signal_score,
        cast(null as double) as signal_score_30d_ago,
        weighted_signals.contribution,
        0.0 as restated_today_preset_contribution,
        0.0 as restated_earlier_preset_contribution,
        0.0 as published_contribution
    from today
    inner join weighted_signals
        on today.account_id = weighted_signals.account_id
        and today.score_date = weighted_signals.score_date
        and today.preset = weighted_signals.preset

    union all

    select
        earlier.account_id,
        earlier.score_date,
        weighted_signals.signal,
        weighted_signals.dimension,
        cast(null as {{ dbt.type_string() }}) as today_dimension,
        cast(null as double) as signal_score,
        case
            when weighted_signals.preset = earlier.preset then weighted_signals.signal_score
        end as signal_score_30d_ago,
        0.0 as contribution,
        case
            when weighted_signals.preset = earlier.preset then weighted_signals.contribution
            else 0.0
        end as restated_today_preset_contribution,
        case
            when weighted_signals.preset = earlier.earlier_preset then weighted_signals.contribution
            else 0.0
        end as restated_earlier_preset_contribution,
        0.0 as published_contribution
    from earlier
    inner join weighted_signals
        on earlier.account_id = weighted_signals.account_id
        and earlier.earlier_date = weighted_signals.score_date
    where weighted_signals.preset in (earlier.preset, earlier.earlier_preset)

    union all

    select
        today.account_id,
        today.score_date,
        published_signals.signal,
        published_signals.dimension,
        cast(null as {{ dbt.type_string() }}) as today_dimension,
        cast(null as double) as signal_score,
        cast(null as double) as signal_score_30d_ago,
        0.0 as contribution,
        0.0 as restated_today_preset_contribution,
        0.0 as restated_earlier_preset_contribution,
        published_signals.contribution as published_contribution
    from today
    inner join published_signals
        on today.account_id = published_signals.account_id
        and today.earlier_date = published_signals.score_date
),

-- one row per account-day and signal: each sum adds one value to zeros (exact); a signal
-- sits in one dimension per preset, today's dimension names the row when it has one
by_signal as (
    select
        account_id,
        score_date,
        signal,
        coalesce(max(today_dimension), min(dimension)) as dimension,
        max(signal_score) as signal_score,
        max(signal_score_30d_ago) as signal_score_30d_ago,
        sum(contribution) as contribution,
        sum(restated_today_preset_contribution) as restated_today_preset_contribution,
        sum(restated_earlier_preset_contribution) as restated_earlier_preset_contribution,
        sum(published_contribution) as published_contribution
    from parts
    group by account_id, score_date, signal
),

published_accounts as (
    select
        today.account_id,
        today.score_date,
        min(published_signals.preset) as preset,
        min(published_signals.config_version) as config_version
    from today
    inner join published_signals
        on today.account_id = published_signals.account_id
        and today.earlier_date = published_signals.score_date
    group by today.account_id, today.score_date
),

joined as (
    select
        by_signal.*,
        today.preset,
        today.config_version,
        earlier.earlier_preset,
        published_accounts.preset as published_preset_30d_ago,
        published_accounts.config_version as config_version_30d_ago,
        published_accounts.account_id is not null as has_published_30d_ago
    from by_signal
    inner join today
        on by_signal.account_id = today.account_id
        and by_signal.score_date = today.score_date
    left join earlier
        on by_signal.account_id = earlier.account_id
        and by_signal.score_date = earlier.score_date
    left join published_accounts
        on by_signal.account_id = published_accounts.account_id
        and by_signal.score_date = published_accounts.score_date
)

select
    -- ids
    account_id,
    signal,
    dimension,
    preset,
    earlier_preset as preset_30d_ago,
    -- dates
    score_date,
    -- today
    signal_score,
    contribution,
    -- 30 days earlier
    signal_score_30d_ago,
    case when has_published_30d_ago then published_contribution end as contribution_30d_ago,
    -- change since 30 days earlier, split
    case
        when has_published_30d_ago then contribution - restated_today_preset_contribution
    end as data_change,
    case
        when has_published_30d_ago
            then restated_today_preset_contribution - restated_earlier_preset_contribution
    end as weighting_change,
    case
        when has_published_30d_ago
            then restated_earlier_preset_contribution - published_contribution
    end as restatement_change,
    case when has_published_30d_ago then contribution - published_contribution end as total_change,
    -- config
    config_version,
    config_version_30d_ago,
    -- flags
    has_published_30d_ago and config_version <> config_version_30d_ago as config_changed,
    has_published_30d_ago and preset <> earlier_preset as preset_changed
from joined
