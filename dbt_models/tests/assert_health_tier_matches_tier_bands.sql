-- The tiers of every health score (fct_health_scores and fct_health_current) must be the
-- band of seeds/tier_bands.csv that holds the score, re-derived here from the bounds and
-- their inclusive flags; a null score must be 'unscored'. Checked for computed_tier against
-- computed_score always, and for the effective tier against health_score unless a tier
-- override is in force. Returns the rows whose tier differs, with the expected tier(s).

with

tier_bands as (
    select * from {{ ref('tier_bands') }}
),

scores as (
    select 'fct_health_scores' as mart, account_id, score_date, health_score, tier
    from {{ ref('fct_health_scores') }}
    where override_tier is null and {{ run_dates_condition() }}
    union all
    select 'fct_health_scores.computed' as mart, account_id, score_date, computed_score, computed_tier
    from {{ ref('fct_health_scores') }}
    where {{ run_dates_condition() }}
    union all
    select 'fct_health_current' as mart, account_id, score_date, health_score, tier
    from {{ ref('fct_health_current') }}
    where override_tier is null
),

expected as (
    select
        scores.mart,
        scores.account_id,
        scores.score_date,
        scores.health_score,
        scores.tier,
        count(tier_bands.tier) as matching_bands,
        min(tier_bands.tier) as expected_tier
    from scores
    left join tier_bands
        on (
            scores.health_score > tier_bands.lower_bound
            or (tier_bands.lower_inclusive and scores.health_score = tier_bands.lower_bound)
        )
        and (
            scores.health_score < tier_bands.upper_bound
            or (tier_bands.upper_inclusive and scores.health_score = tier_bands.upper_bound)
        )
    group by scores.mart, scores.account_id, scores.score_date, scores.health_score, scores.tier
)

select
    mart,
    account_id,
    score_date,
    health_score,
    tier,
    coalesce(expected_tier, 'unscored') as expected_tier,
    case
        when health_score is not null and matching_bands = 0 then 'no tier band holds the score'
        when matching_bands > 1 then 'several tier bands hold the score'
        else 'tier differs from the band that holds the score'
    end as problem
from expected
where matching_bands <> 1 and health_score is not null
    or tier <> coalesce(expected_tier, 'unscored')
