{#- Trailing-window aggregates for every account and scoring date, computed in one pass.

    `events`: a CTE with account_id, event_day (see day_number) and the measure columns.
    `spine`:  a CTE with account_id and score_day (the account-days to compute).
    `measures`: list of dicts {name, expr, days_back_from, days_back_to}: the sum of `expr`
    over events with event_day in [score_day - days_back_from, score_day - days_back_to].
    days_back_to >= 1 keeps the scoring date itself (and everything after it) out.

    Events and spine rows are unioned and a range-framed window runs over the union once,
    so the cost is one sort of events + spine, whatever the number of scoring dates. The sums
    are exact (fixed-point, 6 decimals): rows of the same day may come in any order, and a
    rebuild must give the same values. -#}
{% macro trailing_window_sums(events, spine, measures) -%}
    with

    unioned as (
        select
            account_id,
            event_day as day_key,
            0 as is_spine,
            {%- for m in measures %}
            cast({{ m.expr }} as double) as {{ m.name }}__value{{ "," if not loop.last }}
            {%- endfor %}
        from {{ events }}
        union all
        select
            account_id,
            score_day as day_key,
            1 as is_spine,
            {%- for m in measures %}
            cast(null as double) as {{ m.name }}__value{{ "," if not loop.last }}
            {%- endfor %}
        from {{ spine }}
    ),

    windowed as (
        select
            account_id,
            day_key,
            is_spine,
            {%- for m in measures %}
            coalesce(cast(sum(cast({{ m.name }}__value as decimal(18, 6))) over (
                partition by account_id
                order by day_key
                range between {{ m.days_back_from }} preceding and {{ m.days_back_to }} preceding
            ) as double), 0) as {{ m.name }}{{ "," if not loop.last }}
            {%- endfor %}
        from unioned
    )

    select
        account_id,
        day_key as score_day,
        {%- for m in measures %}
        {{ m.name }}{{ "," if not loop.last }}
        {%- endfor %}
    from windowed
    where is_spine = 1
{%- endmacro %}


{#- Number of distinct entities (users, features, ...) active in the `window_days` days
    before each score_day, per account: count(distinct) over a sliding window, set-based.

    `activity`: a CTE with account_id, entity and event_day, one row per distinct triple.
    An activity on day a keeps its entity counted on scoring days a+1 .. a+window_days,
    cut at the entity's next activity; each such spell adds +1 when it starts and -1 after
    it ends, and a running sum over days gives the distinct count on every scoring day. -#}
{% macro trailing_distinct_count(activity, spine, window_days, count_name) -%}
    with

    spells as (
        select
            account_id,
            event_day + 1 as spell_start,
            least(
                coalesce(
                    lead(event_day) over (partition by account_id, entity order by event_day),
                    event_day + {{ window_days }}
                ),
                event_day + {{ window_days }}
            ) as spell_end
        from {{ activity }}
    ),

    deltas as (
        select account_id, spell_start as day_key, 0 as is_spine, 1 as delta from spells
        union all
        select account_id, spell_end + 1 as day_key, 0 as is_spine, -1 as delta from spells
        union all
        select account_id, score_day as day_key, 1 as is_spine, 0 as delta from {{ spine }}
    ),

    running as (
        select
            account_id,
            day_key,
            is_spine,
            sum(delta) over (
                partition by account_id
                order by day_key, is_spine
                rows between unbounded preceding and current row
            ) as running_count
        from deltas
    )

    select
        account_id,
        day_key as score_day,
        running_count as {{ count_name }}
    from running
    where is_spine = 1
{%- endmacro %}


{#- Trailing-window sums of amounts spread over periods, for every account and scoring date.

    `periods`: a CTE with account_id, start_day, end_day (day numbers, both days included) and
    daily_amount: an amount spread evenly over the days of its period (an invoice over the
    service period it bills). `measures`: list of dicts {name, days_back_from, days_back_to}:
    the sum over the days score_day - days_back_from .. score_day - days_back_to of the daily
    amounts of the periods covering each day.

    The cumulative sum up to day t, C(t) = sum over periods of daily_amount x (days of the
    period up to t), is linear in t between period boundaries: slope(t) x t + level(t), where
    slope and level are running sums of deltas at each start_day (+a, -a x (start_day - 1))
    and the day after each end_day (-a, +a x end_day). A window is the difference of C at its
    two ends, and C at score_day - k is read with a range frame ending k days back. Periods
    and spine rows are unioned and sorted once: the cost is that of the periods plus the
    spine, however long the periods are. The sums are exact (fixed-point, 6 decimals). -#}
{% macro trailing_window_spread_sums(periods, spine, measures) -%}
    {%- set offsets = [] %}
    {%- for m in measures %}
        {%- for k in [m.days_back_to, m.days_back_from + 1] %}
            {%- if k not in offsets %}{%- do offsets.append(k) %}{%- endif %}
        {%- endfor %}
    {%- endfor %}
    with

    deltas as (
        select
            account_id,
            start_day as day_key,
            0 as is_spine,
            cast(daily_amount as decimal(18, 6)) as slope_delta,
            -cast(daily_amount as decimal(18, 6)) * (start_day - 1) as level_delta
        from {{ periods }}
        union all
        select
            account_id,
            end_day + 1 as day_key,
            0 as is_spine,
            -cast(daily_amount as decimal(18, 6)) as slope_delta,
            cast(daily_amount as decimal(18, 6)) * end_day as level_delta
        from {{ periods }}
        union all
        select
            account_id,
            score_day as day_key,
            1 as is_spine,
            cast(null as decimal(18, 6)) as slope_delta,
            cast(null as decimal(18, 6)) as level_delta
        from {{ spine }}
    ),

    cumulative as (
        select
            account_id,
            day_key,
            is_spine,
            {%- for k in offsets %}
            coalesce(sum(slope_delta) over (
                partition by account_id
                order by day_key
                range between unbounded preceding and {{ k }} preceding
            ), 0) * (day_key - {{ k }})
            + coalesce(sum(level_delta) over (
                partition by account_id
                order by day_key
                range between unbounded preceding and {{ k }} preceding
            ), 0) as cumulative__{{ k }}{{ "," if not loop.last }}
            {%- endfor %}
        from deltas
    )

    select
        account_id,
        day_key as score_day,
        {%- for m in measures %}
        cast(
            cumulative__{{ m.days_back_to }} - cumulative__{{ m.days_back_from + 1 }} as double
        ) as {{ m.name }}{{ "," if not loop.last }}
        {%- endfor %}
    from cumulative
    where is_spine = 1
{%- endmacro %}
