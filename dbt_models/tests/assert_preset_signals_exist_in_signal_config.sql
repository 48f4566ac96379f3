-- seeds/preset_weights.csv: every signal a preset weights must be a signal of
-- seeds/signal_config.csv (else it would silently never get a score). Returns the
-- unknown signals.

select
    preset_weights.preset,
    preset_weights.dimension,
    preset_weights.signal,
    'signal ' || preset_weights.signal || ' of preset ' || preset_weights.preset
    || ' is not in signal_config' as problem
from {{ ref('preset_weights') }} as preset_weights
left join {{ ref('signal_config') }} as signal_config
    on preset_weights.signal = signal_config.signal
where signal_config.signal is null
