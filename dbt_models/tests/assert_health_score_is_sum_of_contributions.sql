-- depends_on: {{ ref('signal_config') }}
-- depends_on: {{ ref('signal_bands') }}
-- depends_on: {{ ref('preset_weights') }}
-- depends_on: {{ ref('tier_bands') }}
-- computed_score of fct_health_scores must be the sum of the signal contributions
-- (weight x score, fct_signal_scores_wide) of the same account-day, rounded to 2 decimals
-- (null when no signal has a score): returns the account-days of this run where they
-- differ by more than the rounding.

{%- set signals = measured_signals_checked(scoring_config()) %}

with

health_scores as (
    select * from {{ ref('fct_health_scores') }}
    where {{ run_dates_condition() }}
),

signal_scores as (
    select * from {{ ref('fct_signal_scores_wide') }}
    where {{ run_dates_condition() }}
),

contributions as (
    select
        account_id,
        score_date,
        {%- for signal in signals %}
        coalesce(weight__{{ signal }} * signal_score__{{ signal }}, 0){{ ' +' if not loop.last }}
        {%- endfor %} as contribution_sum,
        {%- for signal in signals %}
        case when weight__{{ signal }} is not null and signal_score__{{ signal }} is not null then 1 else 0 end{{ ' +' if not loop.last }}
        {%- endfor %} as scored_signals
    from signal_scores
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
