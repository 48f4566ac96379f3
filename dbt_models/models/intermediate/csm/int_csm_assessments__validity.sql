-- depends_on: {{ ref('signal_config') }}
-- When each CSM assessment is the one in force: from the day after it was made until the
-- next assessment, or its valid_until (else assessed + the csm_sentiment window), whichever
-- comes first. Validity spells of one account never overlap.

{%- set window_days = signal_window_days('csm_sentiment') %}

with

assessments as (
    select * from {{ ref('stg_csm__assessments') }}
),

ordered as (
    select
        account_id,
        assessed_at,
        sentiment,
        renewal_intent,
        author,
        {{ day_number('assessed_at') }} as assessed_day,
        coalesce(
            {{ day_number('valid_until') }},
            {{ day_number('assessed_at') }} + {{ window_days }}
        ) as valid_until_day,
        lead({{ day_number('assessed_at') }}) over (
            partition by account_id order by assessed_at
        ) as next_assessed_day
    from assessments
)

select
    -- ids
    account_id,
    author,
    -- dates
    assessed_at,
    assessed_day + 1 as valid_from_day,
    case
        when next_assessed_day is not null and next_assessed_day < valid_until_day
            then next_assessed_day
        else valid_until_day
    end as valid_to_day,
    -- measures
    sentiment,
    renewal_intent
from ordered
