{#- Data tests of the per-date models check this run's scoring dates only, so a daily run's
    tests cost one day, not the whole history.

    Every data test gets `where: "__run_dates__"` (dbt_project.yml). For a test of a model
    tagged per_scoring_date, the placeholder becomes the run's range (run_var start_date /
    end_date; the whole table when they are not set); for any other test, no filter.
    Singular tests call run_dates_condition() themselves. -#}
{% macro run_dates_condition(column='score_date') -%}
    {%- set start_var = run_var('start_date') -%}
    {%- set end_var = run_var('end_date') -%}
    {%- if start_var and end_var -%}
        {{ column }} between cast('{{ start_var }}' as date) and cast('{{ end_var }}' as date)
    {%- elif start_var -%}
        {{ column }} >= cast('{{ start_var }}' as date)
    {%- elif end_var -%}
        {{ column }} <= cast('{{ end_var }}' as date)
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__run_dates__' in where -%}
        {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
        {%- if tested and 'per_scoring_date' in tested.tags -%}
            {%- set where = where | replace('__run_dates__', run_dates_condition()) -%}
        {%- else -%}
            {%- set where = where | replace('__run_dates__', '1 = 1') -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where and where != '1 = 1' -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
