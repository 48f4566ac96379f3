{#- The seeds whose content shapes a health score: a change to any of them is a new
    config_version. (action_plays shapes the actions, not the score, and is left out.) -#}
{% macro scoring_config_seeds() -%}
    {{ return([
        'signal_config', 'signal_bands', 'preset_weights', 'preset_assignments', 'tier_bands',
        'scoring_settings', 'ticket_weights', 'enablement_features',
    ]) }}
{%- endmacro %}

{#- One text per row of a config seed: its columns (except free-text `description`) joined
    with '|' in column order, nulls as empty text. -#}
{% macro config_row_text(relation) -%}
    {%- if not execute -%}{{ return("''") }}{%- endif -%}
    {%- set parts = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) if column.name | lower != 'description' -%}
        {%- if not loop.first %}{% do parts.append("'|'") %}{% endif -%}
        {%- do parts.append("coalesce(cast(" ~ adapter.quote(column.name) ~ " as " ~ dbt.type_string() ~ "), '')") -%}
    {%- endfor -%}
    {{ return(dbt.concat(parts) if parts | length > 1 else parts[0]) }}
{%- endmacro %}
