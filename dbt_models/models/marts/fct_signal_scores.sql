{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='score_date',
        on_schema_change='sync_all_columns',
        tags=['per_scoring_date'],
    )
}}
-- One row per account, scoring date and signal of the selected preset: the raw metric,
-- its 0-100 score and the weight it carried in the health score that day.

with

scoring_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
),

weighted_signals as (
    select * from {{ ref('int_signal_weights__applied') }}
    where preset = '{{ var("preset") }}'
        and score_date between (select min(score_date) from scoring_dates)
        and (select max(score_date) from scoring_dates)
)

select
    -- ids
    account_id,
    signal,
    dimension,
    preset,
    -- dates
    score_date,
    -- measures
    raw_value,
    raw_label,
    signal_score,
    effective_weight as weight,
    configured_weight,
    contribution,
    -- flags
    has_data
from weighted_signals
