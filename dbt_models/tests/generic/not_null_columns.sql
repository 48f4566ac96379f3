{#- Fails with one row per listed column that holds nulls: the column and its null rows.
    One query per model for all its required columns: a not_null test per column would be
    one dbt node each, and dbt spends about as long on a node as on a small query. -#}
{% test not_null_columns(model, columns) %}

with

null_counts as (
    select
        {%- for column in columns %}
        sum(case when {{ column }} is null then 1 else 0 end) as nulls_{{ loop.index }}
        {{- "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
)

{%- for column in columns %}
select
    '{{ column }}' as column_name,
    nulls_{{ loop.index }} as null_rows
from null_counts
where nulls_{{ loop.index }} > 0
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}

{% endtest %}
