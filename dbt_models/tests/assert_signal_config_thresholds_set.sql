-- seeds/signal_config.csv: a threshold or trend signal is scored linearly from
-- at_risk_value (0) to healthy_value (100), so both must be set and differ (equal values
-- would divide by zero). Returns the signals that break it.

select
    signal,
    method,
    at_risk_value,
    healthy_value,
    case
        when at_risk_value is null and healthy_value is null then 'at_risk_value and healthy_value are empty'
        when at_risk_value is null then 'at_risk_value is empty'
        when healthy_value is null then 'healthy_value is empty'
        else 'at_risk_value equals healthy_value'
    end as problem
from {{ ref('signal_config') }}
where method in ('threshold', 'trend')
    and (
        at_risk_value is null
        or healthy_value is null
        or at_risk_value = healthy_value
    )
