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
-- depends_on: {{ ref('signal_config') }}
-- depends_on: {{ ref('signal_bands') }}
-- depends_on: {{ ref('tier_bands') }}
-- depends_on: {{ ref('preset_weights') }}
-- depends_on: {{ ref('preset_assignments') }}
-- One row per account and scoring date: the health score under the preset assigned to the
-- account that day, its dimension scores, tier, coverage, change over 7 and 30 days, the
-- signals that pull it down and the ones that moved it, and the CSM override in force.
-- health_score / tier are the effective ones (an applicable override wins while it is
-- valid); computed_score / computed_tier are always the ones the data gives. Every row is
-- stamped with the config version it was computed under; rows of dates outside this run
-- keep theirs, and delta_7d / delta_30d compare with the scores as they were published.

{%- set dimensions = mart_dimensions() %}
{%- set signals = measured_signals_checked(scoring_config()) %}
{%- set trend_threshold = scoring_setting('trend_threshold_points', 5) %}
{#- a mover's label, "<signal> +1.5": built for the three signals shown only #}
{%- set move_labels = {} %}
{%- for s in signals %}
    {%- do move_labels.update({s: dbt.concat([
        "'" ~ s ~ " '",
        "case when change__" ~ s ~ " >= 0 then '+' else '' end",
        dbt.cast('round(change__' ~ s ~ ', 1)', dbt.type_string()),
    ])}) %}
{%- endfor %}

with

run_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
    where is_run_date
),

account_days as (
    select * from {{ ref('int_accounts__daily') }}
),

-- (explicit columns: a CTE read several times is materialised whole)
assigned as (
    select
        account_id,
        preset,
        score_date,
        lifecycle_stage,
        computed_score,
        coverage,
        tier,
        low_confidence,
        {%- for dimension in dimensions %}
        {{ dimension }}_score,
        {%- endfor %}
        config_version
    from {{ ref('int_health_scores__assigned') }}
    where score_date between (select min(score_date) from run_dates)
        and (select max(score_date) from run_dates)
),

assigned_signals as (
    select
        account_id,
        score_date
        {%- for s in signals %},
        signal_score__{{ s }},
        weight__{{ s }}
        {%- endfor %}
    from {{ ref('int_health_scores__assigned') }}
    where score_date between (select min(score_date) from run_dates)
        and (select max(score_date) from run_dates)
),

-- (explicit columns and dates: a CTE read twice is materialised whole)
signals as (
    select
        account_id,
        score_date,
        has_published_30d_ago
        {%- for s in signals %},
        signal_score__{{ s }},
        weight__{{ s }}
        {%- endfor %}
    from {{ ref('fct_signal_scores_wide') }}
    where score_date between {{ dbt.dateadd('day', -30, '(select min(score_date) from run_dates)') }}
        and (select max(score_date) from run_dates)
),

-- each signal's contribution (weight x score) minus the one published 30 days earlier
changes as (
    select
        today.account_id,
        today.score_date
        {%- for s in signals %},
        case
            when today.has_published_30d_ago
                then coalesce(today.weight__{{ s }}, 0) * coalesce(today.signal_score__{{ s }}, 0)
                - coalesce(earlier.weight__{{ s }}, 0) * coalesce(earlier.signal_score__{{ s }}, 0)
        end as change__{{ s }}
        {%- endfor %}
    from signals as today
    left join signals as earlier
        on today.account_id = earlier.account_id
        and earlier.score_date = {{ dbt.dateadd('day', -30, 'today.score_date') }}
    where today.score_date between (select min(score_date) from run_dates)
        and (select max(score_date) from run_dates)
),

overrides as (
    select * from {{ ref('int_overrides__periods') }}
    where override_status = 'applicable'
),

tier_bands as (
    select * from {{ ref('tier_bands') }}
),

-- the weakest signals: largest weighted shortfall from a perfect 100 (rounded, so that
-- equal shortfalls are ordered by name, not by the last bits of a double); the signals
-- that moved the computed score most since the score published 30 days earlier
signal_keys as (
    select
        assigned_signals.account_id,
        assigned_signals.score_date
        {%- for s in signals %},
        case
            when assigned_signals.signal_score__{{ s }} < 100 and assigned_signals.weight__{{ s }} > 0
                then round(assigned_signals.weight__{{ s }} * (100 - assigned_signals.signal_score__{{ s }}), 6)
        end as shortfall__{{ s }},
        case
            when abs(changes.change__{{ s }}) >= 0.05 then round(abs(changes.change__{{ s }}), 6)
        end as move__{{ s }},
        changes.change__{{ s }}
        {%- endfor %}
    from assigned_signals
    inner join changes
        on assigned_signals.account_id = changes.account_id
        and assigned_signals.score_date = changes.score_date
),

signal_ranks as (
    select
        account_id,
        score_date,
        {%- for s in signals %}
        change__{{ s }},
        {%- endfor %}
        {{ signal_rank_columns('shortfall', signals) }},
        {{ signal_rank_columns('move', signals) }}
    from signal_keys
),

ranked as (
    select
        account_id,
        score_date,
        {{ top_signals_sql('shortfall', signals) }} as top_drivers,
        {{ top_signals_sql('move', signals, labels=move_labels) }} as top_movers_30d
    from signal_ranks
),

-- the override in force: valid on the date; of overlapping ones the latest valid_from wins
ranked_overrides as (
    select
        assigned.account_id,
        assigned.score_date,
        overrides.override_score,
        overrides.override_tier,
        overrides.override_author,
        overrides.override_reason,
        overrides.valid_from,
        overrides.expires_on,
        row_number() over (
            partition by assigned.account_id, assigned.score_date
            order by overrides.valid_from desc
        ) as override_rank
    from assigned
    inner join overrides
        on assigned.account_id = overrides.account_id
        and assigned.score_date >= overrides.valid_from
        and assigned.score_date < overrides.expires_on
),

in_force as (
    select * from ranked_overrides where override_rank = 1
),

effective as (
    select
        assigned.*,
        in_force.account_id is not null as is_overridden,
        in_force.override_score,
        in_force.override_tier,
        in_force.override_author,
        in_force.override_reason,
        in_force.valid_from as override_valid_from,
        in_force.expires_on as override_expires_on,
        coalesce(in_force.override_score, assigned.computed_score) as effective_score
    from assigned
    left join in_force
        on assigned.account_id = in_force.account_id
        and assigned.score_date = in_force.score_date
),

effective_tiers as (
    select
        effective.*,
        coalesce(effective.override_tier, score_band.tier, 'unscored') as effective_tier
    from effective
    left join tier_bands as score_band
        on (
            effective.effective_score > score_band.lower_bound
            or (score_band.lower_inclusive and effective.effective_score = score_band.lower_bound)
        )
        and (
            effective.effective_score < score_band.upper_bound
            or (score_band.upper_inclusive and effective.effective_score = score_band.upper_bound)
        )
),

-- the computed scores as published: this run's dates, and the earlier rows of this table
published_scores as (
    select account_id, score_date, computed_score from assigned
    {%- if is_incremental() %}
    union all
    select account_id, score_date, computed_score from {{ this }}
    -- the deltas look 7 and 30 days back
    where score_date < (select min(score_date) from run_dates)
        and score_date >= {{ dbt.dateadd('day', -30, '(select min(score_date) from run_dates)') }}
    {%- endif %}
)

select
    -- ids
    effective_tiers.account_id,
    effective_tiers.preset,
    -- dates
    effective_tiers.score_date,
    -- scores
    effective_tiers.effective_score as health_score,
    effective_tiers.computed_score,
    effective_tiers.effective_tier as tier,
    coalesce(tier_bands.colour, 'grey') as colour,
    tier_bands.severity as tier_severity,
    effective_tiers.tier as computed_tier,
    effective_tiers.coverage,
    effective_tiers.low_confidence,
    {%- for dimension in dimensions %}
    effective_tiers.{{ dimension }}_score,
    {%- endfor %}
    -- change of the computed score
    round(effective_tiers.computed_score - scores_7d_ago.computed_score, 2) as delta_7d,
    round(effective_tiers.computed_score - scores_30d_ago.computed_score, 2) as delta_30d,
    case
        when scores_30d_ago.computed_score is null or effective_tiers.computed_score is null then null
        when effective_tiers.computed_score - scores_30d_ago.computed_score >= {{ trend_threshold }} then 'improving'
        when effective_tiers.computed_score - scores_30d_ago.computed_score <= -{{ trend_threshold }} then 'declining'
        else 'stable'
    end as trend,
    ranked.top_drivers,
    ranked.top_movers_30d,
    -- override in force
    effective_tiers.is_overridden,
    effective_tiers.override_score,
    effective_tiers.override_tier,
    effective_tiers.override_author,
    effective_tiers.override_reason,
    effective_tiers.override_valid_from,
    effective_tiers.override_expires_on,
    -- account context
    account_days.segment,
    effective_tiers.lifecycle_stage,
    account_days.tenure_days,
    account_days.arr,
    -- config
    effective_tiers.config_version
from effective_tiers
inner join account_days
    on effective_tiers.account_id = account_days.account_id
    and effective_tiers.score_date = account_days.score_date
left join tier_bands
    on effective_tiers.effective_tier = tier_bands.tier
left join ranked
    on effective_tiers.account_id = ranked.account_id
    and effective_tiers.score_date = ranked.score_date
left join published_scores as scores_7d_ago
    on effective_tiers.account_id = scores_7d_ago.account_id
    and scores_7d_ago.score_date = {{ dbt.dateadd('day', -7, 'effective_tiers.score_date') }}
left join published_scores as scores_30d_ago
    on effective_tiers.account_id = scores_30d_ago.account_id
    and scores_30d_ago.score_date = {{ dbt.dateadd('day', -30, 'effective_tiers.score_date') }}
order by effective_tiers.account_id, effective_tiers.score_date
