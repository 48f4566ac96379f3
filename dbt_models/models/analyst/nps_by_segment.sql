{{ config(materialized='table') }}
-- depends_on: {{ ref('signal_config') }}
-- Net Promoter Score per segment over the NPS window (signal_config: 365 days by default)
-- before the latest scoring date, from the answers of the accounts that are customers on
-- that date. A table, not a view: the answer counts come from the nps signal's intermediate
-- model, which the serving file does not carry.

{%- set window_days = signal_window_days('nps') %}

with

nps_measured as (
    select * from {{ ref('int_nps__measured') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

latest as (
    select max(score_date) as as_of_date from nps_measured
),

customers as (
    -- int_nps__measured has a row for every account that is a customer on a scoring date
    select
        nps_measured.account_id,
        nps_measured.score_date,
        coalesce(accounts.segment, 'unknown') as segment,
        coalesce(nps_measured.promoters, 0) as promoters,
        coalesce(nps_measured.detractors, 0) as detractors,
        coalesce(nps_measured.responses, 0) as answers
    from nps_measured
    inner join latest
        on nps_measured.score_date = latest.as_of_date
    left join accounts
        on nps_measured.account_id = accounts.account_id
)

select
    -- segment
    segment,
    -- dates
    max(score_date) as as_of_date,
    {{ window_days }} as window_days,
    -- accounts
    count(*) as customers,
    cast(sum(case when answers > 0 then 1 else 0 end) as {{ dbt.type_bigint() }}) as customers_answering,
    -- answers
    cast(sum(answers) as {{ dbt.type_bigint() }}) as nps_answers,
    cast(sum(promoters) as {{ dbt.type_bigint() }}) as promoters,
    cast(sum(answers - promoters - detractors) as {{ dbt.type_bigint() }}) as passives,
    cast(sum(detractors) as {{ dbt.type_bigint() }}) as detractors,
    -- score
    round(100.0 * (sum(promoters) - sum(detractors)) / nullif(sum(answers), 0), 1) as nps
from customers
group by segment
