-- computed_score of fct_health_scores must be the sum of the signal contributions of
-- fct_signal_scores for the same account-day, rounded to 2 decimals (null when no signal
-- has a score): returns the account-days where they differ by more than the rounding.

with

health_scores as (
    select * from {{ ref('fct_health_scores') }}
),

contributions as (
    select
        account_id,
        score_date,
        sum(contribution) as contribution_sum,
        count(signal_score) as scored_signals
    from {{ ref('fct_signal_scores') }}
    group by account_id, score_date
)

select
    health_scores.account_id,
    health_scores.score_date,
    health_scores.computed_score,
    contributions.contribution_sum,
    contributions.scored_signals,
    case
        when contributions.account_id is null then 'health score without signal scores'
        when health_scores.computed_score is null then 'signals have scores but computed_score is null'
        when contributions.scored_signals = 0 then 'computed_score set but no signal has a score'
        else 'computed_score differs from the sum of contributions'
    end as problem
from health_scores
left join contributions
    on health_scores.account_id = contributions.account_id
    and health_scores.score_date = contributions.score_date
where contributions.account_id is null
    or (health_scores.computed_score is null) <> (contributions.scored_signals = 0)
    or abs(health_scores.computed_score - contributions.contribution_sum) > 0.005 + 1e-9
