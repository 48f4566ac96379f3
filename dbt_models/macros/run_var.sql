{#- A setting of this run: the scoring range (start_date, end_date) and, for a range built in
    parts, published_from. The dbt var of that name when one is given (`dbt build --vars` by
    hand), else the environment variable HEALTHMART_RUN_<NAME> that the pipeline sets for its
    `dbt build` (empty: not set).

    It is read when dbt executes, never while it parses: the run's dates are no part of the
    parsed project, so a run reuses the parse of the one before (dbt's partial parsing; dbt
    parses the whole project again whenever its vars change). -#}
{% macro run_var(name) -%}
    {%- set given = var(name, '') -%}
    {%- if given -%}
        {{- return(given) -}}
    {%- elif execute -%}
        {{- return(env_var('HEALTHMART_RUN_' ~ (name | upper), '')) -}}
    {%- else -%}
        {{- return('') -}}
    {%- endif -%}
{%- endmacro %}
