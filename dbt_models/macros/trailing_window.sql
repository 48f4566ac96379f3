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
    Each entity of an account gets one bit of a bitstring as long as the account has
    entities; a day's activity is the OR of its entities' bits, and the count on a scoring
    day is the number of bits set in the OR over the window's days: one range-framed window
    over the account's active days and scoring days (exact, whatever the order of rows). -#}
{% macro trailing_distinct_count(activity, spine, window_days, count_name) -%}
    with

    entity_bits as (
        select
            account_id,
            entity,
            set_bit(
                bitstring('0', cast(count(*) over (partition by account_id) as integer)),
                cast(row_number() over (partition by account_id order by entity) - 1 as integer),
                1
            ) as entity_bit
        from (select distinct account_id, entity from {{ activity }})
    ),

    active_days as (
        select
            activity.account_id,
            activity.event_day as day_key,
            0 as is_spine,
            bit_or(entity_bits.entity_bit) as entities
        from {{ activity }} as activity
        inner join entity_bits
            on activity.account_id = entity_bits.account_id
            and activity.entity = entity_bits.entity
        group by activity.account_id, activity.event_day
    ),

    unioned as (
        select * from active_days
        union all
        select
            account_id,
            score_day as day_key,
            1 as is_spine,
            null as entities
        from {{ spine }}
    ),

    windowed as (
        select
            account_id,
            day_key,
            is_spine,
            bit_or(entities) over (
                partition by account_id
                order by day_key
                range between {{ window_days }} preceding and 1 preceding
            ) as window_entities
        from unioned
    )

    select
        account_id,
        day_key as score_day,
        coalesce(bit_count(window_entities), 0) as {{ count_name }}
    from windowed
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
