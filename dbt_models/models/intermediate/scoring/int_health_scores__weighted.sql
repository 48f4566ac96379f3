-- depends_on: {{ ref('scoring_settings') }}
-- depends_on: {{ ref('tier_bands') }}
-- The overall computed score of every account-day for every preset (the backtest compares
-- them all), with its coverage (share of the configured weight that had data), confidence
-- and tier. The same weighting as int_signal_weights__applied, which keeps the signal-level
-- rows of the presets the marts show: a dimension's score is the weighted mean of its
-- signals with a score, the overall score the weighted mean of the dimensions with one.

{%- set low_confidence_coverage = scoring_setting('low_confidence_coverage', 0.6) %}

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
),

tier_bands as (
    select * from {{ ref('tier_bands') }}
),

dimensions as (
    select
        signal_scores.account_id,
        signal_scores.score_date,
        preset_weights.preset,
        preset_weights.dimension,
        max(preset_weights.dimension_weight) as dimension_weight,
        {{ exact_sum('preset_weights.signal_weight * signal_scores.signal_score') }}
        / {{ exact_sum(
            'case when signal_scores.signal_score is not null then preset_weights.signal_weight end'
        ) }} as dimension_score,
        {{ exact_sum(
            'case when signal_scores.has_data'
            ~ ' then preset_weights.dimension_weight * preset_weights.signal_weight else 0 end'
        ) }} as coverage
    from signal_scores
    inner join preset_weights
        on signal_scores.signal = preset_weights.signal
    group by
        signal_scores.account_id,
        signal_scores.score_date,
        preset_weights.preset,
        preset_weights.dimension
),

scores as (
    select
        account_id,
        score_date,
        preset,
        case
            when {{ exact_sum('case when dimension_score is not null then dimension_weight end') }} > 0
                then round(
                    {{ exact_sum('dimension_weight * dimension_score') }}
                    / {{ exact_sum('case when dimension_score is not null then dimension_weight end') }},
                    2
                )
        end as computed_score,
        {{ exact_sum('coverage') }} as coverage
    from dimensions
    group by account_id, score_date, preset
)

select
    -- ids
    scores.account_id,
    scores.preset,
    -- dates
    scores.score_date,
    -- measures
    scores.computed_score,
    round(scores.coverage, 6) as coverage,
    -- tier
    coalesce(tier_bands.tier, 'unscored') as tier,
    coalesce(tier_bands.colour, 'grey') as colour,
    tier_bands.severity as tier_severity,
    -- flags
    scores.coverage < {{ low_confidence_coverage }} as low_confidence
from scores
left join tier_bands
    on (
        scores.computed_score > tier_bands.lower_bound
        or (tier_bands.lower_inclusive and scores.computed_score = tier_bands.lower_bound)
    )
    and (
        scores.computed_score < tier_bands.upper_bound
        or (tier_bands.upper_inclusive and scores.computed_score = tier_bands.upper_bound)
    )
