-- seeds/signal_config.csv: a signal with method bands is scored by looking its label up in
-- seeds/signal_bands.csv, so it must have rows there. Returns the bands signals without.

select
    signal_config.signal,
    signal_config.method,
    'bands signal ' || signal_config.signal || ' has no rows in signal_bands' as problem
from {{ ref('signal_config') }} as signal_config
left join {{ ref('signal_bands') }} as signal_bands
    on signal_config.signal = signal_bands.signal
where signal_config.method = 'bands'
    and signal_bands.signal is null
