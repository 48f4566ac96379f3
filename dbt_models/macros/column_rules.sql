{#- The query of a data test over a model's column rules, one scan for all of them: fails
    with one row per rule that some rows break (column_name, problem, failing_rows).
    `rules`: [{column, problem, broken}], `broken` an SQL condition true on a row that
    breaks the rule. -#}
{% macro column_rules_query(model, rules) -%}
with

counts as (
    select
        {%- for rule in rules %}
        sum(case when {{ rule.broken }} then 1 else 0 end) as broken_{{ loop.index }}
        {{- "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
)

{%- for rule in rules %}
select
    '{{ rule.column }}' as column_name,
    '{{ rule.problem }}' as problem,
    broken_{{ loop.index }} as failing_rows
from counts
where broken_{{ loop.index }} > 0
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
{%- endmacro %}
