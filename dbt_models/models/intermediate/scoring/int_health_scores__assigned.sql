-- depends_on: {{ ref('preset_weights') }}
-- The computed score of every account-day under the preset its lifecycle stage and segment
-- are assigned (seeds/preset_assignments.csv; 'default' = the run's preset, var preset):
-- a segment-specific row beats a '*' row; a stage without a row uses the run's preset.
-- Stamped with the config version it was computed under.

{%- set default_preset = var('preset') %}
{%- do preset_dimensions(default_preset) %}

with

account_days as (
    select * from {{ ref('int_accounts__daily') }}
),

health_scores as (
    select * from {{ ref('int_health_scores__weighted') }}
),

preset_assignments as (
    select * from {{ ref('preset_assignments') }}
),

config as (
    select distinct config_version from {{ ref('int_config__fingerprints') }}
),

matches as (
    select
        account_days.account_id,
        account_days.score_date,
        case
            when preset_assignments.preset = 'default' then '{{ default_preset }}'
            else preset_assignments.preset
        end as preset,
        row_number() over (
            partition by account_days.account_id, account_days.score_date
            order by case when preset_assignments.segment = '*' then 1 else 0 end
        ) as match_rank
    from account_days
    inner join preset_assignments
        on account_days.lifecycle_stage = preset_assignments.lifecycle_stage
        and (
            preset_assignments.segment = '*'
            or account_days.segment = lower(preset_assignments.segment)
        )
),

assigned as (
    select
        account_days.account_id,
        account_days.score_date,
        account_days.lifecycle_stage,
        account_days.segment,
        coalesce(matches.preset, '{{ default_preset }}') as preset
    from account_days
    left join matches
        on account_days.account_id = matches.account_id
        and account_days.score_date = matches.score_date
        and matches.match_rank = 1
)

select
    -- ids
    assigned.account_id,
    assigned.preset,
    -- dates
    assigned.score_date,
    -- assignment
    assigned.lifecycle_stage,
    assigned.segment,
    -- score
    health_scores.computed_score,
    health_scores.coverage,
    health_scores.tier,
    health_scores.colour,
    health_scores.tier_severity,
    health_scores.low_confidence,
    -- config
    config.config_version
from assigned
inner join health_scores
    on assigned.account_id = health_scores.account_id
    and assigned.score_date = health_scores.score_date
    and assigned.preset = health_scores.preset
cross join config
