{#- Fails with the rows for which the boolean SQL expression is false (rows where it is
    null pass: the columns it reads are tested for nulls separately). -#}
{% test expression_is_true(model, expression) %}

select
    *,
    'expected {{ expression | replace("'", "''") }}' as problem
from {{ model }}
where not ({{ expression }})

{% endtest %}
