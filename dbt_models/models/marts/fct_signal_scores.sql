{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='score_date',
        on_schema_change='sync_all_columns',
        tags=['per_scoring_date'],
    )
}}
-- One row per account, scoring date and signal of the preset assigned to the account that
-- day: the raw metric, its 0-100 score and the weight it carried in the health score.

with

run_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
    where is_run_date
),

assigned as (
    select * from {{ ref('int_health_scores__assigned') }}
    where score_date between (select min(score_date) from run_dates)
        and (select max(score_date) from run_dates)
),

weighted_signals as (
    select * from {{ ref('int_signal_weights__applied') }}
    where score_date between (select min(score_date) from run_dates)
        and (select max(score_date) from run_dates)
)

select
    -- ids
    weighted_signals.account_id,
    weighted_signals.signal,
    weighted_signals.dimension,
    weighted_signals.preset,
    -- dates
    weighted_signals.score_date,
    -- measures
    weighted_signals.raw_value,
    weighted_signals.raw_label,
    weighted_signals.signal_score,
    weighted_signals.effective_weight as weight,
    weighted_signals.configured_weight,
    weighted_signals.contribution,
    -- flags
    weighted_signals.has_data,
    -- config
    assigned.config_version
from weighted_signals
inner join assigned
    on weighted_signals.account_id = assigned.account_id
    and weighted_signals.score_date = assigned.score_date
    and weighted_signals.preset = assigned.preset
