-- A one-page health score to hold the pipeline's against: three dimensions weighted like the
-- default preset (relationship 25 %, product usage 25 %, value realisation 50 %), one plain
-- measure each, every measure only where its data exists (a dimension without data drops out
-- and the others are reweighted; no data at all scores 50). It reads the staged exports of a
-- warehouse after a run and scores the very account-days of the pipeline's backtest
-- (marts.fct_backtest_observations, preset hbr: horizon inside the data, churned or not), so
-- the two AUCs are computed on the same rows. Run: python -m benchmarks.baseline_score.
--
--   product usage      users active in the 30 days before the date / licensed seats (capped
--                      at 1); an export without user ids: active days / 30
--   relationship       mean of: NPS answers of the 365 days before / 10, and the sentiment of
--                      the CSM assessment in force ((sentiment - 1) / 4; valid_until, else
--                      90 days), whichever exist
--   value realisation  share of the invoices due in the 365 days before paid by their due
--                      date (void invoices left out)

with

observations as (
    select account_id, score_date, churned_within_horizon::int as churned, computed_score
    from marts.fct_backtest_observations
    where preset = 'hbr'
),

-- product usage: each active day counts for the 30 scoring dates after it. A user's active
-- days become islands (gaps of 30 days or less joined), each adding one user from its first
-- day + 1 to its last day + 30; an export without user ids adds one active day per day.
active_days as (
    select distinct account_id, user_id, activity_date
    from staging.stg_usage__events
),

islands as (
    select account_id, user_id, min(activity_date) as first_day, max(activity_date) as last_day
    from (
        select
            *,
            sum(new_island) over (
                partition by account_id, user_id order by activity_date
            ) as island
        from (
            select
                *,
                case
                    when user_id is null then 1
                    when activity_date - lag(activity_date) over (
                        partition by account_id, user_id order by activity_date
                    ) <= 30 then 0
                    else 1
                end as new_island
            from active_days
        )
    )
    group by account_id, user_id, island
),

steps as (
    select account_id, first_day + 1 as step_date, 1 as step from islands
    union all
    select account_id, last_day + 31, -1 from islands
),

active_level as (
    select
        account_id,
        step_date,
        sum(sum(step)) over (partition by account_id order by step_date) as active
    from steps
    group by account_id, step_date
),

without_user_ids as (
    select account_id, bool_and(user_id is null) as by_day from islands group by account_id
),

usage_measure as (
    select
        o.account_id,
        o.score_date,
        case
            when w.by_day then coalesce(a.active, 0) / 30
            else least(coalesce(a.active, 0) / nullif(acc.licensed_seats, 0), 1)
        end as product_usage
    from observations as o
    inner join staging.stg_accounts__accounts as acc on o.account_id = acc.account_id
    left join without_user_ids as w on o.account_id = w.account_id
    asof left join active_level as a
        on o.account_id = a.account_id and o.score_date >= a.step_date
),

-- relationship
nps as (
    select o.account_id, o.score_date, avg(s.score) / 10 as nps_measure
    from observations as o
    inner join staging.stg_survey__responses as s
        on o.account_id = s.account_id
        and s.survey_type = 'nps'
        and s.responded_at < o.score_date
        and s.responded_at >= o.score_date - interval 365 day
    group by all
),

csm as (
    select
        o.account_id,
        o.score_date,
        case
            when o.score_date <= coalesce(c.valid_until, c.assessed_at::date + 90)
                then (c.sentiment - 1) / 4
        end as csm_measure
    from observations as o
    asof join staging.stg_csm__assessments as c
        on o.account_id = c.account_id and o.score_date > c.assessed_at
),

-- value realisation
payment as (
    select
        o.account_id,
        o.score_date,
        avg(case when i.paid_date <= i.due_date then 1.0 else 0.0 end) as paid_on_time
    from observations as o
    inner join staging.stg_billing__invoices as i
        on o.account_id = i.account_id
        and i.invoice_status <> 'void'
        and i.due_date < o.score_date
        and i.due_date >= o.score_date - 365
    group by all
),

dimensions as (
    select
        o.*,
        u.product_usage,
        case
            when n.nps_measure is null then c.csm_measure
            when c.csm_measure is null then n.nps_measure
            else (n.nps_measure + c.csm_measure) / 2
        end as relationship,
        p.paid_on_time as value_realisation
    from observations as o
    left join usage_measure as u using (account_id, score_date)
    left join nps as n using (account_id, score_date)
    left join csm as c using (account_id, score_date)
    left join payment as p using (account_id, score_date)
),

scored as (
    select
        *,
        coalesce(
            100 * (
                coalesce(0.25 * relationship, 0)
                + coalesce(0.25 * product_usage, 0)
                + coalesce(0.5 * value_realisation, 0)
            ) / nullif(
                0.25 * (relationship is not null)::int
                + 0.25 * (product_usage is not null)::int
                + 0.5 * (value_realisation is not null)::int,
                0
            ),
            50
        ) as baseline_score
    from dimensions
),

-- ROC AUC (a lower score should mean churn; ties count half) from average ranks, with the
-- Hanley-McNeil 95 % interval over distinct churned and retained accounts, as the backtest
scores as (
    select 'baseline (this query)' as score, baseline_score as value, churned, account_id
    from scored
    union all
    select 'hbr (pipeline)', computed_score, churned, account_id from scored
),

ranked as (
    select
        *,
        rank() over (partition by score order by value)
        + (count(*) over (partition by score, value) - 1) / 2.0 as avg_rank
    from scores
),

auc as (
    select
        score,
        count(*) as account_days,
        sum(churned) as churned_days,
        count(distinct account_id) filter (where churned = 1) as churned_accounts,
        count(distinct account_id) filter (where churned = 0) as retained_accounts,
        (
            sum(avg_rank) filter (where churned = 0)
            - (count(*) - sum(churned)) * (count(*) - sum(churned) + 1) / 2.0
        ) / (sum(churned) * (count(*) - sum(churned))) as auc
    from ranked
    group by score
)

select
    score,
    account_days,
    churned_days,
    round(auc, 3) as auc,
    round(auc - 1.96 * se, 3) as auc_low,
    round(auc + 1.96 * se, 3) as auc_high
from (
    select
        *,
        sqrt(
            (
                auc * (1 - auc)
                + (churned_accounts - 1) * (auc / (2 - auc) - auc * auc)
                + (retained_accounts - 1) * (2 * auc * auc / (1 + auc) - auc * auc)
            ) / (churned_accounts * retained_accounts)
        ) as se
    from auc
)
order by score
