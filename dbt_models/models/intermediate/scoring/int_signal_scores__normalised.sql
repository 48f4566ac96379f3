-- depends_on: {{ ref('signal_config') }}
-- depends_on: {{ ref('signal_bands') }}
-- Every signal's raw metric turned into a 0-100 score (100 = healthy) by the method in
-- seeds/signal_config.csv, then the missing-data policy: a missing signal is excluded
-- (score null, its weight renormalised later), neutral (50) or zero (0).

{%- set signal_models = [
    'int_adoption__measured',
    'int_breadth__measured',
    'int_usage_trend__measured',
    'int_enablement__measured',
    'int_support_burden__measured',
    'int_support_csat__measured',
    'int_nps__measured',
    'int_survey_csat__measured',
    'int_payment__measured',
    'int_revenue_trend__measured',
    'int_csm_sentiment__measured',
    'int_renewal_intent__measured',
] %}

with

account_days as (
    select * from {{ ref('int_accounts__daily') }}
),

signal_config as (
    select * from {{ ref('signal_config') }}
),

signal_bands as (
    select * from {{ ref('signal_bands') }}
),

measured as (
    {%- for model in signal_models %}
    select
        account_id,
        score_date,
        signal,
        cast(raw_value as double) as raw_value,
        cast(raw_label as {{ dbt.type_string() }}) as raw_label
    from {{ ref(model) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

configured as (
    select
        measured.*,
        account_days.segment,
        signal_config.method,
        signal_config.at_risk_value,
        signal_config.healthy_value,
        signal_config.missing_policy
    from measured
    inner join account_days
        on measured.account_id = account_days.account_id
        and measured.score_date = account_days.score_date
    inner join signal_config
        on measured.signal = signal_config.signal
),

-- mid-rank percentile within the segment on the same date: share of accounts below plus
-- half the share of ties, so a lone account or a fully tied segment sits at 50
percentiles as (
    select
        account_id,
        score_date,
        signal,
        100.0 * (
            count(*) over (
                partition by score_date, segment, signal
                order by raw_value
                range between unbounded preceding and current row
            )
            - 0.5 * count(*) over (partition by score_date, segment, signal, raw_value)
        ) / count(*) over (partition by score_date, segment, signal) as percentile_score
    from configured
    where method = 'percentile'
        and raw_value is not null
),

normalised as (
    select
        configured.*,
        case
            -- (least / greatest skip nulls in some engines: test for a missing value first)
            when configured.method in ('threshold', 'trend') and configured.raw_value is not null
                then 100.0 * greatest(0.0, least(1.0,
                    (configured.raw_value - configured.at_risk_value)
                    / (configured.healthy_value - configured.at_risk_value)
                ))
            when configured.method = 'boolean'
                then case
                    when configured.raw_value is null then null
                    when configured.raw_value > 0 then 100.0
                    else 0.0
                end
            when configured.method = 'bands'
                then cast(signal_bands.points as double)
            when configured.method = 'percentile'
                then percentiles.percentile_score
        end as normalised_score
    from configured
    left join signal_bands
        on configured.signal = signal_bands.signal
        and configured.raw_label = signal_bands.band
    left join percentiles
        on configured.account_id = percentiles.account_id
        and configured.score_date = percentiles.score_date
        and configured.signal = percentiles.signal
)

select
    -- ids
    account_id,
    signal,
    -- dates
    score_date,
    -- measures
    raw_value,
    raw_label,
    case
        when normalised_score is not null then normalised_score
        when missing_policy = 'neutral' then 50.0
        when missing_policy = 'zero' then 0.0
    end as signal_score,
    -- config
    method,
    missing_policy,
    -- flags
    normalised_score is not null as has_data
from normalised
