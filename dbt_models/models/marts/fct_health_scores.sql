{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='score_date',
        on_schema_change='sync_all_columns',
        tags=['per_scoring_date'],
    )
}}
-- depends_on: {{ ref('scoring_settings') }}
-- depends_on: {{ ref('preset_weights') }}
-- One row per account and scoring date: the health score of the selected preset, its
-- dimension scores, tier, coverage, change over 7 and 30 days and the signals that pull it
-- down most. health_score is the effective score; computed_score the one the data gives.

{%- set preset = var('preset') %}
{%- set dimensions = preset_dimensions(preset) %}
{%- set trend_threshold = scoring_setting('trend_threshold_points', 5) %}

with

scoring_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
),

account_days as (
    select * from {{ ref('int_accounts__daily') }}
),

all_health_scores as (
    select * from {{ ref('int_health_scores__weighted') }}
    where preset = '{{ preset }}'
),

weighted_signals as (
    select * from {{ ref('int_signal_weights__applied') }}
    where preset = '{{ preset }}'
        and score_date between (select min(score_date) from scoring_dates)
        and (select max(score_date) from scoring_dates)
),

health_scores as (
    select * from all_health_scores
    where score_date between (select min(score_date) from scoring_dates)
        and (select max(score_date) from scoring_dates)
),

dimension_scores as (
    select
        account_id,
        score_date
        {%- for dimension in dimensions %},
        max(case when dimension = '{{ dimension }}' then dimension_score end) as {{ dimension }}_score
        {%- endfor %}
    from weighted_signals
    group by account_id, score_date
),

-- the weakest signals: largest weighted shortfall from a perfect 100
shortfalls as (
    select
        account_id,
        score_date,
        signal,
        effective_weight * (100 - signal_score) as weighted_shortfall
    from weighted_signals
    where signal_score is not null
        and effective_weight > 0
        and signal_score < 100
),

ranked_shortfalls as (
    select
        *,
        row_number() over (
            partition by account_id, score_date order by weighted_shortfall desc, signal
        ) as shortfall_rank
    from shortfalls
),

drivers as (
    select
        account_id,
        score_date,
        {{ dbt.listagg('signal', "', '", 'order by shortfall_rank') }} as top_drivers
    from ranked_shortfalls
    where shortfall_rank <= 3
    group by account_id, score_date
)

select
    -- ids
    health_scores.account_id,
    health_scores.preset,
    -- dates
    health_scores.score_date,
    -- scores
    health_scores.computed_score as health_score,
    health_scores.computed_score,
    health_scores.tier,
    health_scores.colour,
    health_scores.tier_severity,
    health_scores.coverage,
    health_scores.low_confidence,
    {%- for dimension in dimensions %}
    dimension_scores.{{ dimension }}_score,
    {%- endfor %}
    -- change
    round(health_scores.computed_score - scores_7d_ago.computed_score, 2) as delta_7d,
    round(health_scores.computed_score - scores_30d_ago.computed_score, 2) as delta_30d,
    case
        when scores_30d_ago.computed_score is null or health_scores.computed_score is null then null
        when health_scores.computed_score - scores_30d_ago.computed_score >= {{ trend_threshold }} then 'improving'
        when health_scores.computed_score - scores_30d_ago.computed_score <= -{{ trend_threshold }} then 'declining'
        else 'stable'
    end as trend,
    drivers.top_drivers,
    -- account context
    account_days.segment,
    account_days.lifecycle_stage,
    account_days.tenure_days,
    account_days.arr
from health_scores
inner join account_days
    on health_scores.account_id = account_days.account_id
    and health_scores.score_date = account_days.score_date
left join dimension_scores
    on health_scores.account_id = dimension_scores.account_id
    and health_scores.score_date = dimension_scores.score_date
left join drivers
    on health_scores.account_id = drivers.account_id
    and health_scores.score_date = drivers.score_date
left join all_health_scores as scores_7d_ago
    on health_scores.account_id = scores_7d_ago.account_id
    and scores_7d_ago.score_date = {{ dbt.dateadd('day', -7, 'health_scores.score_date') }}
left join all_health_scores as scores_30d_ago
    on health_scores.account_id = scores_30d_ago.account_id
    and scores_30d_ago.score_date = {{ dbt.dateadd('day', -30, 'health_scores.score_date') }}
