{{ config(tags=['history_summary']) }}
-- depends_on: {{ ref('tier_bands') }}
-- How well each preset's score predicted churn within the horizon: over all observations,
-- per segment and per month of scoring date (is the score getting better or worse).
--   auc: probability that a churner scored lower than a non-churner (ties count half) -
--        the Mann-Whitney statistic from average ranks (macros/rank_auc.sql); 0.5 = no better
--        than chance
--   precision / recall at the at-risk threshold: flagged = tier at_risk or critical
--   lift of the lowest decile: churn rate of the 10 % lowest scores / overall churn rate

with

observations as (
    select * from {{ ref('fct_backtest_observations') }}
),

tier_bands as (
    select * from {{ ref('tier_bands') }}
),

at_risk_threshold as (
    -- tiers at least as severe as at_risk are "flagged"
    select severity as flagged_severity from tier_bands where tier = 'at_risk'
),

-- The observations counted once per group and score value (scores have 2 decimals: at most
-- 10,001 values per group, whatever the history's length): every rank below comes from these
-- counts, not from sorting the observations (an average rank is the rows scored higher plus
-- half the rows tied with it).
by_score as (
    {%- for grouping in [
        ("'all'", "'all'"),
        ("segment", "'all'"),
        ("'all'", "cast(score_month as " ~ dbt.type_string() ~ ")"),
    ] %}
    select
        preset,
        {{ grouping[0] }} as segment,
        {{ grouping[1] }} as period,
        computed_score,
        count(*) as observations,
        sum(case when churned_within_horizon then 1 else 0 end) as churned,
        sum(case when tier_severity >= (select flagged_severity from at_risk_threshold) then 1 else 0 end)
            as flagged,
        sum(
            case
                when tier_severity >= (select flagged_severity from at_risk_threshold)
                    and churned_within_horizon then 1
                else 0
            end
        ) as flagged_churned
    from observations
    group by 1, 2, 3, 4
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

ranked as (
    select
        *,
        -- rows of the group scored higher (healthier) / lower than this value
        {{ scored_higher_sql('preset, segment, period', 'computed_score') }} as scored_higher,
        coalesce(
            sum(observations) over (
                partition by preset, segment, period order by computed_score
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as scored_lower,
        sum(observations) over (partition by preset, segment, period) as group_observations
    from by_score
),

-- ntile(10)'s first decile: ceil(n / 10) rows
sized as (
    select *, (group_observations + 9) // 10 as lowest_decile_rows
    from ranked
),

-- The lowest decile is ntile(10) of the group ordered by score, account and date: its first
-- ceil(n / 10) rows. They take every value below the boundary value and, of the rows at the
-- boundary value, the first ones by account and date.
boundaries as (
    select
        preset,
        segment,
        period,
        computed_score as boundary_score,
        lowest_decile_rows - scored_lower as rows_at_boundary
    from sized
    where scored_lower < lowest_decile_rows
        and scored_lower + observations >= lowest_decile_rows
),

at_boundary as (
    select
        boundaries.preset,
        boundaries.segment,
        boundaries.period,
        observations.churned_within_horizon,
        boundaries.rows_at_boundary,
        row_number() over (
            partition by boundaries.preset, boundaries.segment, boundaries.period
            order by observations.account_id, observations.score_date
        ) as position
    from boundaries
    inner join observations
        on observations.preset = boundaries.preset
        and observations.computed_score = boundaries.boundary_score
        and (boundaries.segment = 'all' or observations.segment = boundaries.segment)
        and (
            boundaries.period = 'all'
            or cast(observations.score_month as {{ dbt.type_string() }}) = boundaries.period
        )
),

lowest_decile_churned as (
    select
        ranked.preset,
        ranked.segment,
        ranked.period,
        sum(case when ranked.computed_score < boundaries.boundary_score then ranked.churned else 0 end)
        + coalesce(max(boundary_churned.churned), 0) as churned
    from ranked
    inner join boundaries
        on ranked.preset = boundaries.preset
        and ranked.segment = boundaries.segment
        and ranked.period = boundaries.period
    left join (
        select preset, segment, period, sum(case when churned_within_horizon then 1 else 0 end) as churned
        from at_boundary
        where position <= rows_at_boundary
        group by preset, segment, period
    ) as boundary_churned
        on ranked.preset = boundary_churned.preset
        and ranked.segment = boundary_churned.segment
        and ranked.period = boundary_churned.period
    group by ranked.preset, ranked.segment, ranked.period
),

summarised as (
    select
        sized.preset,
        sized.segment,
        sized.period,
        cast(sum(sized.observations) as {{ dbt.type_bigint() }}) as observations,
        cast(sum(sized.churned) as {{ dbt.type_bigint() }}) as churned,
        -- twice the churners' rank sum, an integer: rank = scored_higher + (observations + 1) / 2
        sum(sized.churned * (2 * sized.scored_higher + sized.observations + 1))
            as churner_rank_sum_x2,
        sum(sized.flagged) as flagged,
        sum(sized.flagged_churned) as flagged_churned,
        max(sized.lowest_decile_rows) as lowest_decile_observations,
        max(lowest_decile_churned.churned) as lowest_decile_churned
    from sized
    left join lowest_decile_churned
        on sized.preset = lowest_decile_churned.preset
        and sized.segment = lowest_decile_churned.segment
        and sized.period = lowest_decile_churned.period
    group by sized.preset, sized.segment, sized.period
)

select
    -- group
    preset,
    segment,
    period,
    -- counts
    observations,
    churned,
    cast(churned as double) / observations as churn_rate,
    flagged,
    flagged_churned,
    -- quality of the score
    {{ rank_auc_sql('churned', 'observations', 'churner_rank_sum_x2') }} as auc,
    cast(flagged_churned as double) / nullif(flagged, 0) as precision_at_risk,
    cast(flagged_churned as double) / nullif(churned, 0) as recall_at_risk,
    (cast(lowest_decile_churned as double) / nullif(lowest_decile_observations, 0))
    / nullif(cast(churned as double) / observations, 0) as lift_lowest_decile
from summarised
