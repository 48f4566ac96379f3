-- The effective weights (fct_signal_scores.weight) of an account-day must sum to 1 when any
-- of its signals has a score (a signal with data, or one scored by the neutral / zero
-- missing policy), and to 0 when none has: returns the account-days off by more than 1e-9.

with

signal_scores as (
    select * from {{ ref('fct_signal_scores') }}
),

sums as (
    select
        account_id,
        score_date,
        sum(weight) as weight_sum,
        case when count(signal_score) > 0 then 1.0 else 0.0 end as expected_sum,
        sum(case when has_data then 1 else 0 end) as signals_with_data
    from signal_scores
    group by account_id, score_date
)

select
    account_id,
    score_date,
    weight_sum,
    expected_sum,
    signals_with_data,
    'signal weights sum to ' || cast(weight_sum as {{ dbt.type_string() }})
    || ', expected ' || cast(expected_sum as {{ dbt.type_string() }}) as problem
from sums
where abs(weight_sum - expected_sum) > 1e-9
