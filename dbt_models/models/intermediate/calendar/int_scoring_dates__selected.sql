{{ config(tags=['per_scoring_date']) }}
-- depends_on: {{ ref('scoring_settings') }}
-- The scoring dates of this run: the dbt vars start_date / end_date when given (a backfill
-- or a daily partition), else everything; in both cases narrowed to what the data supports,
-- from history_warmup_days after the first activity in the exports to the day after the
-- last one. A score on date D uses only data from before D.

{%- set warmup_days = scoring_setting('history_warmup_days', 30) | int %}
{%- set start_var = var('start_date', '') %}
{%- set end_var = var('end_date', '') %}

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

dates as (
    {{ date_series('(select range_start from requested)', '(select range_end from requested)') }}
)

select
    calendar_date as score_date,
    {{ day_number('calendar_date') }} as score_day
from dates
