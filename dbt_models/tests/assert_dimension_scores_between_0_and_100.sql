-- depends_on: {{ ref('preset_weights') }}
-- depends_on: {{ ref('fct_health_scores') }}
-- depends_on: {{ ref('fct_health_current') }}
-- Every <dimension>_score column of fct_health_scores and fct_health_current (one per
-- dimension of the selected preset, so the columns change with the preset) must be null or
-- between 0 and 100: returns the offending values (of this run's dates in fct_health_scores).

{%- set dimensions = preset_dimensions(var('preset')) %}

{%- for mart in ['fct_health_scores', 'fct_health_current'] %}
{%- set mart_loop = loop %}
{%- for dimension in dimensions %}
select
    '{{ mart }}' as mart,
    account_id,
    score_date,
    '{{ dimension }}_score' as score_column,
    {{ dimension }}_score as score,
    '{{ dimension }}_score outside 0-100' as problem
from {{ ref(mart) }}
where ({{ dimension }}_score < 0 or {{ dimension }}_score > 100)
    {%- if mart == 'fct_health_scores' %} and {{ run_dates_condition() }}{% endif %}
{% if not (loop.last and mart_loop.last) %}union all{% endif %}
{%- endfor %}
{%- endfor %}
{%- if not dimensions %}
-- parsing: no dimensions known yet
select 1 as placeholder where 1 = 0
{%- endif %}
