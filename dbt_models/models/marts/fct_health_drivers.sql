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
        assigned.preset as earlier_preset
    from today
    inner join assigned
        on today.account_id = assigned.account_id
        and assigned.score_date = today.earlier_date
),

today_contributions as (
    select
        today.account_id,
        today.score_date,
        weighted_signals.signal,
        weighted_signals.dimension,
        weighted_signals.signal_score,
        weighted_signals.contribution
    from today
    inner join weighted_signals
        on today.account_id = weighted_signals.account_id
        and today.score_date = weighted_signals.score_date
        and today.preset = weighted_signals.preset
),

restated_today_preset as (
    select
        today.account_id,
        today.score_date,
        weighted_signals.signal,
        weighted_signals.dimension,
        weighted_signals.signal_score,
        weighted_signals.contribution
    from today
    inner join earlier
        on today.account_id = earlier.account_id
        and today.score_date = earlier.score_date
    inner join weighted_signals
        on today.account_id = weighted_signals.account_id
        and weighted_signals.score_date = today.earlier_date
        and today.preset = weighted_signals.preset
),

restated_earlier_preset as (
    select
        earlier.account_id,
        earlier.score_date,
        weighted_signals.signal,
        weighted_signals.dimension,
        weighted_signals.contribution
    from earlier
    inner join today
        on earlier.account_id = today.account_id
        and earlier.score_date = today.score_date
    inner join weighted_signals
        on earlier.account_id = weighted_signals.account_id
        and weighted_signals.score_date = today.earlier_date
        and earlier.earlier_preset = weighted_signals.preset
),

published_earlier as (
    select
        today.account_id,
        today.score_date,
        published_signals.signal,
        published_signals.dimension,
        published_signals.preset,
        published_signals.config_version,
        published_signals.contribution
    from today
    inner join published_signals
        on today.account_id = published_signals.account_id
        and published_signals.score_date = today.earlier_date
),

published_accounts as (
    select distinct
        account_id,
        score_date,
        preset,
        config_version
    from published_earlier
),

signal_keys as (
    select account_id, score_date, signal, dimension from today_contributions
    union
    select account_id, score_date, signal, dimension from restated_today_preset
    union
    select account_id, score_date, signal, dimension from restated_earlier_preset
    union
    select account_id, score_date, signal, dimension from published_earlier
),

-- a signal sits in one dimension per preset; today's dimension names the row when it has one
keyed as (
    select
        account_id,
        score_date,
        signal,
        min(dimension) as any_dimension
    from signal_keys
    group by account_id, score_date, signal
),

joined as (
    select
        keyed.account_id,
        keyed.score_date,
        keyed.signal,
        coalesce(today_contributions.dimension, keyed.any_dimension) as dimension,
        today.preset,
        today.config_version,
        earlier.earlier_preset,
        published_accounts.preset as published_preset_30d_ago,
        published_accounts.config_version as config_version_30d_ago,
        published_accounts.account_id is not null as has_published_30d_ago,
        today_contributions.signal_score,
        restated_today_preset.signal_score as signal_score_30d_ago,
        coalesce(today_contributions.contribution, 0) as contribution,
        coalesce(restated_today_preset.contribution, 0) as restated_today_preset_contribution,
        coalesce(restated_earlier_preset.contribution, 0) as restated_earlier_preset_contribution,
        coalesce(published_earlier.contribution, 0) as published_contribution
    from keyed
    inner join today
        on keyed.account_id = today.account_id
        and keyed.score_date = today.score_date
    left join earlier
        on keyed.account_id = earlier.account_id
        and keyed.score_date = earlier.score_date
    left join published_accounts
        on keyed.account_id = published_accounts.account_id
        and keyed.score_date = published_accounts.score_date
    left join today_contributions
        on keyed.account_id = today_contributions.account_id
        and keyed.score_date = today_contributions.score_date
        and keyed.signal = today_contributions.signal
    left join restated_today_preset
        on keyed.account_id = restated_today_preset.account_id
        and keyed.score_date = restated_today_preset.score_date
        and keyed.signal = restated_today_preset.signal
    left join restated_earlier_preset
        on keyed.account_id = restated_earlier_preset.account_id
        and keyed.score_date = restated_earlier_preset.score_date
        and keyed.signal = restated_earlier_preset.signal
    left join published_earlier
        on keyed.account_id = published_earlier.account_id
        and keyed.score_date = published_earlier.score_date
        and keyed.signal = published_earlier.signal
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
