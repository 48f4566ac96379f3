{#- Fails with the rows whose column is outside [min_value, max_value] (bounds included;
    either bound may be omitted). Nulls pass: test them with not_null. -#}
{% test values_between(model, column_name, min_value=none, max_value=none) %}

select
    {{ column_name }} as out_of_range_value,
    {%- if min_value is not none and max_value is not none %}
    'expected between {{ min_value }} and {{ max_value }}' as problem
    {%- elif min_value is not none %}
    'expected at least {{ min_value }}' as problem
    {%- else %}
    'expected at most {{ max_value }}' as problem
    {%- endif %}
from {{ model }}
where {{ column_name }} is not null
    and (
        {%- if min_value is not none %} {{ column_name }} < {{ min_value }}{% endif %}
        {%- if min_value is not none and max_value is not none %} or{% endif %}
        {%- if max_value is not none %} {{ column_name }} > {{ max_value }}{% endif %}
    )

{% endtest %}
