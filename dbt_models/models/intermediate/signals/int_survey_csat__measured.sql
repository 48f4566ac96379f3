-- depends_on: {{ ref('signal_config') }}
-- survey_csat: mean of the CSAT survey answers (1-5) in the window.

{%- set window_days = signal_window_days('survey_csat') %}

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

csat_answers as (
    select
        account_id,
        {{ day_number('responded_at') }} as event_day,
        score
    from responses
    where survey_type = 'csat'
        and {{ day_number('responded_at') }} between (select first_event_day from lookback)
            and (select last_event_day from lookback)
),

windows as (
    {{ trailing_window_sums('csat_answers', 'account_days', [
        {'name': 'score_sum', 'expr': 'score', 'days_back_from': window_days, 'days_back_to': 1},
        {'name': 'responses', 'expr': '1', 'days_back_from': window_days, 'days_back_to': 1},
    ]) }}
)

select
    -- ids
    account_days.account_id,
    -- dates
    account_days.score_date,
    -- signal
    'survey_csat' as signal,
    windows.score_sum / nullif(windows.responses, 0) as raw_value,
    cast(null as {{ dbt.type_string() }}) as raw_label,
    -- components
    windows.responses
from account_days
left join windows
    on account_days.account_id = windows.account_id
    and account_days.score_day = windows.score_day
