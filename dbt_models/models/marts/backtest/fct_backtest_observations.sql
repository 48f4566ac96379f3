{{ config(tags=['history_summary']) }}
-- depends_on: {{ ref('scoring_settings') }}
-- depends_on: {{ ref('signal_config') }}
-- depends_on: {{ ref('signal_bands') }}
-- depends_on: {{ ref('preset_weights') }}
-- depends_on: {{ ref('tier_bands') }}
-- The backtest's raw material: every account-day scored by every preset whose full churn
-- horizon (churn_horizon_days) lies inside the data, and whether the account churned within
-- it (on the scoring date or the days after). The score of a date uses only data from before
-- it, so this is an honest out-of-sample test of each preset.

{%- set horizon_days = scoring_setting('churn_horizon_days', 90) | int %}
{%- set config = scoring_config() %}

with

weighted as (
    select * from {{ ref('int_health_scores__weighted') }}
),

-- one row per account-day and preset (int_health_scores__weighted has a column per preset)
health_scores as (
    {%- for preset in config_presets(config) %}
    select
        account_id,
        '{{ preset }}' as preset,
        score_date,
        score__{{ preset }} as computed_score,
        coverage__{{ preset }} as coverage,
        {{ tier_band_sql(config, 'score__' ~ preset, 'tier') }} as tier,
        {{ tier_band_sql(config, 'score__' ~ preset, 'severity') }} as tier_severity
    from weighted
    where score__{{ preset }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if not config_presets(config) %}
    -- parsing: the presets are not known yet
    select account_id, 'none' as preset, score_date, 0.0 as computed_score, 0.0 as coverage,
        'unscored' as tier, 0 as tier_severity
    from weighted where 1 = 0
    {%- endif %}
),

accounts as (
    select * from {{ ref('stg_accounts__accounts') }}
),

churn_spells as (
    select * from {{ ref('int_accounts__churn_spells') }}
),

date_bounds as (
    select * from {{ ref('int_exports__date_bounds') }}
),

observable as (
    select *
    from health_scores
    where computed_score is not null
        and {{ dbt.dateadd('day', horizon_days - 1, 'score_date') }}
        <= (select last_activity_date from date_bounds)
),

first_churn_in_horizon as (
    select
        observable.account_id,
        observable.score_date,
        observable.preset,
        min(churn_spells.churned_on) as churned_on
    from observable
    inner join churn_spells
        on observable.account_id = churn_spells.account_id
        and churn_spells.churned_on >= observable.score_date
        and churn_spells.churned_on < {{ dbt.dateadd('day', horizon_days, 'observable.score_date') }}
    group by observable.account_id, observable.score_date, observable.preset
)

select
    -- ids
    observable.account_id,
    observable.preset,
    -- dates
    observable.score_date,
    cast({{ dbt.date_trunc('month', 'observable.score_date') }} as date) as score_month,
    first_churn_in_horizon.churned_on,
    -- attributes
    coalesce(accounts.segment, 'unknown') as segment,
    -- score
    observable.computed_score,
    observable.tier,
    observable.tier_severity,
    observable.coverage,
    -- outcome
    {{ horizon_days }} as horizon_days,
    first_churn_in_horizon.churned_on is not null as churned_within_horizon
from observable
left join accounts
    on observable.account_id = accounts.account_id
left join first_churn_in_horizon
    on observable.account_id = first_churn_in_horizon.account_id
    and observable.score_date = first_churn_in_horizon.score_date
    and observable.preset = first_churn_in_horizon.preset
