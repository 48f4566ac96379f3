{#- A sum that gives the same double whatever order the engine adds the rows in: each value
    is cast to a fixed-point decimal (scale decimals) before the sum, which is then exact.
    A parallel sum of doubles can differ in the last bits from run to run, enough to move a
    score rounded to 2 decimals by 0.01; rebuilding a day must give the same rows.
    precision 18 (a 64-bit integer underneath) holds sums below 10^(18 - scale). -#}
{% macro exact_sum(expression, scale=10, precision=18) -%}
    cast(sum(cast({{ expression }} as decimal({{ precision }}, {{ scale }}))) as double)
{%- endmacro %}
