-- seeds/preset_weights.csv: dimension_weight is repeated on every row of a dimension, so
-- all rows of a (preset, dimension) must carry the same value. Returns the dimensions
-- with more than one.

select
    preset,
    dimension,
    min(dimension_weight) as smallest_dimension_weight,
    max(dimension_weight) as largest_dimension_weight,
    'rows of dimension ' || dimension || ' of preset ' || preset
    || ' carry different dimension_weight values' as problem
from {{ ref('preset_weights') }}
group by preset, dimension
having count(distinct dimension_weight) > 1
