-- depends_on: {{ ref('scoring_settings') }}
-- One row: the scoring dates the data supports, from history_warmup_days after the first
-- activity in the exports to the day after the last one (a data span shorter than the
-- warm-up still gets its last date scored). Every run's range is clamped to it; the
-- pipeline reads it to plan a long range in parts.

{%- set warmup_days = scoring_setting('history_warmup_days', 30) | int %}

with

bounds as (
    select * from {{ ref('int_exports__date_bounds') }}
),

supported as (
    select
        {{ dbt.dateadd('day', warmup_days, 'first_activity_date') }} as supported_start,
        data_as_of_date as supported_end
    from bounds
)

select
    case
        when supported_start > supported_end then cast(supported_end as date)
        else cast(supported_start as date)
    end as supported_start,
    cast(supported_end as date) as supported_end
from supported
