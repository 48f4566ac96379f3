{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='score_date',
        on_schema_change='sync_all_columns',
    )
}}
-- depends_on: {{ ref('signal_config') }}
-- depends_on: {{ ref('signal_bands') }}
-- depends_on: {{ ref('preset_weights') }}
-- depends_on: {{ ref('tier_bands') }}
-- The overall computed score and coverage of every account-day under every preset of
-- seeds/preset_weights.csv (the backtest compares them all): one row per account-day, two
-- columns per preset (score__<preset>, coverage__<preset>), each an expression over the
-- signal scores of the row. A dimension's score is the weighted mean of its signals with a
-- score, the overall score the weighted mean of the dimensions with one. Keeps every
-- scoring date ever computed; a run replaces its own dates.

{%- set config = scoring_config() %}

with

signal_scores as (
    select * from {{ ref('int_signal_scores__normalised') }}
),

-- the dimension scores of every preset, once per row
parts as (
    select
        signal_scores.*,
        {{ preset_part_columns(config, config_presets(config)) }}
    from signal_scores
)

select
    -- ids
    account_id,
    -- dates
    score_date
    {%- for preset in config_presets(config) %}
    {%- set dimensions = preset_dimension_list(config, preset) %}
    {%- set dimension_scores = {} %}
    {%- for d in dimensions %}
        {%- do dimension_scores.update({d.dimension: 'part_dimension__' ~ preset ~ '__' ~ d.dimension}) %}
    {%- endfor %},
    -- {{ preset }}
    {{ overall_score_sql(dimensions, dimension_scores) }} as score__{{ preset }},
    {{ coverage_sql(dimensions) }} as coverage__{{ preset }}
    {%- endfor %}
from parts
order by account_id, score_date
