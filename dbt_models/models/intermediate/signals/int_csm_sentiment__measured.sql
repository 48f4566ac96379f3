-- csm_sentiment: sentiment (1-5) of the CSM assessment in force on the scoring date.

with

account_days as (
    select * from {{ ref('int_accounts__daily') }}
),

assessments as (
    select * from {{ ref('int_csm_assessments__validity') }}
),

in_force as (
    select
        account_days.account_id,
        account_days.score_day,
        assessments.assessed_at,
        assessments.sentiment,
        assessments.renewal_intent
    from account_days
    inner join assessments
        on account_days.account_id = assessments.account_id
        and account_days.score_day between assessments.valid_from_day and assessments.valid_to_day
)

select
    -- ids
    account_days.account_id,
    -- dates
    account_days.score_date,
    -- signal
    'csm_sentiment' as signal,
    in_force.sentiment as raw_value,
    cast(null as {{ dbt.type_string() }}) as raw_label,
    -- components
    in_force.assessed_at
from account_days
left join in_force
    on account_days.account_id = in_force.account_id
    and account_days.score_day = in_force.score_day
