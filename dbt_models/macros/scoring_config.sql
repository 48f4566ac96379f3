{#- The scoring config of seeds/ as one structure, read while a model compiles, so that the
    per-date models can carry one column per signal and compute every score as an expression
    over one row (no rows per signal):

    signals: [{signal, method, at_risk_value, healthy_value, missing_policy}], by name
    bands:   {signal: [{band, points}]}
    presets: {preset: [{dimension, dimension_weight, signal, signal_weight}]}, by dimension
             and signal
    tiers:   [{tier, lower_bound, lower_inclusive, upper_bound, upper_inclusive, colour,
             severity}], by lower bound

    Numbers are kept as text (the seed's own digits) and cast in SQL, so a weight means the
    same double on every engine. dbt unit tests override this macro with a fixture config.
    While parsing (execute = false) it returns an empty config. -#}
{% macro scoring_config() -%}
    {%- set config = {'signals': [], 'bands': {}, 'presets': {}, 'tiers': []} -%}
    {%- if not execute -%}{{ return(config) }}{%- endif -%}

    {%- set signals = run_query(
        "select signal, method, cast(at_risk_value as " ~ dbt.type_string() ~ "),"
        ~ " cast(healthy_value as " ~ dbt.type_string() ~ "), missing_policy"
        ~ " from " ~ ref('signal_config') ~ " order by signal"
    ) -%}
    {%- for row in signals.rows -%}
        {%- do config.signals.append({
            'signal': row[0], 'method': row[1], 'at_risk_value': row[2],
            'healthy_value': row[3], 'missing_policy': row[4],
        }) -%}
    {%- endfor -%}

    {%- set bands = run_query(
        "select signal, band, cast(points as " ~ dbt.type_string() ~ ")"
        ~ " from " ~ ref('signal_bands') ~ " order by signal, band"
    ) -%}
    {%- for row in bands.rows -%}
        {%- if row[0] not in config.bands %}{% do config.bands.update({row[0]: []}) %}{% endif -%}
        {%- do config.bands[row[0]].append({'band': row[1], 'points': row[2]}) -%}
    {%- endfor -%}

    {%- set weights = run_query(
        "select preset, dimension, cast(dimension_weight as " ~ dbt.type_string() ~ "), signal,"
        ~ " cast(signal_weight as " ~ dbt.type_string() ~ ")"
        ~ " from " ~ ref('preset_weights') ~ " order by preset, dimension, signal"
    ) -%}
    {%- for row in weights.rows -%}
        {%- if row[0] not in config.presets %}{% do config.presets.update({row[0]: []}) %}{% endif -%}
        {%- do config.presets[row[0]].append({
            'dimension': row[1], 'dimension_weight': row[2], 'signal': row[3],
            'signal_weight': row[4],
        }) -%}
    {%- endfor -%}

    {%- set tiers = run_query(
        "select tier, cast(lower_bound as " ~ dbt.type_string() ~ "), lower_inclusive,"
        ~ " cast(upper_bound as " ~ dbt.type_string() ~ "), upper_inclusive, colour, severity"
        ~ " from " ~ ref('tier_bands') ~ " order by lower_bound"
    ) -%}
    {%- for row in tiers.rows -%}
        {%- do config.tiers.append({
            'tier': row[0], 'lower_bound': row[1], 'lower_inclusive': row[2],
            'upper_bound': row[3], 'upper_inclusive': row[4], 'colour': row[5],
            'severity': row[6],
        }) -%}
    {%- endfor -%}
    {{ return(config) }}
{%- endmacro %}


{#- The signal models: int_<signal>__measured for every signal. The list is needed while
    dbt parses (to know what the wide model reads), before the seeds can be read; a model
    that compiles it checks it against seeds/signal_config.csv (measured_signals_checked). -#}
{% macro measured_signals() -%}
    {{ return([
        'adoption', 'breadth', 'csm_sentiment', 'enablement', 'nps', 'payment',
        'renewal_intent', 'revenue_trend', 'support_burden', 'support_csat', 'survey_csat',
        'usage_trend',
    ]) }}
{%- endmacro %}

{% macro measured_signals_checked(config) -%}
    {%- set configured = config.signals | map(attribute='signal') | list -%}
    {%- if execute -%}
        {%- for signal in configured if signal not in measured_signals() -%}
            {{ exceptions.raise_compiler_error(
                "seeds/signal_config.csv has signal '" ~ signal ~ "' but there is no model int_"
                ~ signal ~ "__measured in measured_signals() (macros/scoring_config.sql)"
            ) }}
        {%- endfor -%}
    {%- endif -%}
    {{ return(configured) }}
{%- endmacro %}


{#- Every preset of seeds/preset_weights.csv, by name. -#}
{% macro config_presets(config) -%}
    {{ return(config.presets.keys() | list | sort) }}
{%- endmacro %}


{#- The dimensions of a preset, by name: [{dimension, dimension_weight, signals: [{signal,
    signal_weight}]}]. -#}
{% macro preset_dimension_list(config, preset) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- if preset not in config.presets -%}
        {{ exceptions.raise_compiler_error(
            "Unknown preset '" ~ preset ~ "': seeds/preset_weights.csv has no rows for it"
            ~ " (set HEALTHMART_PRESET or the dbt var 'preset')"
        ) }}
    {%- endif -%}
    {%- set dimensions = [] -%}
    {%- set seen = {} -%}
    {%- for row in config.presets[preset] -%}
        {%- if row.dimension not in seen -%}
            {%- do seen.update({row.dimension: dimensions | length}) -%}
            {%- do dimensions.append({
                'dimension': row.dimension, 'dimension_weight': row.dimension_weight,
                'signals': [],
            }) -%}
        {%- endif -%}
        {%- do dimensions[seen[row.dimension]].signals.append({
            'signal': row.signal, 'signal_weight': row.signal_weight,
        }) -%}
    {%- endfor -%}
    {{ return(dimensions) }}
{%- endmacro %}


{#- The signal names as a one-column relation (signal), to unpivot a wide row with
    `cross join` and one `case` per column (one scan of the wide table). -#}
{% macro signal_names_relation(signals) -%}
    {%- for signal in signals %}
    select '{{ signal }}' as signal{% if not loop.last %} union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The value of column <prefix><signal> of the row's signal (`signal_column`). -#}
{% macro signal_column_sql(signals, prefix, signal_column='signals.signal', row='wide.') -%}
    case {{ signal_column }}
    {%- for signal in signals %}
        when '{{ signal }}' then {{ row }}{{ prefix }}{{ signal }}
    {%- endfor %}
    end
{%- endmacro %}
