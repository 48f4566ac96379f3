-- depends_on: {{ ref('signal_config') }}
-- nps: the account's Net Promoter Score over the NPS answers in the window:
-- % promoters (9-10) minus % detractors (0-6), from -100 to 100.

{%- set window_days = signal_window_days('nps') %}

with

account_days as (
    select * from {{ ref('int_accounts__daily') }}
),

scoring_dates as (
    select * from {{ ref('int_scoring_dates__selected') }}
),

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

lookback as (
    select min(score_day) - {{ window_days }} - 1 as first_event_day,
        max(score_day) - 1 as last_event_day
    from scoring_dates
),

nps_answers as (
    select
        account_id,
        {{ day_number('responded_at') }} as event_day,
        case when score >= 9 then 1 else 0 end as is_promoter,
        case when score <= 6 then 1 else 0 end as is_detractor
    from responses
    where survey_type = 'nps'
        and {{ day_number('responded_at') }} between (select first_event_day from lookback)
            and (select last_event_day from lookback)
),

windows as (
    {{ trailing_window_sums('nps_answers', 'account_days', [
        {'name': 'promoters', 'expr': 'is_promoter', 'days_back_from': window_days, 'days_back_to': 1},
        {'name': 'detractors', 'expr': 'is_detractor', 'days_back_from': window_days, 'days_back_to': 1},
        {'name': 'responses', 'expr': '1', 'days_back_from': window_days, 'days_back_to': 1},
    ]) }}
)

select
    -- ids
    account_days.account_id,
    -- dates
    account_days.score_date,
    -- signal
    'nps' as signal,
    100.0 * (windows.promoters - windows.detractors) / nullif(windows.responses, 0) as raw_value,
    cast(null as {{ dbt.type_string() }}) as raw_label,
    -- components
    windows.promoters,
    windows.detractors,
    windows.responses
from account_days
left join windows
    on account_days.account_id = windows.account_id
    and account_days.score_day = windows.score_day
