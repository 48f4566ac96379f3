{{ config(tags=['per_scoring_date']) }}
-- depends_on: {{ ref('scoring_settings') }}
-- The scoring dates of this run: the dbt vars start_date / end_date when given (a backfill
-- or a daily partition), else from history_warmup_days after the first activity in the
-- exports to the day after the last one. A score on date D uses only data from before D.

{%- set warmup_days = scoring_setting('history_warmup_days', 30) | int %}
{%- set start_var = var('start_date', '') %}
{%- set end_var = var('end_date', '') %}

with

bounds as (
    select * from {{ ref('int_exports__date_bounds') }}
),

requested as (
    select
        {% if start_var %}cast('{{ start_var }}' as date)
        {%- else %}{{ dbt.dateadd('day', warmup_days, 'first_activity_date') }}{% endif %} as range_start,
        {% if end_var %}cast('{{ end_var }}' as date)
        {%- else %}data_as_of_date{% endif %} as range_end
    from bounds
),

clamped as (
    -- a data span shorter than the warm-up still gets its last date scored
    select
        case when range_start > range_end then range_end else range_start end as range_start,
        range_end
    from requested
),

dates as (
    {{ date_series('(select range_start from clamped)', '(select range_end from clamped)') }}
)

select
    calendar_date as score_date,
    {{ day_number('calendar_date') }} as score_day
from dates
