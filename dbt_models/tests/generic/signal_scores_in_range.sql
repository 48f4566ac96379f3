{#- Every signal_score__<signal> column of a wide model lies in 0-100, and a signal with
    data (has_data__<signal>) has a score: the missing policy only fills signals without
    data. The signals are the model's own signal_score__ columns. -#}
{% test signal_scores_in_range(model) %}
{%- set signals = [] %}
{%- if execute %}
    {#- the model may be a filtered subquery (the run's dates): read its columns #}
    {%- for name in run_query('select * from ' ~ model ~ ' where 1 = 0').column_names %}
        {%- if name.startswith('signal_score__') %}
            {%- do signals.append(name[14:]) %}
        {%- endif %}
    {%- endfor %}
{%- endif %}
select *
from {{ model }}
where
{%- for signal in signals %}
    signal_score__{{ signal }} < 0
    or signal_score__{{ signal }} > 100
    or (has_data__{{ signal }} and signal_score__{{ signal }} is null)
    {%- if not loop.last %} or{% endif %}
{%- endfor %}
{%- if not signals %}
    1 = 0
{%- endif %}
{% endtest %}
