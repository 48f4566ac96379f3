{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='score_date',
        on_schema_change='sync_all_columns',
        tags=['per_scoring_date'],
    )
}}
-- depends_on: {{ ref('signal_config') }}
-- depends_on: {{ ref('signal_bands') }}
-- depends_on: {{ ref('preset_weights') }}
-- depends_on: {{ ref('tier_bands') }}
-- depends_on: {{ ref('preset_assignments') }}
-- One row per account and scoring date: every signal's raw metric, 0-100 score, whether it
-- had data and the weight it carried in the health score under the preset assigned that
-- day (raw_value__<signal>, raw_label__<signal>, signal_score__<signal>,
-- has_data__<signal>, weight__<signal>), and the parts of the change of its contribution
-- (weight x score) since the row 30 days earlier that the data alone does not explain (zero
-- unless a preset, the config or late data changed), as fct_health_drivers shows them:
--   weighting_change_30d__<signal>    = the contribution 30 days earlier restated under
--                                       today's config and data, under today's preset minus
--                                       under the preset the account had then (a lifecycle
--                                       or segment preset switch);
--   restatement_change_30d__<signal>  = that restated contribution under the preset of then
--                                       minus the one published then (a config change
--                                       since, or data corrected late);
-- the rest of the change since the row 30 days earlier is what the data did. Null when
-- nothing was published 30 days earlier. fct_signal_scores and fct_health_drivers are views
-- over this table.

{%- set config = scoring_config() %}
{%- set signals = measured_signals_checked(config) %}
{%- set presets = assigned_presets() %}
{%- set published_from = run_var('published_from') %}

with

run_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
    where is_run_date
),

today as (
    select assigned.*
    from {{ ref('int_health_scores__assigned') }} as assigned
    inner join run_dates
        on assigned.score_date = run_dates.score_date
),

-- the rows 30 days before a run date, restated under today's config and data (the look-back
-- dates of the run); when a long range is built in parts, the dates an earlier part of the
-- same run published (from var published_from on) are read as published: nothing changed
-- since
earlier as (
    select
        account_id,
        score_date,
        preset
        {%- for signal in signals %},
        signal_score__{{ signal }},
        weight__{{ signal }}
        {%- endfor %}
    from {{ ref('int_health_scores__assigned') }}
    {%- if published_from and is_incremental() %}
    union all
    select
        account_id,
        score_date,
        preset
        {%- for signal in signals %},
        signal_score__{{ signal }},
        weight__{{ signal }}
        {%- endfor %}
    from {{ this }}
    -- the dates 30 days before the run's (an earlier part published them): the look-back
    -- only, not every date since published_from (part 7 of 12 at M ran out of memory)
    where score_date >= cast('{{ published_from }}' as date)
        and score_date >= {{ dbt.dateadd('day', -30, '(select min(score_date) from run_dates)') }}
        and score_date < (select min(score_date) from run_dates)
    {%- endif %}
),

-- the weights and scores as published: this run's dates, and the earlier rows of this table
published as (
    select
        account_id,
        score_date,
        preset,
        config_version
        {%- for signal in signals %},
        signal_score__{{ signal }},
        weight__{{ signal }}
        {%- endfor %}
    from {{ ref('int_health_scores__assigned') }}
    where score_date between (select min(score_date) from run_dates)
        and (select max(score_date) from run_dates)
    {%- if is_incremental() %}
    union all
    select
        account_id,
        score_date,
        preset,
        config_version
        {%- for signal in signals %},
        signal_score__{{ signal }},
        weight__{{ signal }}
        {%- endfor %}
    from {{ this }}
    -- the rows 30 days before the run's dates
    where score_date < (select min(score_date) from run_dates)
        and score_date >= {{ dbt.dateadd('day', -30, '(select min(score_date) from run_dates)') }}
    {%- endif %}
),

contributions as (
    select
        today.*,
        earlier.preset as preset_30d_ago,
        published_30d.preset as published_preset_30d_ago,
        published_30d.config_version as config_version_30d_ago,
        published_30d.account_id is not null as has_published_30d_ago
        {%- for signal in signals %},
        coalesce(today.weight__{{ signal }}, 0) * coalesce(today.signal_score__{{ signal }}, 0)
            as contribution__{{ signal }},
        -- (the same preset as then: the weight the earlier row carried)
        coalesce(
            case
                when today.preset = earlier.preset then earlier.weight__{{ signal }}
                else {{ by_preset_sql(config, presets, 'today.preset', 'weight', signal, 'earlier.') }}
            end,
            0
        ) * coalesce(earlier.signal_score__{{ signal }}, 0) as restated_contribution__{{ signal }},
        coalesce(earlier.weight__{{ signal }}, 0) * coalesce(earlier.signal_score__{{ signal }}, 0)
            as restated_earlier_preset_contribution__{{ signal }},
        coalesce(published_30d.weight__{{ signal }}, 0)
        * coalesce(published_30d.signal_score__{{ signal }}, 0) as published_contribution__{{ signal }}
        {%- endfor %}
    from today
    left join earlier
        on today.account_id = earlier.account_id
        and earlier.score_date = {{ dbt.dateadd('day', -30, 'today.score_date') }}
    left join published as published_30d
        on today.account_id = published_30d.account_id
        and published_30d.score_date = {{ dbt.dateadd('day', -30, 'today.score_date') }}
)

select
    -- ids
    account_id,
    preset,
    preset_30d_ago,
    published_preset_30d_ago,
    -- dates
    score_date,
    -- signals
    {%- for signal in signals %}
    raw_value__{{ signal }},
    raw_label__{{ signal }},
    signal_score__{{ signal }},
    has_data__{{ signal }},
    weight__{{ signal }},
    case
        when has_published_30d_ago
            then restated_contribution__{{ signal }} - restated_earlier_preset_contribution__{{ signal }}
    end as weighting_change_30d__{{ signal }},
    case
        when has_published_30d_ago
            then restated_earlier_preset_contribution__{{ signal }} - published_contribution__{{ signal }}
    end as restatement_change_30d__{{ signal }},
    {%- endfor %}
    -- config
    config_version,
    config_version_30d_ago,
    -- flags
    has_published_30d_ago
from contributions
order by account_id, score_date
