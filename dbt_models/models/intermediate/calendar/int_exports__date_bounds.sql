-- The span of activity found in the exports: scoring dates are derived from the data,
-- never from a calendar. One row.

with

usage_days as (
    select min(activity_date) as first_date, max(activity_date) as last_date
    from {{ ref('stg_usage__events') }}
),

invoice_days as (
    select min(issued_date) as first_date, max(issued_date) as last_date
    from {{ ref('stg_billing__invoices') }}
),

ticket_days as (
    select
        min(cast(opened_at as date)) as first_date,
        max(cast(opened_at as date)) as last_date
    from {{ ref('stg_support__tickets') }}
),

survey_days as (
    select
        min(cast(responded_at as date)) as first_date,
        max(cast(responded_at as date)) as last_date
    from {{ ref('stg_survey__responses') }}
),

assessment_days as (
    select
        min(cast(assessed_at as date)) as first_date,
        max(cast(assessed_at as date)) as last_date
    from {{ ref('stg_csm__assessments') }}
),

outcome_days as (
    select min(event_date) as first_date, max(event_date) as last_date
    from {{ ref('stg_outcomes__events') }}
),

all_sources as (
    select * from usage_days
    union all
    select * from invoice_days
    union all
    select * from ticket_days
    union all
    select * from survey_days
    union all
    select * from assessment_days
    union all
    select * from outcome_days
)

select
    min(first_date) as first_activity_date,
    max(last_date) as last_activity_date,
    -- a scoring date sees everything strictly before it: the newest date that can be
    -- scored with all the exported data is the day after the last activity
    {{ dbt.dateadd('day', 1, 'max(last_date)') }} as data_as_of_date
from all_sources
