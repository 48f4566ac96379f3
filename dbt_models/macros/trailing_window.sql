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
