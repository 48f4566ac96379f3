-- depends_on: {{ ref('signal_config') }}
-- depends_on: {{ ref('signal_bands') }}
-- depends_on: {{ ref('preset_weights') }}
-- depends_on: {{ ref('tier_bands') }}
-- The effective weights (weight__<signal> of fct_signal_scores_wide, the weight column of
-- fct_signal_scores) of an account-day must sum to 1 when any signal of its preset has a
-- score (a signal with data, or one scored by the neutral / zero missing policy), and to 0
-- when none has: returns the account-days of this run off by more than 1e-9.

{%- set signals = measured_signals_checked(scoring_config()) %}

with

signal_scores as (
    select * from {{ ref('fct_signal_scores_wide') }}
    where {{ run_dates_condition() }}
),

sums as (
    select
        account_id,
        score_date,
        {%- for signal in signals %}
        coalesce(weight__{{ signal }}, 0){{ ' +' if not loop.last }}
        {%- endfor %} as weight_sum,
        case when
        {%- for signal in signals %}
            (weight__{{ signal }} is not null and signal_score__{{ signal }} is not null){{ ' or' if not loop.last }}
        {%- endfor %}
            then 1.0 else 0.0
        end as expected_sum
    from signal_scores
)

select
    account_id,
    score_date,
    weight_sum,
    expected_sum,
    'signal weights sum to ' || cast(weight_sum as {{ dbt.type_string() }})
    || ', expected ' || cast(expected_sum as {{ dbt.type_string() }}) as problem
from sums
where abs(weight_sum - expected_sum) > 1e-9
