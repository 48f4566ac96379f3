"""Arrow helpers: numpy arrays to the Arrow columns of the export tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from healthmart.core.contract import SOURCES
from healthmart.generate.catalogue import SECONDS_PER_DAY


def dates_array(epoch_days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(epoch_days, dtype=np.int32), mask=mask).cast(pa.date32())


def timestamps(seconds: np.ndarray, mask: np.ndarray | None = None, zone: bool = True) -> pa.Array:
    secs = np.where(mask, 0, seconds) if mask is not None else seconds
    text = np.datetime_as_string(
        np.asarray(secs, dtype=np.int64).astype("datetime64[s]"),
        unit="s",
        timezone="UTC" if zone else "naive",
    )
    return pa.array(text, mask=mask, type=pa.string())


def labels(values: tuple[str, ...], codes: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    idx = pa.array(np.asarray(codes, dtype=np.int32), mask=mask)
    return pa.array(values, type=pa.string()).take(idx)


def doubles(x: np.ndarray, decimals: int, mask: np.ndarray | None = None) -> pa.Array:
    vals = np.round(np.asarray(x, dtype=np.float64), decimals)
    nan = np.isnan(vals)
    mask = nan if mask is None else (mask | nan)
    return pa.array(np.where(mask, 0.0, vals), mask=mask, type=pa.float64())


def contract_table(source: str, cols: dict[str, pa.Array]) -> pa.Table:
    names = SOURCES[source].column_names
    assert tuple(cols) == names, (source, tuple(cols), names)
    return pa.table(cols)


def seconds_in_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mostly business hours, some around the clock."""
    office = rng.uniform(8 * 3600, 18 * 3600, n)
    anytime = rng.uniform(0, SECONDS_PER_DAY, n)
    return np.where(rng.random(n) < 0.85, office, anytime).astype(np.int64) // 60 * 60
