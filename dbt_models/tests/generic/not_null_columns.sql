{#- Fails with one row per listed column that holds nulls: the column and its null rows
    (failing_rows). column_values with only its not_null rules (the seeds' tests use it). -#}
{% test not_null_columns(model, columns) %}

{{ test_column_values(model, not_null=columns) }}

{% endtest %}
