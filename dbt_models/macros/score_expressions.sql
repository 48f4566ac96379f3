{#- Scores as expressions over one wide row per account-day (macros/scoring_config.sql).

    The row has, for every signal s: signal_score__<s> (0-100, null when missing and
    excluded) and has_data__<s>. Each macro prints an SQL expression; `row` is the prefix of
    those columns (a table alias and a dot, or empty).

    Weighted sums are exact: each term is rounded to 10 decimals as a fixed-point decimal
    and the terms are added as decimals, then read back as a double, so a score is the same
    whatever engine or order adds them (and a tie like 68.125 rounds the same way). -#}

{% macro config_number(value) -%}
    cast('{{ value }}' as double)
{%- endmacro %}

{% macro _exact(expression) -%}
    cast({{ expression }} as decimal(18, 10))
{%- endmacro %}

{% macro _exact_total(terms) -%}
    cast(({{ terms | join(' + ') }}) as double)
{%- endmacro %}


{#- The weight of the dimension's signals that have a score. -#}
{% macro scored_signal_weight_sql(dimension, row='') -%}
    {%- set terms = [] -%}
    {%- for s in dimension.signals -%}
        {%- do terms.append(
            'case when ' ~ row ~ 'signal_score__' ~ s.signal ~ ' is not null then '
            ~ _exact(config_number(s.signal_weight)) ~ ' else 0 end'
        ) -%}
    {%- endfor -%}
    {{ _exact_total(terms) }}
{%- endmacro %}


{#- Signal-weighted mean of the dimension's signals that have a score; null when none has. -#}
{% macro dimension_score_sql(dimension, row='') -%}
    {%- set numerator = [] -%}
    {%- for s in dimension.signals -%}
        {%- do numerator.append(
            'coalesce(' ~ _exact(config_number(s.signal_weight) ~ ' * ' ~ row ~ 'signal_score__' ~ s.signal) ~ ', 0)'
        ) -%}
    {%- endfor -%}
    ({{ _exact_total(numerator) }} / nullif({{ scored_signal_weight_sql(dimension, row) }}, 0))
{%- endmacro %}


{#- The weight of the preset's dimensions that have a score (the overall denominator).
    `dimension_scores` maps a dimension name to the SQL of its score. -#}
{% macro scored_dimension_weight_sql(dimensions, dimension_scores) -%}
    {%- set terms = [] -%}
    {%- for d in dimensions -%}
        {%- do terms.append(
            'case when ' ~ dimension_scores[d.dimension] ~ ' is not null then '
            ~ _exact(config_number(d.dimension_weight)) ~ ' else 0 end'
        ) -%}
    {%- endfor -%}
    {{ _exact_total(terms) }}
{%- endmacro %}


{#- Overall score of a preset, rounded to 2 decimals: the dimension-weighted mean of the
    dimensions that have a score; null when none has. -#}
{% macro overall_score_sql(dimensions, dimension_scores) -%}
    {%- set numerator = [] -%}
    {%- for d in dimensions -%}
        {%- do numerator.append(
            'coalesce(' ~ _exact(config_number(d.dimension_weight) ~ ' * ' ~ dimension_scores[d.dimension]) ~ ', 0)'
        ) -%}
    {%- endfor -%}
    {%- set scored = scored_dimension_weight_sql(dimensions, dimension_scores) -%}
    case
        when {{ scored }} > 0 then round({{ _exact_total(numerator) }} / {{ scored }}, 2)
    end
{%- endmacro %}


{#- Share (0-1, rounded to 6 decimals) of the preset's configured weight whose signals had
    data; signals scored by the neutral or zero policy do not count. -#}
{% macro coverage_sql(dimensions, row='') -%}
    {%- set terms = [] -%}
    {%- for d in dimensions -%}
        {%- for s in d.signals -%}
            {%- do terms.append(
                'case when ' ~ row ~ 'has_data__' ~ s.signal ~ ' then '
                ~ _exact(config_number(d.dimension_weight) ~ ' * ' ~ config_number(s.signal_weight))
                ~ ' else 0 end'
            ) -%}
        {%- endfor -%}
    {%- endfor -%}
    round({{ _exact_total(terms) }}, 6)
{%- endmacro %}


{#- The weight a signal carried under a preset: its dimension's weight renormalised over the
    dimensions with a score, times its weight renormalised over the signals of its
    dimension with a score; 0 when its score is null; null when the preset has no such
    signal. -#}
{% macro effective_weight_sql(dimensions, dimension_scores, signal, row='', signal_weights=none) -%}
    {%- set found = [] -%}
    {%- for d in dimensions -%}
        {%- for s in d.signals if s.signal == signal -%}
            {%- do found.append((d, s)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if not found -%}
        cast(null as double)
    {%- else -%}
        {%- set d, s = found[0] -%}
        {%- set signal_weight = signal_weights[d.dimension] if signal_weights else scored_signal_weight_sql(d, row) -%}
        case
            when {{ row }}signal_score__{{ signal }} is not null
                then ({{ config_number(d.dimension_weight) }} / {{ scored_dimension_weight_sql(dimensions, dimension_scores) }})
                * ({{ config_number(s.signal_weight) }} / {{ signal_weight }})
            else 0.0
        end
    {%- endif -%}
{%- endmacro %}


{#- The dimension scores of a preset as SQL, by dimension name, over `row`. -#}
{% macro preset_dimension_scores(dimensions, row='') -%}
    {%- set scores = {} -%}
    {%- for d in dimensions -%}
        {%- do scores.update({d.dimension: dimension_score_sql(d, row)}) -%}
    {%- endfor -%}
    {{ return(scores) }}
{%- endmacro %}


{#- The parts every score, dimension score and weight of the presets is made of, as column
    definitions over `row`, to compute once per row in a CTE (an expression repeated inside
    the branches of a case is evaluated once per use): part_dimension__<preset>__<dimension>
    (the dimension's score) and part_signal_weight__<preset>__<dimension> (the weight of its
    signals with a score). by_preset_sql(..., parts=true) reads them from its `row`. -#}
{% macro preset_part_columns(config, presets, row='') -%}
    {%- set columns = [] -%}
    {%- for preset in presets -%}
        {%- for d in preset_dimension_list(config, preset) -%}
            {%- do columns.append(
                dimension_score_sql(d, row) ~ ' as part_dimension__' ~ preset ~ '__' ~ d.dimension
            ) -%}
            {%- do columns.append(
                scored_signal_weight_sql(d, row) ~ ' as part_signal_weight__' ~ preset ~ '__' ~ d.dimension
            ) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ columns | join(',\n') }}
{%- endmacro %}


{#- One expression per preset, chosen by the value of `preset_column`:
    case <preset_column> when '<p>' then <expression of p> ... end.
    `kind`: score | coverage | dimension (with `name`) | weight (with `name`, a signal).
    `parts`: read the dimension scores and signal weights from the columns of
    preset_part_columns on `row` instead of computing them (the same values). -#}
{% macro by_preset_sql(config, presets, preset_column, kind, name=none, row='', parts=false) -%}
    case {{ preset_column }}
    {%- for preset in presets %}
        {%- set dimensions = preset_dimension_list(config, preset) %}
        {%- if parts %}
            {%- set dimension_scores = {} %}
            {%- set signal_weights = {} %}
            {%- for d in dimensions %}
                {%- do dimension_scores.update({d.dimension: row ~ 'part_dimension__' ~ preset ~ '__' ~ d.dimension}) %}
                {%- do signal_weights.update({d.dimension: row ~ 'part_signal_weight__' ~ preset ~ '__' ~ d.dimension}) %}
            {%- endfor %}
        {%- else %}
            {%- set dimension_scores = preset_dimension_scores(dimensions, row) %}
            {%- set signal_weights = none %}
        {%- endif %}
        when '{{ preset }}' then
        {%- if kind == 'score' %} {{ overall_score_sql(dimensions, dimension_scores) }}
        {%- elif kind == 'coverage' %} {{ coverage_sql(dimensions, row) }}
        {%- elif kind == 'dimension' %} {{ dimension_scores.get(name, 'cast(null as double)') }}
        {%- elif kind == 'weight' %} {{ effective_weight_sql(dimensions, dimension_scores, name, row, signal_weights) }}
        {%- endif %}
    {%- endfor %}
    end
{%- endmacro %}


{#- The tier band (seeds/tier_bands.csv) that holds a score: its `attribute` (tier, colour
    or severity); null when the score is null or in no band. -#}
{% macro tier_band_sql(config, score, attribute) -%}
    case
    {%- for t in config.tiers %}
        when ({{ score }} > {{ config_number(t.lower_bound) }}
            {%- if t.lower_inclusive in (true, 'true', 'True') %} or {{ score }} = {{ config_number(t.lower_bound) }}{% endif %})
            and ({{ score }} < {{ config_number(t.upper_bound) }}
            {%- if t.upper_inclusive in (true, 'true', 'True') %} or {{ score }} = {{ config_number(t.upper_bound) }}{% endif %})
            then {% if attribute == 'severity' %}{{ t.severity }}{% else %}'{{ t[attribute] }}'{% endif %}
    {%- endfor %}
    end
{%- endmacro %}


{#- A signal's 0-100 score from its raw metric by its method (seeds/signal_config.csv), over
    a row with raw_value__<signal> / raw_label__<signal> and the account's segment; null
    when the metric is missing (the missing policy is applied after). percentile is the
    mid-rank percentile among the accounts of the same segment on the same date with a
    value: share below plus half the share of ties (a lone account or a tied segment: 50). -#}
{% macro normalised_score_sql(config, s) -%}
    {%- set raw = 'raw_value__' ~ s.signal -%}
    {%- if s.method in ('threshold', 'trend') -%}
        {#- least / greatest skip nulls in some engines: test for a missing value first #}
        case
            when {{ raw }} is not null
                then 100.0 * greatest(0.0, least(1.0,
                    ({{ raw }} - {{ config_number(s.at_risk_value) }})
                    / ({{ config_number(s.healthy_value) }} - {{ config_number(s.at_risk_value) }})
                ))
        end
    {%- elif s.method == 'boolean' -%}
        case
            when {{ raw }} is null then null
            when {{ raw }} > 0 then cast(100 as double)
            else cast(0 as double)
        end
    {%- elif s.method == 'bands' -%}
        case raw_label__{{ s.signal }}
        {%- for band in config.bands.get(s.signal, []) %}
            when '{{ band.band }}' then {{ config_number(band.points) }}
        {%- endfor %}
        end
    {%- elif s.method == 'percentile' -%}
        case
            when {{ raw }} is not null
                then 100.0 * (
                    count({{ raw }}) over (
                        partition by score_date, segment
                        order by {{ raw }}
                        range between unbounded preceding and current row
                    )
                    - 0.5 * count({{ raw }}) over (partition by score_date, segment, {{ raw }})
                ) / count({{ raw }}) over (partition by score_date, segment)
        end
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "seeds/signal_config.csv: signal '" ~ s.signal ~ "' has unknown method '" ~ s.method
            ~ "' (threshold, trend, percentile, bands or boolean)"
        ) }}
    {%- endif -%}
{%- endmacro %}


{#- The top `n` signals of a row by a key, in two row expressions over columns (no rows per
    signal): `signal_rank_columns(prefix, signals)` gives each candidate signal its place,
    `<prefix>_rank__<signal>` = the number of candidates ahead of it (larger keys first, equal
    keys by signal name), from the key columns `<prefix>__<signal>` (null = not a candidate);
    `top_signals_sql(prefix, signals)` reads those places into one text "a, b, c" (each
    signal's name, or its SQL in the dict `labels`), null when no signal is a
    candidate. Two layers, so that each key is computed once per row, each place once. -#}
{% macro signal_rank_columns(prefix, signals) -%}
    {%- set names = signals | list | sort -%}
    {%- for s in names %}
    case
        when {{ prefix }}__{{ s }} is not null then
            {%- for t in names if t != s %}
            {{ "+ " if not loop.first }}case when {{ prefix }}__{{ t }} > {{ prefix }}__{{ s }}
            {%- if t < s %} or {{ prefix }}__{{ t }} = {{ prefix }}__{{ s }}{% endif %} then 1 else 0 end
            {%- else %}
            0
            {%- endfor %}
    end as {{ prefix }}_rank__{{ s }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{% macro top_signals_sql(prefix, signals, n=3, labels=none) -%}
    {%- set names = signals | list | sort -%}
    {%- set places = [] -%}
    {%- for place in range(n) -%}
        {%- set whens = [] -%}
        {%- for s in names -%}
            {%- do whens.append(
                'when ' ~ prefix ~ '_rank__' ~ s ~ ' = ' ~ place ~ ' then '
                ~ (labels[s] if labels else "'" ~ s ~ "'")
            ) -%}
        {%- endfor -%}
        {%- do places.append('case ' ~ (whens | join(' ')) ~ ' end') -%}
    {%- endfor -%}
    {%- set parts = [places[0]] -%}
    {%- for place in places[1:] -%}
        {%- do parts.append("coalesce(', ' || " ~ place ~ ", '')") -%}
    {%- endfor -%}
    ({{ parts | join(' || ') }})
{%- endmacro %}

{#- The decile (1-10) that ntile(10) gives the row at 1-based `position` of `rows` rows: the
    first rows % 10 deciles hold one row more than the others (fewer than 10 rows: one each). -#}
{% macro _ntile_decile(position, rows) -%}
    case
        when ({{ position }}) <= (({{ rows }}) % 10) * (({{ rows }}) // 10 + 1)
            then (({{ position }}) - 1) // (({{ rows }}) // 10 + 1) + 1
        else (({{ rows }}) % 10)
            + (({{ position }}) - (({{ rows }}) % 10) * (({{ rows }}) // 10 + 1) - 1)
            // (({{ rows }}) // 10)
            + 1
    end
{%- endmacro %}
