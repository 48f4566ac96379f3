-- seeds/scoring_settings.csv: each known setting must hold a sensible number: day counts
-- are whole and not negative (churn_horizon_days at least 1), low_confidence_coverage is a
-- share from 0 to 1, trend_threshold_points is not negative. Returns the offending rows.
-- (A missing setting already fails compilation in the scoring_setting macro.)

with

settings as (
    select * from {{ ref('scoring_settings') }}
)

select
    setting,
    value,
    case
        when setting in ('low_confidence_coverage', 'gross_margin') then 'must be a share between 0 and 1'
        when setting = 'clv_max_years' then 'must be more than 0 years'
        when setting = 'churn_horizon_days' then 'must be a whole number of days, at least 1'
        when setting = 'trend_threshold_points' then 'must be 0 or more score points'
        else 'must be a whole number of days, 0 or more'
    end as problem
from settings
where
    (setting in ('low_confidence_coverage', 'gross_margin') and (value < 0 or value > 1))
    or (setting = 'clv_max_years' and value <= 0)
    or (setting = 'trend_threshold_points' and value < 0)
    or (setting = 'churn_horizon_days' and (value < 1 or value <> floor(value)))
    or (
        setting in (
            'history_warmup_days', 'payment_overdue_days', 'onboarding_days', 'override_valid_days'
        )
        and (value < 0 or value <> floor(value))
    )
