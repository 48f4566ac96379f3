{#- Whole days since 1970-01-01: an integer ordering key for range-framed window functions
    ("range between 30 preceding and 1 preceding"), portable across adapters. -#}
{% macro day_number(expr) -%}
    {{ dbt.datediff("cast('1970-01-01' as date)", "cast(" ~ expr ~ " as date)", "day") }}
{%- endmacro %}
