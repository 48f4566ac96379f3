{{ config(materialized='view', tags=['per_scoring_date']) }}
-- depends_on: {{ ref('signal_config') }}
-- depends_on: {{ ref('signal_bands') }}
-- depends_on: {{ ref('tier_bands') }}
-- One row per account, scoring date and signal of the preset assigned to the account that
-- day: the raw metric, its 0-100 score and the weight it carried in the health score. A view
-- over fct_signal_scores_wide (one row per account-day); dimension and configured_weight
-- come from the preset's weights (seeds/preset_weights.csv).

{%- set signals = measured_signals_checked(scoring_config()) %}

with

wide as (
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
        wide.score_date,
        {{ signal_column_sql(signals, 'raw_value__') }} as raw_value,
        {{ signal_column_sql(signals, 'raw_label__') }} as raw_label,
        {{ signal_column_sql(signals, 'signal_score__') }} as signal_score,
        {{ signal_column_sql(signals, 'weight__') }} as weight,
        {{ signal_column_sql(signals, 'has_data__') }} as has_data,
        wide.config_version
    from wide
    cross join signals
)

select
    -- ids
    long.account_id,
    long.signal,
    preset_weights.dimension,
    long.preset,
    -- dates
    long.score_date,
    -- measures
    long.raw_value,
    long.raw_label,
    long.signal_score,
    long.weight,
    preset_weights.dimension_weight * preset_weights.signal_weight as configured_weight,
    long.weight * coalesce(long.signal_score, 0) as contribution,
    -- flags
    long.has_data,
    -- config
    long.config_version
from long
left join preset_weights
    on long.preset = preset_weights.preset
    and long.signal = preset_weights.signal
-- the signals of the assigned preset carry a weight (0 when missing); the others none
where long.weight is not null
