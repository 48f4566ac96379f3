"""The calibration: the fitted weights, the held-out comparison of the presets, the reference
model and the single-signal AUCs."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from healthmart.calibrate.defaults import (
    CALIBRATED_PRESET,
    DEFAULT_L2,
    DEFAULT_TRAIN_EVERY_DAYS,
    NEUTRAL_SCORE,
    SEEDS_DIR,
    CalibrationError,
)
from healthmart.calibrate.fit import (
    bootstrap_auc_difference,
    choose_gbm,
    churn_auc,
    filled,
    fit_gbm,
    fit_weights,
    gbm_matrix,
)
from healthmart.calibrate.observations import (
    Observations,
    load_observations,
    observable_span,
    preset_names,
    signal_names,
    time_split,
)
from healthmart.calibrate.presets import (
    PresetRow,
    configured_weights,
    preset,
    propose_preset,
    read_horizon_days,
    read_presets,
    weighted_score,
)


@dataclass
class Calibration:
    """Everything comparison.md and comparison.json report."""

    warehouse_path: str
    base_preset: str
    horizon_days: int
    train_share: float
    seed: int
    l2: float
    split: dict[str, object]
    rows: dict[str, dict[str, float | int]]
    auc: list[dict[str, object]]
    signals: list[dict[str, object]]
    weights: list[dict[str, object]]
    dimensions: list[dict[str, object]]
    best_signal: dict[str, object]
    difference_interval: list[float]
    check: dict[str, object]
    gbm: dict[str, object] = field(default_factory=dict)
    fitted_weights: dict[str, float] = field(default_factory=dict)
    intercept: float = 0.0
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(_json_safe(asdict(self)), indent=2, default=str)


def _json_safe(value: object) -> object:
    """NaN (an AUC with one class only) becomes null: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _period(obs: Observations) -> dict[str, float | int]:
    return {
        "account_days": int(obs.churned.size),
        "accounts": int(np.unique(obs.account).size),
        "churned_account_days": int(obs.churned.sum()),
        "churned_accounts": int(np.unique(obs.account[obs.churned == 1]).size),
        "churn_rate": float(obs.churned.mean()) if obs.churned.size else math.nan,
    }


def single_signal_aucs(
    test: Observations, signals: Sequence[str], base_signals: Sequence[str]
) -> list[dict[str, object]]:
    """Every signal alone on the test rows: where it has data, and on all rows with a
    missing score at 50."""
    return [
        {
            "signal": s,
            "in_base_preset": s in base_signals,
            "test_coverage": float(test.has_data[s].mean()),
            "test_auc_where_data": churn_auc(
                np.where(test.has_data[s], test.scores[s], np.nan), test.churned
            ),
            "test_auc_all_rows": churn_auc(
                np.nan_to_num(test.scores[s], nan=NEUTRAL_SCORE), test.churned
            ),
        }
        for s in signals
    ]


def weight_changes(
    base: Sequence[PresetRow], proposal: Sequence[PresetRow], fitted: Mapping[str, float]
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Current vs proposed weights: per signal (overall weight) and per dimension."""
    current, proposed = configured_weights(base), configured_weights(proposal)
    signals = [
        {
            "dimension": r.dimension,
            "signal": r.signal,
            "current": current[r.signal],
            "proposed": proposed.get(r.signal, 0.0),
            "change": proposed.get(r.signal, 0.0) - current[r.signal],
            "coefficient": fitted.get(r.signal, 0.0),
        }
        for r in base
    ]
    dimensions = []
    for d in dict.fromkeys(r.dimension for r in base):
        cur = next(r.dimension_weight for r in base if r.dimension == d)
        new = next((r.dimension_weight for r in proposal if r.dimension == d), 0.0)
        dimensions.append({"dimension": d, "current": cur, "proposed": new, "change": new - cur})
    return signals, dimensions


def calibrate(
    warehouse_path: Path,
    base_preset: str = "hbr",
    horizon_days: int | None = None,
    train_share: float = 0.7,
    seed: int = 42,
    seeds_dir: Path = SEEDS_DIR,
    train_every_days: int = DEFAULT_TRAIN_EVERY_DAYS,
    l2: float = DEFAULT_L2,
    memory_limit: str | None = None,
) -> tuple[Calibration, list[PresetRow]]:
    """Fit the calibrated preset on the training period and measure it on the test period."""
    started = time.monotonic()
    horizon = read_horizon_days(seeds_dir) if horizon_days is None else int(horizon_days)
    presets_seed = read_presets(seeds_dir / "preset_weights.csv")
    base = preset(presets_seed, base_preset)
    base_signals = [r.signal for r in base]

    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        if memory_limit:
            con.execute(f"set memory_limit = '{memory_limit}'")
        first, last = observable_span(con, horizon)
        split = time_split(first, last, horizon, train_share, train_every_days)
        signals = signal_names(con)
        presets = preset_names(con)
        obs = load_observations(con, signals, presets, split)
    finally:
        con.close()

    # a signal of the base preset without any row in the warehouse is missing everywhere
    for s in base_signals:
        if s not in obs.scores:
            obs.scores[s] = np.full(obs.churned.size, np.nan, dtype=np.float32)
            obs.has_data[s] = np.zeros(obs.churned.size, dtype=bool)
    train, test = obs.rows(~obs.is_test), obs.rows(obs.is_test)
    for name, part in (("training", train), ("test", test)):
        if part.churned.size == 0 or part.churned.min() == part.churned.max():
            raise CalibrationError(
                f"The {name} period has no churned or no retained account-days: "
                "the history cannot calibrate the score."
            )

    weights, intercept = fit_weights(filled(train.scores, base_signals), train.churned, l2)
    fitted = dict(zip(base_signals, map(float, weights), strict=True))
    proposal = propose_preset(fitted, base)

    def health_of(part: Observations) -> dict[str, np.ndarray]:
        health = {
            f"{p} (current)": np.nan_to_num(part.preset_scores[p], nan=NEUTRAL_SCORE)
            for p in presets
        }
        health[f"{CALIBRATED_PRESET} (proposed)"] = np.nan_to_num(
            weighted_score(proposal, part.scores), nan=NEUTRAL_SCORE
        )
        health["fitted linear score (missing = 50)"] = filled(part.scores, base_signals) @ weights
        return health

    train_health, test_health = health_of(train), health_of(test)
    all_signals = list(dict.fromkeys([*base_signals, *signals]))
    gbm_sets = {f"gradient boosting ({len(base_signals)} {base_preset} signals)": base_signals}
    if set(all_signals) != set(base_signals):
        gbm_sets[f"gradient boosting (all {len(all_signals)} signals)"] = all_signals
    # the reference model: its configuration chosen on the base preset's signals, reused
    configuration, cv_auc = choose_gbm(
        gbm_matrix(train, base_signals), train.churned, train.account, seed
    )
    gbm_choice: dict[str, object] = {"configuration": configuration, "cv_auc": cv_auc}
    for label, columns in gbm_sets.items():
        model = fit_gbm(gbm_matrix(train, columns), train.churned, configuration, seed)
        # the churn probability is a risk: its negation is on the health direction
        train_health[label] = -model.predict_proba(gbm_matrix(train, columns))[:, 1]
        test_health[label] = -model.predict_proba(gbm_matrix(test, columns))[:, 1]

    kinds = {"(current)": "current preset", "(proposed)": "proposal", "gradient": "reference"}
    auc = [
        {
            "score": label,
            "kind": next((v for k, v in kinds.items() if k in label), "reference"),
            "train_auc": churn_auc(train_health[label], train.churned),
            "test_auc": churn_auc(test_health[label], test.churned),
        }
        for label in test_health
    ]

    signal_rows = single_signal_aucs(test, all_signals, base_signals)
    ranked = [r for r in signal_rows if not math.isnan(r["test_auc_all_rows"])]
    best = max(ranked, key=lambda r: r["test_auc_all_rows"]) if ranked else {}
    weight_rows, dimension_rows = weight_changes(base, proposal, fitted)

    base_label = f"{base_preset} (current)"
    calibrated_label = f"{CALIBRATED_PRESET} (proposed)"
    interval = bootstrap_auc_difference(
        test_health[calibrated_label],
        test_health[base_label],
        test.churned,
        test.account,
        seed=seed,
    )
    recomputed = weighted_score(base, test.scores)
    stored = test.preset_scores.get(base_preset, np.full(test.churned.size, np.nan))
    both = ~np.isnan(recomputed) & ~np.isnan(stored)
    check = {
        "description": (
            f"{base_preset} recomputed in numpy from the seed vs computed_score in the "
            "warehouse (rounded to 2 decimals there), test rows"
        ),
        "rows_compared": int(both.sum()),
        "max_abs_difference": float(np.max(np.abs(recomputed[both] - stored[both])))
        if both.any()
        else math.nan,
    }

    result = Calibration(
        warehouse_path=str(warehouse_path),
        base_preset=base_preset,
        horizon_days=horizon,
        train_share=train_share,
        seed=seed,
        l2=l2,
        split={
            "first_date": split.first_date,
            "train_end": split.train_end,
            "test_start": split.test_start,
            "last_date": split.last_date,
            "gap_days": split.gap_days,
            "train_every_days": split.train_every_days,
        },
        rows={"train": _period(train), "test": _period(test)},
        auc=auc,
        signals=signal_rows,
        weights=weight_rows,
        dimensions=dimension_rows,
        best_signal=best,
        difference_interval=list(interval),
        check=check,
        gbm=gbm_choice,
        fitted_weights=fitted,
        intercept=intercept,
    )
    result.seconds = time.monotonic() - started
    return result, proposal
