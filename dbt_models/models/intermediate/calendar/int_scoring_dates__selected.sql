{{ config(tags=['per_scoring_date']) }}
-- depends_on: {{ ref('scoring_settings') }}
-- The scoring dates of this run: the dbt vars start_date / end_date when given (a backfill
-- or a daily partition), else everything; in both cases narrowed to what the data supports,
-- from history_warmup_days after the first activity in the exports to the day after the
-- last one. A score on date D uses only data from before D.
-- Also the look-back dates of the run: the date 30 days before each run date, within the
-- data range, so the intermediate models restate them under today's config and data and
-- fct_health_drivers can split a 30-day change into data, weighting and restatement. The
-- marts publish the run dates only (is_run_date).

{%- set warmup_days = scoring_setting('history_warmup_days', 30) | int %}
{%- set start_var = var('start_date', '') %}
{%- set end_var = var('end_date', '') %}
{#- the drivers compare a score with the one 30 days before it (as delta_30d does) #}
{%- set lookback_days = 30 %}

with

bounds as (
    select * from {{ ref('int_exports__date_bounds') }}
),

supported as (
    select
        {{ dbt.dateadd('day', warmup_days, 'first_activity_date') }} as supported_start,
        data_as_of_date as supported_end
    from bounds
),

clamped as (
    -- a data span shorter than the warm-up still gets its last date scored
    select
        case
            when supported_start > supported_end then cast(supported_end as date)
            else cast(supported_start as date)
        end as supported_start,
        cast(supported_end as date) as supported_end
    from supported
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
        or {{ dbt.dateadd('day', lookback_days, 'dates.calendar_date') }} <= with_lookback.range_end
)

select
    calendar_date as score_date,
    {{ day_number('calendar_date') }} as score_day,
    is_run_date
from selected
