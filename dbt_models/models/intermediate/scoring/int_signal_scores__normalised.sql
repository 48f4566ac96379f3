-- depends_on: {{ ref('signal_config') }}
-- depends_on: {{ ref('signal_bands') }}
-- depends_on: {{ ref('preset_weights') }}
-- depends_on: {{ ref('tier_bands') }}
-- One row per account and scoring date of this run: every signal's raw metric and its 0-100
-- score (100 = healthy) as columns of the row (raw_value__<signal>, raw_label__<signal>,
-- signal_score__<signal>, has_data__<signal>), generated from seeds/signal_config.csv. The
-- score comes from the signal's method, then its missing-data policy: a missing signal is
-- excluded (score null, its weight renormalised later), neutral (50) or zero (0).

{%- set config = scoring_config() %}
{%- set signals = measured_signals_checked(config) %}

with

account_days as (
    select * from {{ ref('int_accounts__daily') }}
),

{%- for signal in measured_signals() %}

{{ signal }}_measured as (
    select * from {{ ref('int_' ~ signal ~ '__measured') }}
),
{%- endfor %}

-- one row per account-day and signal, pivoted to one row per account-day by an aggregate
-- (every signal model has a row for every account-day of the run): an aggregate spills to
-- disk when the run is large, where twelve joins would hold twelve hash tables at once
measured_signals as (
    {%- for signal in signals %}
    select
        account_id,
        score_date,
        '{{ signal }}' as signal,
        cast(raw_value as double) as raw_value,
        cast(raw_label as {{ dbt.type_string() }}) as raw_label
    from {{ signal }}_measured
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

pivoted as (
    select
        account_id,
        score_date
        {%- for signal in signals %},
        max(case when signal = '{{ signal }}' then raw_value end) as raw_value__{{ signal }},
        max(case when signal = '{{ signal }}' then raw_label end) as raw_label__{{ signal }}
        {%- endfor %}
    from measured_signals
    group by account_id, score_date
),

measured as (
    select
        pivoted.*,
        account_days.segment
    from account_days
    inner join pivoted
        on account_days.account_id = pivoted.account_id
        and account_days.score_date = pivoted.score_date
),

normalised as (
    select
        account_id,
        score_date
        {%- for s in config.signals %},
        raw_value__{{ s.signal }},
        raw_label__{{ s.signal }},
        {{ normalised_score_sql(config, s) }} as normalised__{{ s.signal }}
        {%- endfor %}
    from measured
)

select
    -- ids
    account_id,
    -- dates
    score_date
    {%- for s in config.signals %},
    -- {{ s.signal }}
    raw_value__{{ s.signal }},
    raw_label__{{ s.signal }},
    {%- if s.missing_policy == 'neutral' %}
    coalesce(normalised__{{ s.signal }}, 50.0) as signal_score__{{ s.signal }},
    {%- elif s.missing_policy == 'zero' %}
    coalesce(normalised__{{ s.signal }}, 0.0) as signal_score__{{ s.signal }},
    {%- else %}
    normalised__{{ s.signal }} as signal_score__{{ s.signal }},
    {%- endif %}
    normalised__{{ s.signal }} is not null as has_data__{{ s.signal }}
    {%- endfor %}
from normalised
