{{ config(tags=['history_summary']) }}
-- depends_on: {{ ref('scoring_settings') }}
-- depends_on: {{ ref('preset_weights') }}
-- depends_on: {{ ref('signal_config') }}
-- depends_on: {{ ref('signal_bands') }}
-- depends_on: {{ ref('tier_bands') }}
-- How well each signal on its own predicted churn within the horizon, on the same account-days
-- as the backtest of the scores (fct_backtest_observations: the whole horizon inside the
-- data), so that a signal pointing the wrong way or telling nothing shows the day it happens.
--   auc: probability that an account-day followed by a churn had a lower signal score than
--        one that was not (ties count half), over the account-days where the signal has a
--        score; 0.5 = no better than chance, below 0.5 = the signal points the wrong way
--   auc_low / auc_high: 95 % interval of the Hanley-McNeil standard error with the numbers
--        of distinct accounts (not account-days: the days of one account are not independent)
--   verdict: predictive (interval above 0.5), inverted (below), uninformative (0.5 inside),
--        too_few_churners (fewer than min_churned_accounts churned accounts)

{%- set horizon_days = scoring_setting('churn_horizon_days', 90) | int %}
{%- set config = scoring_config() %}
{%- set signals = measured_signals_checked(config) %}
{%- set preset = var('preset') %}
{#- fewer churned accounts than this and no verdict is given: the interval says too little #}
{%- set min_churned_accounts = 10 %}

with

wide as (
    select * from {{ ref('fct_signal_scores_wide') }}
),

churn_spells as (
    select * from {{ ref('int_accounts__churn_spells') }}
),

date_bounds as (
    select * from {{ ref('int_exports__date_bounds') }}
),

preset_weights as (
    select * from {{ ref('preset_weights') }}
),

signals as (
    {{ signal_names_relation(signals) }}
),

-- account-days whose whole horizon lies inside the data (as in fct_backtest_observations)
observable as (
    select *
    from wide
    where {{ dbt.dateadd('day', horizon_days - 1, 'score_date') }}
        <= (select last_activity_date from date_bounds)
),

-- the observable account-days followed by a churn within the horizon (few rows)
churned_in_horizon as (
    select distinct
        observable.account_id,
        observable.score_date
    from observable
    inner join churn_spells
        on observable.account_id = churn_spells.account_id
        and churn_spells.churned_on >= observable.score_date
        and churn_spells.churned_on < {{ dbt.dateadd('day', horizon_days, 'observable.score_date') }}
),

-- one row per account-day and signal with a score (a scan of the wide rows, no join of them)
signal_days as (
    select
        signals.signal,
        observable.account_id,
        {{ signal_column_sql(signals, 'signal_score__', row='observable.') }} as signal_score,
        {{ signal_column_sql(signals, 'has_data__', row='observable.') }} as has_data,
        churned_in_horizon.account_id is not null as churned_within_horizon
    from observable
    cross join signals
    left join churned_in_horizon
        on observable.account_id = churned_in_horizon.account_id
        and observable.score_date = churned_in_horizon.score_date
),

scored_days as (
    select * from signal_days where signal_score is not null
),

-- counts per signal and score value: every rank below comes from these
-- (macros/rank_auc.sql), not from sorting the account-days
by_score as (
    select
        signal,
        signal_score,
        count(*) as observations,
        sum(case when churned_within_horizon then 1 else 0 end) as churned,
        sum(case when has_data then 1 else 0 end) as with_data
    from scored_days
    group by signal, signal_score
),

ranked as (
    select
        *,
        -- account-days of the signal scored higher (healthier) than this value
        {{ scored_higher_sql('signal', 'signal_score') }} as scored_higher
    from by_score
),

rank_sums as (
    select
        signal,
        cast(sum(observations) as {{ dbt.type_bigint() }}) as observations,
        cast(sum(churned) as {{ dbt.type_bigint() }}) as churned,
        cast(sum(with_data) as {{ dbt.type_bigint() }}) as with_data,
        -- twice the churners' rank sum, an integer: rank = scored_higher + (observations + 1) / 2
        sum(churned * (2 * scored_higher + observations + 1)) as churner_rank_sum_x2
    from ranked
    group by signal
),

accounts as (
    select
        signal,
        count(distinct case when churned_within_horizon then account_id end) as churned_accounts,
        count(distinct case when not churned_within_horizon then account_id end)
            as retained_accounts
    from scored_days
    group by signal
),

auc as (
    select
        rank_sums.signal,
        rank_sums.observations,
        rank_sums.churned,
        rank_sums.with_data,
        accounts.churned_accounts,
        accounts.retained_accounts,
        {{ rank_auc_sql(
            'rank_sums.churned', 'rank_sums.observations', 'rank_sums.churner_rank_sum_x2'
        ) }} as auc
    from rank_sums
    inner join accounts
        on rank_sums.signal = accounts.signal
),

-- Hanley & McNeil (1982): se^2 = (A(1-A) + (n1-1)(Q1-A^2) + (n0-1)(Q2-A^2)) / (n1 n0),
-- Q1 = A / (2 - A), Q2 = 2A^2 / (1 + A); n1, n0 = churned and retained accounts
standard_errors as (
    select
        *,
        sqrt(
            greatest(
                (
                    auc * (1 - auc)
                    + (churned_accounts - 1) * (auc / (2 - auc) - auc * auc)
                    + (retained_accounts - 1) * (2 * auc * auc / (1 + auc) - auc * auc)
                ) / nullif(cast(churned_accounts as double) * retained_accounts, 0),
                0
            )
        ) as auc_standard_error
    from auc
),

weights as (
    select
        signal,
        sum(dimension_weight * signal_weight) as preset_weight
    from preset_weights
    where preset = '{{ preset }}'
    group by signal
)

select
    -- ids
    signals.signal,
    '{{ preset }}' as preset,
    -- counts
    coalesce(standard_errors.observations, 0) as observations,
    coalesce(standard_errors.churned, 0) as churned,
    coalesce(standard_errors.churned_accounts, 0) as churned_accounts,
    coalesce(standard_errors.retained_accounts, 0) as retained_accounts,
    -- of every observable account-day, not only the scored ones: a signal whose missing
    -- days are excluded is scored on its days with data alone
    coalesce(standard_errors.with_data, 0)
    / nullif(cast((select count(*) from observable) as double), 0) as with_data_share,
    -- weight of the signal in the run's preset (0 when it does not use it)
    coalesce(weights.preset_weight, 0) as preset_weight,
    -- quality of the signal
    standard_errors.auc,
    greatest(standard_errors.auc - 1.96 * standard_errors.auc_standard_error, 0) as auc_low,
    least(standard_errors.auc + 1.96 * standard_errors.auc_standard_error, 1) as auc_high,
    case
        when standard_errors.auc is null
            or standard_errors.churned_accounts < {{ min_churned_accounts }}
            then 'too_few_churners'
        when standard_errors.auc - 1.96 * standard_errors.auc_standard_error > 0.5 then 'predictive'
        when standard_errors.auc + 1.96 * standard_errors.auc_standard_error < 0.5 then 'inverted'
        else 'uninformative'
    end as verdict,
    {{ horizon_days }} as horizon_days
from signals
left join standard_errors
    on signals.signal = standard_errors.signal
left join weights
    on signals.signal = weights.signal
