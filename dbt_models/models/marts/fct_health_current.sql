{{ config(tags=['history_summary']) }}
-- One row per account of the accounts export: its latest health score (the newest scoring
-- date it was scored on; for a churned account, its last day as a customer). Accounts never
-- scored (e.g. churned before the first scoring date) have a null score and tier 'unscored'.
-- depends_on: {{ ref('preset_weights') }}
-- depends_on: {{ ref('preset_assignments') }}

with

accounts as (
    select * from {{ ref('dim_accounts') }}
),

health_scores as (
    select * from {{ ref('fct_health_scores') }}
),

latest as (
    select
        *,
        row_number() over (partition by account_id order by score_date desc) as recency_rank
    from health_scores
)

select
    -- ids
    accounts.account_id,
    accounts.account_name,
    latest.preset,
    -- dates
    latest.score_date,
    -- scores
    latest.health_score,
    latest.computed_score,
    coalesce(latest.tier, 'unscored') as tier,
    coalesce(latest.colour, 'grey') as colour,
    latest.tier_severity,
    latest.computed_tier,
    latest.coverage,
    latest.low_confidence,
    {%- for dimension in mart_dimensions() %}
    latest.{{ dimension }}_score,
    {%- endfor %}
    latest.delta_7d,
    latest.delta_30d,
    latest.trend,
    latest.top_drivers,
    latest.top_movers_30d,
    -- override in force
    coalesce(latest.is_overridden, false) as is_overridden,
    latest.override_score,
    latest.override_tier,
    latest.override_author,
    latest.override_reason,
    latest.override_valid_from,
    latest.override_expires_on,
    -- account context
    accounts.segment,
    accounts.industry,
    accounts.plan,
    accounts.csm_owner,
    accounts.lifecycle_stage,
    accounts.tenure_days,
    accounts.arr,
    accounts.contract_end,
    accounts.is_churned,
    -- config
    latest.config_version
from accounts
left join latest
    on accounts.account_id = latest.account_id
    and latest.recency_rank = 1
