{#- ROC AUC from counts per score value, without sorting the rows (fct_backtest_summary,
    fct_backtest_signals): within a group, the rows scored higher than a value come from a
    running sum of the counts; an average rank is those rows plus half the rows tied with the
    value, and twice a churner rank sum, an integer, is
    sum(churned * (2 * scored_higher + observations + 1)).
    The AUC is the probability that a churner scored lower than a non-churner (ties count
    half): the Mann-Whitney statistic from that rank sum. -#}

{#- Rows of the group (partition_by) scored higher than this row's `score`: a running sum of
    the column `observations`. -#}
{% macro scored_higher_sql(partition_by, score) -%}
    coalesce(
        sum(observations) over (
            partition by {{ partition_by }} order by {{ score }} desc
            rows between unbounded preceding and 1 preceding
        ),
        0
    )
{%- endmacro %}

{#- The AUC of a group (null without both outcomes), from its churned rows, all its rows and
    twice its churners' rank sum. -#}
{% macro rank_auc_sql(churned, observations, rank_sum_x2) -%}
    case
        when {{ churned }} > 0 and {{ churned }} < {{ observations }}
            then cast({{ rank_sum_x2 }} - {{ churned }} * ({{ churned }} + 1) as double)
            / (2.0 * cast({{ churned }} as double) * ({{ observations }} - {{ churned }}))
    end
{%- endmacro %}
