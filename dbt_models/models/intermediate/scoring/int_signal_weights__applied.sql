-- depends_on: {{ ref('preset_assignments') }}
-- Every signal score weighted by each preset the marts can show (the run's preset and the
-- presets of seeds/preset_assignments.csv; int_health_scores__weighted scores every preset
-- of seeds/preset_weights.csv for the backtest, without the signal-level rows): a signal's
-- effective weight is its dimension's weight renormalised over the dimensions that have a
-- score, times its weight within the dimension renormalised over the signals that have one.
-- Effective weights of an account-day sum to 1 per preset; contributions sum to the score.

with

scoring_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
),

signal_scores as (
    select * from {{ ref('int_signal_scores__normalised') }}
    where score_date between (select min(score_date) from scoring_dates)
        and (select max(score_date) from scoring_dates)
),

preset_weights as (
    select * from {{ ref('preset_weights') }}
    where preset in (
        {%- for preset in assigned_presets() %}'{{ preset }}'{{ ", " if not loop.last }}{% endfor -%}
    )
),

weighted as (
    select
        signal_scores.account_id,
        signal_scores.score_date,
        preset_weights.preset,
        preset_weights.dimension,
        signal_scores.signal,
        signal_scores.raw_value,
        signal_scores.raw_label,
        signal_scores.signal_score,
        signal_scores.has_data,
        preset_weights.dimension_weight,
        preset_weights.signal_weight
    from signal_scores
    inner join preset_weights
        on signal_scores.signal = preset_weights.signal
),

dimensions as (
    select
        account_id,
        score_date,
        preset,
        dimension,
        max(dimension_weight) as dimension_weight,
        {{ exact_sum('case when signal_score is not null then signal_weight end') }}
            as scored_signal_weight,
        {{ exact_sum('signal_weight * signal_score') }}
        / {{ exact_sum('case when signal_score is not null then signal_weight end') }}
            as dimension_score
    from weighted
    group by account_id, score_date, preset, dimension
),

presets as (
    select
        account_id,
        score_date,
        preset,
        {{ exact_sum('case when dimension_score is not null then dimension_weight end') }}
            as scored_dimension_weight
    from dimensions
    group by account_id, score_date, preset
),

effective as (
    select
        weighted.*,
        dimensions.dimension_score,
        case
            when weighted.signal_score is not null
                then (weighted.dimension_weight / presets.scored_dimension_weight)
                * (weighted.signal_weight / dimensions.scored_signal_weight)
            else 0.0
        end as effective_weight
    from weighted
    inner join dimensions
        on weighted.account_id = dimensions.account_id
        and weighted.score_date = dimensions.score_date
        and weighted.preset = dimensions.preset
        and weighted.dimension = dimensions.dimension
    inner join presets
        on weighted.account_id = presets.account_id
        and weighted.score_date = presets.score_date
        and weighted.preset = presets.preset
)

select
    -- ids
    account_id,
    preset,
    dimension,
    signal,
    -- dates
    score_date,
    -- measures
    raw_value,
    raw_label,
    signal_score,
    dimension_score,
    dimension_weight * signal_weight as configured_weight,
    effective_weight,
    effective_weight * coalesce(signal_score, 0) as contribution,
    -- flags
    has_data
from effective
