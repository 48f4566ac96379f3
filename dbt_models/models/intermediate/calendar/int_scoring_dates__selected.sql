{{ config(tags=['per_scoring_date']) }}
-- The scoring dates of this run: the dbt vars start_date / end_date when given (a backfill
-- or a daily partition), else everything; in both cases narrowed to what the data supports,
-- from history_warmup_days after the first activity in the exports to the day after the
-- last one. A score on date D uses only data from before D.
-- Also the look-back dates of the run: the date 30 days before each run date, within the
-- data range, so the intermediate models restate them under today's config and data and
-- fct_health_drivers can split a 30-day change into data, weighting and restatement. The
-- marts publish the run dates only (is_run_date).

{%- set start_var = run_var('start_date') %}
{%- set end_var = run_var('end_date') %}
{#- dates from published_from on were published earlier in the same run (a long range is
    built in parts): their look-back rows are read as published, not computed again #}
{%- set published_from = run_var('published_from') %}
{#- the drivers compare a score with the one 30 days before it (as delta_30d does) #}
{%- set lookback_days = 30 %}

with

clamped as (
    select * from {{ ref('int_scoring_dates__supported') }}
),

requested as (
    select
        {% if start_var %}greatest(cast('{{ start_var }}' as date), supported_start)
        {%- else %}supported_start{% endif %} as range_start,
        {% if end_var %}least(cast('{{ end_var }}' as date), supported_end)
        {%- else %}supported_end{% endif %} as range_end
    from clamped
),

with_lookback as (
    select
        range_start,
        range_end,
        case
            when {{ dbt.dateadd('day', -lookback_days, 'range_start') }} > supported_start
                then cast({{ dbt.dateadd('day', -lookback_days, 'range_start') }} as date)
            else supported_start
        end as series_start
    from requested
    cross join clamped
),

dates as (
    {{ date_series(
        '(select series_start from with_lookback)', '(select range_end from with_lookback)'
    ) }}
),

selected as (
    select
        dates.calendar_date,
        dates.calendar_date >= with_lookback.range_start as is_run_date
    from dates
    cross join with_lookback
    where dates.calendar_date >= with_lookback.range_start
        or (
            {{ dbt.dateadd('day', lookback_days, 'dates.calendar_date') }} <= with_lookback.range_end
            {%- if published_from %}
            and dates.calendar_date < cast('{{ published_from }}' as date)
            {%- endif %}
        )
)

select
    calendar_date as score_date,
    {{ day_number('calendar_date') }} as score_day,
    is_run_date
from selected
