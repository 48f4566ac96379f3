{{ config(tags=['history_summary']) }}
-- Churn within the horizon by score decile (1 = the 10 % lowest scores), per preset: ntile(10)
-- of the observations ordered by score, account and date.
--
-- Counted from the observations per score value (scores have 2 decimals: at most 10,001
-- values per preset), not by sorting every observation: a value's rows take the positions
-- after the rows scored lower, and ntile gives each position its decile (the first n % 10
-- deciles have one row more). Only the rows of a value that straddles two deciles are ordered
-- by account and date.

with

observations as (
    select * from {{ ref('fct_backtest_observations') }}
),

by_score as (
    select
        preset,
        computed_score,
        count(*) as observations,
        sum(case when churned_within_horizon then 1 else 0 end) as churned
    from observations
    group by preset, computed_score
),

placed as (
    select
        *,
        coalesce(
            sum(observations) over (
                partition by preset order by computed_score
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as scored_lower,
        sum(observations) over (partition by preset) as preset_observations
    from by_score
),

spans as (
    select
        *,
        {{ _ntile_decile('scored_lower + 1', 'preset_observations') }} as first_decile,
        {{ _ntile_decile('scored_lower + observations', 'preset_observations') }} as last_decile
    from placed
),

-- the rows of a value that straddles deciles, each in its own decile
straddling_rows as (
    select
        spans.preset,
        spans.computed_score,
        {{ _ntile_decile(
            'spans.scored_lower + row_number() over (
                partition by spans.preset, spans.computed_score
                order by observations.account_id, observations.score_date
            )',
            'spans.preset_observations'
        ) }} as score_decile,
        case when observations.churned_within_horizon then 1 else 0 end as churned
    from spans
    inner join observations
        on observations.preset = spans.preset
        and observations.computed_score = spans.computed_score
    where spans.first_decile <> spans.last_decile
),

placed_in_deciles as (
    select preset, first_decile as score_decile, computed_score, observations, churned
    from spans
    where first_decile = last_decile
    union all
    select preset, score_decile, computed_score, count(*) as observations, sum(churned) as churned
    from straddling_rows
    group by preset, score_decile, computed_score
)

select
    -- group
    preset,
    cast(score_decile as {{ dbt.type_bigint() }}) as score_decile,
    -- score range
    min(computed_score) as min_score,
    max(computed_score) as max_score,
    -- counts
    cast(sum(observations) as {{ dbt.type_bigint() }}) as observations,
    cast(sum(churned) as {{ dbt.type_bigint() }}) as churned,
    cast(sum(churned) as double) / sum(observations) as churn_rate
from placed_in_deciles
group by preset, score_decile
