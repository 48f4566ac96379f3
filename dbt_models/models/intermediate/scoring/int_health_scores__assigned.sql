-- depends_on: {{ ref('signal_config') }}
-- depends_on: {{ ref('signal_bands') }}
-- depends_on: {{ ref('preset_weights') }}
-- depends_on: {{ ref('tier_bands') }}
-- depends_on: {{ ref('scoring_settings') }}
-- One row per account-day of this run (run dates and their look-back dates): the preset its
-- lifecycle stage and segment are assigned (seeds/preset_assignments.csv; 'default' = the
-- run's preset, var preset: a segment-specific row beats a '*' row; a stage without a row
-- uses the run's preset), the computed score, coverage, tier and dimension scores under that
-- preset, and every signal's raw value, score and the weight it carried (weight__<signal>,
-- null for a signal the preset does not use), all expressions over the row. Stamped with
-- the config version it was computed under.

{%- set config = scoring_config() %}
{%- set signals = measured_signals_checked(config) %}
{%- set default_preset = var('preset') %}
{%- set presets = assigned_presets() %}
{%- set dimensions = mart_dimensions() %}
{%- set low_confidence_coverage = scoring_setting('low_confidence_coverage', 0.6) %}

with

account_days as (
    select * from {{ ref('int_accounts__daily') }}
),

signal_scores as (
    select * from {{ ref('int_signal_scores__normalised') }}
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
        signal_scores.*,
        account_days.lifecycle_stage,
        account_days.segment,
        coalesce(matches.preset, '{{ default_preset }}') as preset
    from signal_scores
    inner join account_days
        on signal_scores.account_id = account_days.account_id
        and signal_scores.score_date = account_days.score_date
    left join matches
        on signal_scores.account_id = matches.account_id
        and signal_scores.score_date = matches.score_date
        and matches.match_rank = 1
),

-- the dimension scores and signal weights of every preset, once per row
parts as (
    select
        assigned.*,
        {{ preset_part_columns(config, presets) }}
    from assigned
),

scored as (
    select
        parts.*,
        {{ by_preset_sql(config, presets, 'preset', 'score', parts=true) }} as computed_score,
        {{ by_preset_sql(config, presets, 'preset', 'coverage') }} as coverage
    from parts
)

select
    -- ids
    scored.account_id,
    scored.preset,
    -- dates
    scored.score_date,
    -- assignment
    scored.lifecycle_stage,
    scored.segment,
    -- score
    scored.computed_score,
    scored.coverage,
    coalesce({{ tier_band_sql(config, 'scored.computed_score', 'tier') }}, 'unscored') as tier,
    coalesce({{ tier_band_sql(config, 'scored.computed_score', 'colour') }}, 'grey') as colour,
    {{ tier_band_sql(config, 'scored.computed_score', 'severity') }} as tier_severity,
    scored.coverage < {{ low_confidence_coverage }} as low_confidence,
    -- dimension scores of the assigned preset (null for the dimensions of other presets)
    {%- for dimension in dimensions %}
    {{ by_preset_sql(config, presets, 'scored.preset', 'dimension', dimension, 'scored.', parts=true) }} as {{ dimension }}_score,
    {%- endfor %}
    -- signals
    {%- for signal in signals %}
    scored.raw_value__{{ signal }},
    scored.raw_label__{{ signal }},
    scored.signal_score__{{ signal }},
    scored.has_data__{{ signal }},
    {{ by_preset_sql(config, presets, 'scored.preset', 'weight', signal, 'scored.', parts=true) }} as weight__{{ signal }},
    {%- endfor %}
    -- config
    config.config_version
from scored
cross join config
