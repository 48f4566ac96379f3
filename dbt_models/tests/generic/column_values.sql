{#- Fails with one row per rule that some rows break: the column, the rule and the number
    of rows breaking it. `not_null`: the columns that must hold a value; `ranges`: [{column,
    min_value, max_value}] (bounds included, either may be left out); `accepted`: [{column,
    values, quote}] (quote: false for numbers); nulls pass those two. One query per model for
    all its rules: a test per column would be one dbt node each, and dbt spends about as long
    on a node as on a small query. -#}
{% test column_values(model, not_null=[], ranges=[], accepted=[]) %}

{%- set rules = [] %}
{%- for column in not_null %}
    {%- do rules.append({'column': column, 'problem': 'expected no nulls', 'broken': column ~ ' is null'}) %}
{%- endfor %}
{%- for r in ranges %}
    {%- set has_min = r.get('min_value') is not none %}
    {%- set has_max = r.get('max_value') is not none %}
    {%- set broken = [] %}
    {%- if has_min %}{% do broken.append(r.column ~ ' < ' ~ r.min_value) %}{% endif %}
    {%- if has_max %}{% do broken.append(r.column ~ ' > ' ~ r.max_value) %}{% endif %}
    {%- if has_min and has_max %}
        {%- set problem = 'expected between ' ~ r.min_value ~ ' and ' ~ r.max_value %}
    {%- elif has_min %}
        {%- set problem = 'expected at least ' ~ r.min_value %}
    {%- else %}
        {%- set problem = 'expected at most ' ~ r.max_value %}
    {%- endif %}
    {%- do rules.append({'column': r.column, 'problem': problem, 'broken': broken | join(' or ')}) %}
{%- endfor %}
{%- for a in accepted %}
    {%- set quote = a.get('quote', true) %}
    {%- set listed = [] %}
    {%- for v in a['values'] %}
        {%- do listed.append("'" ~ v ~ "'" if quote else v | string) %}
    {%- endfor %}
    {%- do rules.append({
        'column': a.column,
        'problem': 'expected one of ' ~ (a['values'] | join(', ')),
        'broken': a.column ~ ' not in (' ~ (listed | join(', ')) ~ ')',
    }) %}
{%- endfor %}

{{ column_rules_query(model, rules) }}

{% endtest %}
