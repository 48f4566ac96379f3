{#- Fails with one row per listed column that holds nulls: the column and its null rows
    (failing_rows). One query per model for all its required columns: a not_null test per
    column would be one dbt node each, and dbt spends about as long on a node as on a small
    query. -#}
{% test not_null_columns(model, columns) %}

{%- set rules = [] %}
{%- for column in columns %}
    {%- do rules.append({'column': column, 'problem': 'expected no nulls', 'broken': column ~ ' is null'}) %}
{%- endfor %}
{{ column_rules_query(model, rules) }}

{% endtest %}
