{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='score_date',
        on_schema_change='sync_all_columns',
        tags=['per_scoring_date'],
    )
}}
-- depends_on: {{ ref('action_plays') }}
-- Who needs what, on every scoring date: one row per account, date and rule that fired, with
-- the reason in words and the play to run (rules, thresholds and plays: seeds/action_plays.csv).
--   entered_risk      the tier became at_risk or critical (worse than on the previous date)
--   score_drop        the computed score fell by more than N points in 30 days
--   renewal_at_risk   the renewal is within N days and the tier is below healthy
--   critical_high_arr critical and ARR in the top share of the customers scored that day
--   healthy_renewal   healthy with the renewal within N days: expansion / advocacy ask
--   silent_account    no product usage in the last N days
-- Tiers are the effective ones (a CSM override counts); the renewal date is the next
-- renewal known then: a renewal in the outcomes export on or after the date, else the
-- contract_end of the accounts export.

{%- set rules = ['entered_risk', 'score_drop', 'renewal_at_risk', 'critical_high_arr', 'healthy_renewal', 'silent_account'] %}
{%- set enabled = {} %}
{%- set threshold = {} %}
{%- for rule in rules %}
    {%- do enabled.update({rule: action_rule(rule, 'enabled', true)}) %}
    {%- do threshold.update({rule: action_rule(rule, 'threshold', 1)}) %}
{%- endfor %}
{%- set silent_days = (threshold['silent_account'] or 30) | int %}

with

run_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
    where is_run_date
),

health_scores as (
    select * from {{ ref('fct_health_scores') }}
),

accounts as (
    select * from {{ ref('stg_accounts__accounts') }}
),

outcomes as (
    select * from {{ ref('stg_outcomes__events') }}
),

usage_days as (
    select * from {{ ref('int_usage__account_days') }}
),

tier_bands as (
    select * from {{ ref('tier_bands') }}
),

action_plays as (
    select * from {{ ref('action_plays') }}
),

severities as (
    select
        min(severity) as healthiest_severity,
        max(severity) as worst_severity,
        coalesce(max(case when tier = 'at_risk' then severity end), max(severity)) as at_risk_severity
    from tier_bands
),

today as (
    select health_scores.*
    from health_scores
    inner join run_dates
        on health_scores.score_date = run_dates.score_date
    where health_scores.tier <> 'unscored'
),

previous_day as (
    select
        today.account_id,
        today.score_date,
        yesterday.tier_severity as previous_severity,
        yesterday.tier as previous_tier
    from today
    inner join health_scores as yesterday
        on today.account_id = yesterday.account_id
        and yesterday.score_date = {{ dbt.dateadd('day', -1, 'today.score_date') }}
),

renewals as (
    select
        today.account_id,
        today.score_date,
        min(outcomes.event_date) as next_renewal_in_outcomes
    from today
    inner join outcomes
        on today.account_id = outcomes.account_id
        and outcomes.event_type = 'renewed'
        and outcomes.event_date >= today.score_date
    group by today.account_id, today.score_date
),

arr_thresholds as (
    select
        score_date,
        percentile_cont({{ threshold['critical_high_arr'] or 0.8 }}) within group (order by arr) as high_arr
    from today
    where arr is not null
    group by score_date
),

spine as (
    select account_id, {{ day_number('score_date') }} as score_day from today
),

recent_events as (
    select
        account_id,
        activity_day as event_day,
        events
    from usage_days
    where activity_day >= (select min(score_day) from spine) - {{ silent_days }}
),

recent_usage as (
    {{ trailing_window_sums('recent_events', 'spine', [
        {'name': 'events_in_window', 'expr': 'events', 'days_back_from': silent_days, 'days_back_to': 1},
    ]) }}
),

context as (
    select
        today.*,
        accounts.csm_owner,
        previous_day.previous_tier,
        previous_day.previous_severity,
        case
            when renewals.next_renewal_in_outcomes is not null
                and (
                    accounts.contract_end is null
                    or accounts.contract_end < today.score_date
                    or renewals.next_renewal_in_outcomes < accounts.contract_end
                )
                then renewals.next_renewal_in_outcomes
            when accounts.contract_end >= today.score_date then accounts.contract_end
        end as next_renewal_date,
        arr_thresholds.high_arr,
        coalesce(recent_usage.events_in_window, 0) as events_in_window,
        severities.healthiest_severity,
        severities.worst_severity,
        severities.at_risk_severity
    from today
    cross join severities
    left join accounts
        on today.account_id = accounts.account_id
    left join previous_day
        on today.account_id = previous_day.account_id
        and today.score_date = previous_day.score_date
    left join renewals
        on today.account_id = renewals.account_id
        and today.score_date = renewals.score_date
    left join arr_thresholds
        on today.score_date = arr_thresholds.score_date
    left join recent_usage
        on today.account_id = recent_usage.account_id
        and {{ day_number('today.score_date') }} = recent_usage.score_day
),

with_renewal as (
    select
        context.*,
        {{ dbt.datediff('context.score_date', 'context.next_renewal_date', 'day') }} as days_to_renewal
    from context
),

fired as (
    {%- set branches = [] %}
    {%- if enabled['entered_risk'] %}
    {%- do branches.append("select with_renewal.*, 'entered_risk' as rule, 'tier ' || coalesce(previous_tier, 'unscored') || ' -> ' || tier as reason from with_renewal where tier_severity >= at_risk_severity and (previous_severity is null or previous_severity < tier_severity)") %}
    {%- endif %}
    {%- if enabled['score_drop'] %}
    {%- do branches.append("select with_renewal.*, 'score_drop' as rule, 'fell ' || " ~ dbt.cast('round(-delta_30d, 1)', dbt.type_string()) ~ " || ' points in 30 days' as reason from with_renewal where delta_30d < -" ~ threshold['score_drop']) %}
    {%- endif %}
    {%- if enabled['renewal_at_risk'] %}
    {%- do branches.append("select with_renewal.*, 'renewal_at_risk' as rule, 'renewal in ' || " ~ dbt.cast('days_to_renewal', dbt.type_string()) ~ " || ' days while ' || tier as reason from with_renewal where days_to_renewal between 0 and " ~ threshold['renewal_at_risk'] ~ " and tier_severity > healthiest_severity") %}
    {%- endif %}
    {%- if enabled['critical_high_arr'] %}
    {%- do branches.append("select with_renewal.*, 'critical_high_arr' as rule, 'critical with ARR ' || " ~ dbt.cast('round(arr, 0)', dbt.type_string()) ~ " || ' (top ' || " ~ dbt.cast('round(100 * (1 - ' ~ threshold['critical_high_arr'] ~ '), 0)', dbt.type_string()) ~ " || ' % of ARR that day)' as reason from with_renewal where tier_severity = worst_severity and arr >= high_arr") %}
    {%- endif %}
    {%- if enabled['healthy_renewal'] %}
    {%- do branches.append("select with_renewal.*, 'healthy_renewal' as rule, 'healthy, renewal in ' || " ~ dbt.cast('days_to_renewal', dbt.type_string()) ~ " || ' days' as reason from with_renewal where days_to_renewal between 0 and " ~ threshold['healthy_renewal'] ~ " and tier_severity = healthiest_severity") %}
    {%- endif %}
    {%- if enabled['silent_account'] %}
    {%- do branches.append("select with_renewal.*, 'silent_account' as rule, 'no product usage in " ~ silent_days ~ " days' as reason from with_renewal where events_in_window = 0") %}
    {%- endif %}
    {%- if branches | length == 0 %}
    select with_renewal.*, cast(null as {{ dbt.type_string() }}) as rule, cast(null as {{ dbt.type_string() }}) as reason
    from with_renewal where 1 = 0
    {%- else %}
    {{ branches | join('\n    union all\n    ') }}
    {%- endif %}
),

ranked as (
    select
        fired.*,
        action_plays.play,
        action_plays.priority,
        action_plays.description as play_description,
        row_number() over (
            partition by fired.account_id, fired.score_date
            order by action_plays.priority, fired.rule
        ) as action_rank
    from fired
    inner join action_plays
        on fired.rule = action_plays.rule
)

select
    -- ids
    account_id,
    rule,
    -- dates
    score_date,
    next_renewal_date,
    days_to_renewal,
    -- the action
    play,
    priority,
    action_rank,
    reason,
    play_description,
    -- the account that day
    health_score,
    computed_score,
    tier,
    previous_tier,
    delta_30d,
    top_drivers,
    top_movers_30d,
    is_overridden,
    arr,
    segment,
    lifecycle_stage,
    csm_owner
from ranked
