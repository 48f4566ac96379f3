{{ config(severity='warn') }}
-- A signal that carries weight in the run's preset and predicted churn the wrong way round in
-- the backtest (a higher signal score came before more churn, with 95 % confidence): the
-- weight pulls the health score away from churn. A warning, not an error: the scores are
-- still what the config says, but the config should change (see docs/calibration.md).

select
    signal,
    preset,
    preset_weight,
    auc,
    auc_low,
    auc_high,
    'signal ' || signal || ' carries ' || cast(round(100 * preset_weight, 1) as {{ dbt.type_string() }})
    || ' % of the weight of preset ' || preset || ' but is inverted in the backtest: AUC '
    || cast(round(auc, 3) as {{ dbt.type_string() }}) || ' (95 % interval '
    || cast(round(auc_low, 3) as {{ dbt.type_string() }}) || ' - '
    || cast(round(auc_high, 3) as {{ dbt.type_string() }}) || ')' as problem
from {{ ref('fct_backtest_signals') }}
where verdict = 'inverted'
    and preset_weight > 0
