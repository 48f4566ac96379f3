-- seeds/preset_weights.csv: the dimension weights of every preset must sum to 1 (each
-- dimension counted once, tolerance 1e-6). Returns the presets whose sum is off.

with

dimensions as (
    select
        preset,
        dimension,
        max(dimension_weight) as dimension_weight
    from {{ ref('preset_weights') }}
    group by preset, dimension
),

presets as (
    select
        preset,
        sum(dimension_weight) as dimension_weight_sum,
        count(*) as dimensions
    from dimensions
    group by preset
)

select
    preset,
    dimensions,
    dimension_weight_sum,
    'dimension weights of preset ' || preset || ' sum to '
    || cast(dimension_weight_sum as {{ dbt.type_string() }}) || ', not 1' as problem
from presets
where abs(dimension_weight_sum - 1) > 1e-6
