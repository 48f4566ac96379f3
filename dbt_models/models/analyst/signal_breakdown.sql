-- Why an account scores what it scores: every signal of every account and scoring date, its
-- raw value, its 0-100 score, the weight it carried and the points it added or cost. The
-- points lost of an account-day add up to 100 minus its score.

with

signal_scores as (
    select * from {{ ref('fct_signal_scores') }}
)

select
    -- ids
    account_id,
    -- dates
    score_date,
    -- signal
    dimension,
    signal,
    raw_value,
    raw_label as raw_category,
    has_data as is_measured,
    signal_score,
    -- weight and points
    weight,
    configured_weight as weight_with_full_data,
    contribution as points_earned,
    coalesce(weight * (100 - signal_score), 0) as points_lost
from signal_scores
