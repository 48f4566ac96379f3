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

{#- The presets the marts can show: the run's preset (var preset) and every preset named in
    seeds/preset_assignments.csv ('default' = the run's preset). -#}
{% macro assigned_presets() -%}
    {%- set default_preset = var('preset') -%}
    {%- if not execute -%}{{ return([default_preset]) }}{%- endif -%}
    {%- set result = run_query("select distinct preset from " ~ ref('preset_assignments') ~ " order by preset") -%}
    {%- set presets = [default_preset] -%}
    {%- for preset in result.columns[0].values() -%}
        {%- set name = default_preset if preset == 'default' else preset -%}
        {%- if name not in presets %}{% do presets.append(name) %}{% endif -%}
    {%- endfor -%}
    {{ return(presets) }}
{%- endmacro %}

{#- The <dimension>_score columns of the marts: every dimension of the assigned presets,
    sorted; a row has the scores of its own preset's dimensions, null for the others. -#}
{% macro mart_dimensions() -%}
    {%- set dimensions = [] -%}
    {%- for preset in assigned_presets() -%}
        {%- for dimension in preset_dimensions(preset) -%}
            {%- if dimension not in dimensions %}{% do dimensions.append(dimension) %}{% endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(dimensions | sort) }}
{%- endmacro %}

{#- A value of seeds/action_plays.csv for one rule (column: threshold, enabled, play). -#}
{% macro action_rule(rule, column, placeholder=0) -%}
    {%- if not execute -%}{{ return(placeholder) }}{%- endif -%}
    {%- set result = run_query("select " ~ column ~ " from " ~ ref('action_plays') ~ " where rule = '" ~ rule ~ "'") -%}
    {%- if result.rows | length != 1 -%}
        {{ exceptions.raise_compiler_error("seeds/action_plays.csv must have exactly one row for rule '" ~ rule ~ "' (found " ~ (result.rows | length) ~ ")") }}
    {%- endif -%}
    {{ return(result.rows[0][0]) }}
{%- endmacro %}
