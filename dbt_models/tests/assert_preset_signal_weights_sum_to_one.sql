-- seeds/preset_weights.csv: the signal weights within every dimension of every preset must
-- sum to 1 (tolerance 1e-6). Returns the dimensions whose sum is off.

select
    preset,
    dimension,
    count(*) as signals,
    sum(signal_weight) as signal_weight_sum,
    'signal weights of dimension ' || dimension || ' of preset ' || preset || ' sum to '
    || cast(sum(signal_weight) as {{ dbt.type_string() }}) || ', not 1' as problem
from {{ ref('preset_weights') }}
group by preset, dimension
having abs(sum(signal_weight) - 1) > 1e-6
