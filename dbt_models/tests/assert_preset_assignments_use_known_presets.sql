-- seeds/preset_assignments.csv: every assigned preset is 'default' or a preset of
-- preset_weights. Returns the offending rows.

with

assignments as (
    select * from {{ ref('preset_assignments') }}
),

presets as (
    select distinct preset from {{ ref('preset_weights') }}
)

select
    assignments.lifecycle_stage,
    assignments.segment,
    assignments.preset,
    'preset is neither default nor a preset of preset_weights' as problem
from assignments
left join presets
    on assignments.preset = presets.preset
where assignments.preset <> 'default'
    and presets.preset is null
