{#- Whole-history tables of the raw data that a run updates from the first date its new or
    changed exports touch, instead of rebuilding them from every row again.

    A run that scores from start_date on (run_var) was planned from the data that changed:
    a row dated d changes the scores from d + 1 on, so no row dated before start_date - 1
    changed since the last build (healthmart.defs.dbt.planning.plan_scoring_range; a full rebuild drops these
    tables first). Without start_date the table is rebuilt whole.

    `changed_data_cutoff()`: the first date to rebuild, as SQL (null: all of it).
    `changed_data_filter(column)`: `where` clause for the rows to rebuild (none when whole).
    `delete_changed_data(column)`: pre-hook deleting those rows from the existing table. -#}
{% macro changed_data_cutoff() -%}
    {%- set start_var = run_var('start_date') -%}
    {%- if start_var -%}
        cast({{ dbt.dateadd('day', -1, "cast('" ~ start_var ~ "' as date)") }} as date)
    {%- else -%}
        cast(null as date)
    {%- endif -%}
{%- endmacro %}

{% macro changed_data_filter(column) -%}
    {%- if is_incremental() and run_var('start_date') -%}
        where {{ column }} >= {{ changed_data_cutoff() }}
    {%- endif -%}
{%- endmacro %}

{% macro delete_changed_data(column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        {%- if run_var('start_date') %} where {{ column }} >= {{ changed_data_cutoff() }}{% endif %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
