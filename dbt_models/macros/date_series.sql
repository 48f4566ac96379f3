{#- One row per calendar day between two date expressions (inclusive), column `calendar_date`.
    Adapter-specific: generating a series is not covered by dbt's cross-database macros. -#}
{% macro date_series(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('date_series', 'healthmart')(start_expr, end_expr)) }}
{%- endmacro %}

{% macro duckdb__date_series(start_expr, end_expr) -%}
    select cast(unnest(generate_series(cast({{ start_expr }} as date), cast({{ end_expr }} as date), interval 1 day)) as date) as calendar_date
{%- endmacro %}

{% macro spark__date_series(start_expr, end_expr) -%}
    select explode(sequence(cast({{ start_expr }} as date), cast({{ end_expr }} as date), interval 1 day)) as calendar_date
{%- endmacro %}

{% macro default__date_series(start_expr, end_expr) -%}
    {{ exceptions.raise_compiler_error("date_series is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}


{#- One row per whole number 0 .. n (n: an integer expression), column `value`. -#}
{% macro integer_series(n_expr) -%}
    {{ return(adapter.dispatch('integer_series', 'healthmart')(n_expr)) }}
{%- endmacro %}

{% macro duckdb__integer_series(n_expr) -%}
    select cast(unnest(range(0, ({{ n_expr }}) + 1)) as integer) as value
{%- endmacro %}

{% macro spark__integer_series(n_expr) -%}
    select explode(sequence(0, {{ n_expr }})) as value
{%- endmacro %}

{% macro default__integer_series(n_expr) -%}
    {{ exceptions.raise_compiler_error("integer_series is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}
