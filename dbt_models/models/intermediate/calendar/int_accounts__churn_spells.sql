-- Periods in which an account is not a customer: from a churn event to the next
-- reactivation (open-ended when there is none).

with

outcomes as (
    select * from {{ ref('stg_outcomes__events') }}
    where event_type in ('churned', 'reactivated')
),

ordered as (
    select
        account_id,
        event_date,
        event_type,
        min(case when event_type = 'reactivated' then event_date end) over (
            partition by account_id
            order by event_date
            rows between 1 following and unbounded following
        ) as next_reactivated_on
    from outcomes
)

select
    -- ids
    account_id,
    -- dates
    event_date as churned_on,
    next_reactivated_on as reactivated_on
from ordered
where event_type = 'churned'
