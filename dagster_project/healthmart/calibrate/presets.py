"""Presets (seeds/preset_weights.csv): read, weighted into a score, proposed and written."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from healthmart.calibrate.defaults import (
    CALIBRATED_PRESET,
    DEFAULT_HORIZON_DAYS,
    PRESET_COLUMNS,
    SEEDS_DIR,
    WEIGHT_PLACES,
    CalibrationError,
)


@dataclass(frozen=True)
class PresetRow:
    """One row of seeds/preset_weights.csv."""

    preset: str
    dimension: str
    dimension_weight: float
    signal: str
    signal_weight: float
    published_weight: str = ""


def read_presets(path: Path) -> list[PresetRow]:
    """The rows of a preset-weights CSV (seeds/preset_weights.csv)."""
    with path.open(newline="") as f:
        return [
            PresetRow(
                preset=r["preset"],
                dimension=r["dimension"],
                dimension_weight=float(r["dimension_weight"]),
                signal=r["signal"],
                signal_weight=float(r["signal_weight"]),
                published_weight=r.get("published_weight") or "",
            )
            for r in csv.DictReader(f)
        ]


def preset(rows: Iterable[PresetRow], name: str) -> list[PresetRow]:
    """The rows of one preset; an unknown name is an error naming the known ones."""
    rows = list(rows)
    chosen = [r for r in rows if r.preset == name]
    if not chosen:
        known = ", ".join(sorted({r.preset for r in rows}))
        raise CalibrationError(f"Unknown preset {name!r}; the seed has: {known}")
    return chosen


def configured_weights(rows: Iterable[PresetRow]) -> dict[str, float]:
    """Each signal's configured overall weight: dimension weight x signal weight."""
    return {r.signal: r.dimension_weight * r.signal_weight for r in rows}


def read_horizon_days(seeds_dir: Path = SEEDS_DIR) -> int:
    """churn_horizon_days of seeds/scoring_settings.csv (90 when the seed has no such row)."""
    path = seeds_dir / "scoring_settings.csv"
    if path.exists():
        with path.open(newline="") as f:
            for r in csv.DictReader(f):
                if r["setting"] == "churn_horizon_days":
                    return int(float(r["value"]))
    return DEFAULT_HORIZON_DAYS


def _rounded_shares(weights: Sequence[float]) -> list[Decimal]:
    """Weights (summing to about 1) rounded to 6 decimals; the largest absorbs the rounding
    so that they sum to exactly 1."""
    shares = [Decimal(repr(float(w))).quantize(WEIGHT_PLACES) for w in weights]
    largest = max(range(len(shares)), key=lambda i: shares[i])
    shares[largest] = Decimal(1) - (sum(shares) - shares[largest])
    return shares


def propose_preset(
    fitted: Mapping[str, float], base: Sequence[PresetRow], name: str = CALIBRATED_PRESET
) -> list[PresetRow]:
    """Map fitted signal weights into the dimensions of the base preset.

    Weights are normalised to sum to 1; a dimension's weight is the sum of its signals'
    weights and a signal's weight is its share within the dimension, both rounded to 6
    decimals and summing to exactly 1 at both levels. A signal fitted to 0 is dropped, unless
    its whole dimension was: that dimension keeps its signals (with the base preset's shares)
    and the smallest weight a seed can hold (0.000001), so that its `<dimension>_score`
    column survives and no renormalisation divides by zero.
    """
    total = sum(max(0.0, fitted.get(r.signal, 0.0)) for r in base)
    if total <= 0:
        raise CalibrationError("Every fitted weight is 0: no signal predicts churn.")
    weights = {r.signal: max(0.0, fitted.get(r.signal, 0.0)) / total for r in base}
    dimensions = list(dict.fromkeys(r.dimension for r in base))
    members = {d: [r for r in base if r.dimension == d] for d in dimensions}
    dimension_totals = [sum(weights[r.signal] for r in members[d]) for d in dimensions]
    dimension_shares = _rounded_shares(dimension_totals)
    floored = [d for d, s in zip(dimensions, dimension_shares, strict=True) if s <= 0]
    if floored:
        # take the floor from the largest dimension, so that the sum stays exactly 1
        largest = max(range(len(dimensions)), key=lambda i: dimension_shares[i])
        for i, d in enumerate(dimensions):
            if d in floored:
                dimension_shares[i] = WEIGHT_PLACES
                dimension_shares[largest] -= WEIGHT_PLACES

    proposal: list[PresetRow] = []
    for d, d_total, d_share in zip(dimensions, dimension_totals, dimension_shares, strict=True):
        signals = members[d]
        if d in floored or d_total <= 0:
            kept = signals
            shares = _rounded_shares([r.signal_weight for r in signals])
        else:
            within = [weights[r.signal] / d_total for r in signals]
            rounded = [Decimal(repr(w)).quantize(WEIGHT_PLACES) for w in within]
            kept = [r for r, q in zip(signals, rounded, strict=True) if q > 0]
            shares = _rounded_shares([w for w, q in zip(within, rounded, strict=True) if q > 0])
        for r, share in zip(kept, shares, strict=True):
            proposal.append(PresetRow(name, d, float(d_share), r.signal, float(share), ""))
    return proposal


def _weight_text(value: float) -> str:
    text = f"{Decimal(repr(value)).quantize(WEIGHT_PLACES)}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def write_preset(rows: Sequence[PresetRow], path: Path) -> Path:
    """Write preset rows with the columns of seeds/preset_weights.csv."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(PRESET_COLUMNS)
        for r in rows:
            writer.writerow(
                [
                    r.preset,
                    r.dimension,
                    _weight_text(r.dimension_weight),
                    r.signal,
                    _weight_text(r.signal_weight),
                    r.published_weight,
                ]
            )
    return path


def weighted_score(rows: Sequence[PresetRow], scores: Mapping[str, np.ndarray]) -> np.ndarray:
    """The overall score of a preset, as int_health_scores__weighted computes score__<preset>.

    `scores[signal]` is the signal score (0-100) after the missing policy, NaN where the signal
    has no score. Within a dimension the signal weights are renormalised over the signals with
    a score, then the dimension weights over the dimensions with a score; no score at all
    gives NaN. A signal of the preset absent from `scores` counts as missing everywhere.
    """
    n = len(next(iter(scores.values())))
    dimensions = list(dict.fromkeys(r.dimension for r in rows))
    total = np.zeros(n)
    total_weight = np.zeros(n)
    for d in dimensions:
        d_sum = np.zeros(n)
        d_weight = np.zeros(n)
        dimension_weight = 0.0
        for r in rows:
            if r.dimension != d:
                continue
            dimension_weight = r.dimension_weight
            s = scores.get(r.signal)
            if s is None:
                continue
            present = ~np.isnan(s)
            d_sum += np.where(present, r.signal_weight * s, 0.0)
            d_weight += np.where(present, r.signal_weight, 0.0)
        has_dimension = d_weight > 0
        d_score = np.divide(d_sum, d_weight, out=np.zeros(n), where=has_dimension)
        total += np.where(has_dimension, dimension_weight * d_score, 0.0)
        total_weight += np.where(has_dimension, dimension_weight, 0.0)
    out = np.full(n, np.nan)
    np.divide(total, total_weight, out=out, where=total_weight > 0)
    return out
