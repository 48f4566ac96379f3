{#- Order rows of one key from newest to oldest version: the newest version column value
    wins, else the newest file (modification time, then name), else the last row of it. -#}
{% macro newest_first(version_column=none) -%}
    {%- if version_column %}{{ version_column }} desc nulls last, {% endif -%}
    _file_modified_at desc, _source_file desc, _source_row desc
{%- endmacro %}
