-- depends_on: {{ ref('scoring_settings') }}
-- depends_on: {{ ref('tier_bands') }}
-- The overall computed score of every account-day for every preset, with its coverage
-- (share of the configured weight that had data), confidence and tier.

{%- set low_confidence_coverage = scoring_setting('low_confidence_coverage', 0.6) %}

with

scoring_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
),

weighted_signals as (
    select * from {{ ref('int_signal_weights__applied') }}
    where score_date between (select min(score_date) from scoring_dates)
        and (select max(score_date) from scoring_dates)
),

tier_bands as (
    select * from {{ ref('tier_bands') }}
),

scores as (
    select
        account_id,
        score_date,
        preset,
        case
            when sum(effective_weight) > 0 then round({{ exact_sum('contribution') }}, 2)
        end as computed_score,
        {{ exact_sum('case when has_data then configured_weight else 0 end') }} as coverage
    from weighted_signals
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
