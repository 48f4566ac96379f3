{#- Fails with one row per duplicated combination of the given columns (nulls compare
    equal, as in a group by), with the number of rows that share it. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {%- for column in combination_of_columns %}
    {{ column }},
    {%- endfor %}
    count(*) as duplicate_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
