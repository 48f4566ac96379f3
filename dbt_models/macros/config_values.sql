{#- Read configuration seeds while a model runs, so that windows and thresholds are data
    (seeds/) rendered into the compiled SQL as literals. During parsing (execute = false) the
    macros return the given placeholder; models that call them declare the seed with
    `-- depends_on: {{ ref('...') }}` so the seed is built first. -#}

{% macro scoring_setting(name, placeholder=0) -%}
    {%- if not execute -%}{{ return(placeholder) }}{%- endif -%}
    {%- set result = run_query("select value from " ~ ref('scoring_settings') ~ " where setting = '" ~ name ~ "'") -%}
    {%- if result.rows | length != 1 -%}
        {{ exceptions.raise_compiler_error("seeds/scoring_settings.csv must have exactly one row for setting '" ~ name ~ "' (found " ~ (result.rows | length) ~ ")") }}
    {%- endif -%}
    {{ return(result.rows[0][0]) }}
{%- endmacro %}

{% macro signal_window_days(signal) -%}
    {%- if not execute -%}{{ return(30) }}{%- endif -%}
    {%- set result = run_query("select window_days from " ~ ref('signal_config') ~ " where signal = '" ~ signal ~ "'") -%}
    {%- if result.rows | length != 1 or result.rows[0][0] is none -%}
        {{ exceptions.raise_compiler_error("seeds/signal_config.csv must have exactly one row with window_days for signal '" ~ signal ~ "'") }}
    {%- endif -%}
    {{ return(result.rows[0][0] | int) }}
{%- endmacro %}

{% macro preset_dimensions(preset) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set result = run_query("select distinct dimension from " ~ ref('preset_weights') ~ " where preset = '" ~ preset ~ "' order by dimension") -%}
    {%- if result.rows | length == 0 -%}
        {{ exceptions.raise_compiler_error("Unknown preset '" ~ preset ~ "': seeds/preset_weights.csv has no rows for it (set HEALTHMART_PRESET or the dbt var 'preset')") }}
    {%- endif -%}
    {{ return(result.columns[0].values()) }}
{%- endmacro %}
