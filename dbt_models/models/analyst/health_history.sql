-- depends_on: {{ ref('preset_assignments') }}
-- depends_on: {{ ref('preset_weights') }}
-- The health score of every account on every scoring date: score, tier, dimension scores and
-- how it moved. One row per account and scoring date on which the account was a customer.

with

health_scores as (
    select * from {{ ref('fct_health_scores') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
)

select
    -- ids
    health_scores.account_id,
    accounts.account_name,
    -- dates
    health_scores.score_date,
    -- account on that date
    health_scores.segment,
    health_scores.lifecycle_stage,
    health_scores.tenure_days,
    -- health
    health_scores.health_score,
    health_scores.computed_score as score_from_data,
    health_scores.tier,
    health_scores.colour as tier_colour,
    health_scores.tier_severity,
    {%- for dimension in mart_dimensions() %}
    health_scores.{{ dimension }}_score,
    {%- endfor %}
    health_scores.delta_7d as score_change_7d,
    health_scores.delta_30d as score_change_30d,
    health_scores.trend as score_trend,
    health_scores.top_drivers as weakest_signals,
    health_scores.coverage as data_coverage,
    health_scores.low_confidence as is_low_confidence,
    health_scores.preset as weighting_preset
from health_scores
left join accounts
    on health_scores.account_id = accounts.account_id
