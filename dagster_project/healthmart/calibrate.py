"""Calibration: fit the signal weights of a preset to the churn history and compare.

`healthmart calibrate` reads the working warehouse (read-only), labels every account-day
whose churn horizon lies inside the data (churned within H days after the scoring date or
not), splits the scoring dates in time (train on the earlier ones, test on the later ones,
with a gap of H days between them so that no training label reaches into the test period),
fits a logistic regression of churn on the signal scores with non-negative weights on the
health direction, and writes

- `proposed_preset.csv`: the fitted weights as a preset named `calibrated`, in the format of
  `seeds/preset_weights.csv` and in the dimensions of the base preset;
- `comparison.md` / `comparison.json`: held-out ROC AUC of every current preset, of the
  calibrated preset, of a gradient-boosted model on the same signals (the practical ceiling)
  and of every single signal, and the weight changes.

Nothing changes in the pipeline until a user adopts the proposal (docs/calibration.md).
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
from scipy.optimize import minimize
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from healthmart.core.settings import PROJECT_ROOT

SEEDS_DIR = PROJECT_ROOT / "seeds"
DEFAULT_OUT_DIR = Path("reports/calibration")
CALIBRATED_PRESET = "calibrated"
PRESET_COLUMNS = (
    "preset",
    "dimension",
    "dimension_weight",
    "signal",
    "signal_weight",
    "published_weight",
)
DEFAULT_HORIZON_DAYS = 90
# Consecutive scoring dates of an account are near duplicates: the fit uses every 7th date.
DEFAULT_TRAIN_EVERY_DAYS = 7
# L2 penalty on the weights of scores scaled to 0-1 (mean log-loss + l2 / 2 * |w|^2).
DEFAULT_L2 = 1e-3
NEUTRAL_SCORE = 50.0
BOOTSTRAP_REPLICATES = 200
WEIGHT_PLACES = Decimal("0.000001")
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class CalibrationError(RuntimeError):
    """The history cannot support a calibration (too short, no churn, nothing predictive)."""


# --- presets -----------------------------------------------------------------------------


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


# --- the time split and the observations -------------------------------------------------


@dataclass(frozen=True)
class TimeSplit:
    """Scoring dates used: train first_date..train_end (every train_every_days-th date),
    test test_start..last_date; test_start - train_end >= horizon_days."""

    first_date: date
    train_end: date
    test_start: date
    last_date: date
    horizon_days: int
    train_every_days: int

    @property
    def gap_days(self) -> int:
        return (self.test_start - self.train_end).days


def time_split(
    first_date: date,
    last_date: date,
    horizon_days: int,
    train_share: float = 0.7,
    train_every_days: int = DEFAULT_TRAIN_EVERY_DAYS,
) -> TimeSplit:
    """Split the observable scoring dates first_date..last_date (whose horizon lies inside the
    data) at train_share of the span: the test period starts there, the training period ends
    horizon_days before it, so a training label (churn in [date, date + H)) never reaches
    into the test period."""
    if not 0 < train_share < 1:
        raise CalibrationError(f"train share must be between 0 and 1, got {train_share}")
    if horizon_days < 1 or train_every_days < 1:
        raise CalibrationError("horizon and training stride must be at least 1 day")
    span = (last_date - first_date).days
    test_start = first_date + timedelta(days=round(train_share * span))
    train_end = test_start - timedelta(days=horizon_days)
    if span < 1 or train_end < first_date or test_start > last_date:
        raise CalibrationError(
            f"The observable scoring dates {first_date} .. {last_date} are too short for a "
            f"time split with a {horizon_days}-day horizon and gap (train share {train_share})."
        )
    return TimeSplit(first_date, train_end, test_start, last_date, horizon_days, train_every_days)


@dataclass
class Observations:
    """Account-days of the split, one row each: the label, the signal scores, the presets."""

    is_test: np.ndarray  # bool
    day: np.ndarray  # int32, days since split.first_date
    account: np.ndarray  # int32 code of the account
    churned: np.ndarray  # int8: churned within the horizon after the scoring date
    scores: dict[str, np.ndarray]  # signal score after the missing policy, NaN = no score
    has_data: dict[str, np.ndarray]  # bool
    preset_scores: dict[str, np.ndarray]  # overall score of every preset in the warehouse

    def rows(self, mask: np.ndarray) -> Observations:
        return Observations(
            is_test=self.is_test[mask],
            day=self.day[mask],
            account=self.account[mask],
            churned=self.churned[mask],
            scores={k: v[mask] for k, v in self.scores.items()},
            has_data={k: v[mask] for k, v in self.has_data.items()},
            preset_scores={k: v[mask] for k, v in self.preset_scores.items()},
        )


def _identifier(name: str) -> str:
    if not _NAME.match(name):
        raise CalibrationError(f"Unexpected signal or preset name {name!r}")
    return name


# The whole history, one row per account-day: every signal's score (signal_score__<signal>,
# has_data__<signal>: the mart, as published; int_signal_scores__normalised holds a run's
# dates only) and every preset's overall score (score__<preset>). The signals and presets are
# the columns' names.
SIGNAL_SCORES_TABLE = ("marts", "fct_signal_scores_wide")
PRESET_SCORES_TABLE = ("intermediate", "int_health_scores__weighted")
SIGNAL_SCORE_PREFIX = "signal_score__"
PRESET_SCORE_PREFIX = "score__"


def _table(schema_and_name: tuple[str, str]) -> str:
    return ".".join(schema_and_name)


def observable_span(con: duckdb.DuckDBPyConnection, horizon_days: int) -> tuple[date, date]:
    """First and last scoring date whose full horizon lies inside the data
    (score_date + H - 1 <= last_activity_date)."""
    signal_scores = _table(SIGNAL_SCORES_TABLE)
    first, last_scored, last_activity = con.execute(
        f"""
        select
            (select min(score_date) from {signal_scores}),
            (select max(score_date) from {signal_scores}),
            (select max(last_activity_date) from intermediate.int_exports__date_bounds)
        """
    ).fetchone()
    if first is None or last_activity is None:
        raise CalibrationError("The warehouse has no signal scores: run `make run` first.")
    last = min(last_scored, last_activity - timedelta(days=horizon_days - 1))
    if last < first:
        raise CalibrationError(
            f"No scoring date has a full {horizon_days}-day horizon inside the data "
            f"(scores {first} .. {last_scored}, last activity {last_activity})."
        )
    return first, last


def column_names(con: duckdb.DuckDBPyConnection, table: tuple[str, str], prefix: str) -> list[str]:
    """The names after `prefix` of the columns of a wide table that start with it, sorted:
    the signals of signal_score__<signal>, the presets of score__<preset>."""
    rows = con.execute(
        """
        select column_name
        from information_schema.columns
        where table_schema = ? and table_name = ? and starts_with(column_name, ?)
        """,
        [*table, prefix],
    ).fetchall()
    return sorted(_identifier(name.removeprefix(prefix)) for (name,) in rows)


def signal_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every signal scored in the warehouse (a signal_score__<signal> column)."""
    return column_names(con, SIGNAL_SCORES_TABLE, SIGNAL_SCORE_PREFIX)


def preset_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every preset scored in the warehouse (a score__<preset> column)."""
    return column_names(con, PRESET_SCORES_TABLE, PRESET_SCORE_PREFIX)


def observation_sql(signals: Sequence[str], presets: Sequence[str], split: TimeSplit) -> str:
    """One query: the account-days of the split with their signals' scores, the presets'
    scores and the churn label beside them (the account also as a number, the code numpy
    keeps)."""
    first, train_end = split.first_date.isoformat(), split.train_end.isoformat()
    test_start, last = split.test_start.isoformat(), split.last_date.isoformat()
    in_split = f"""(
            (score_date between date '{first}' and date '{train_end}'
                and date_diff('day', date '{first}', score_date) % {split.train_every_days} = 0)
            or score_date between date '{test_start}' and date '{last}'
        )"""
    signal_columns = "".join(
        f',\n        {SIGNAL_SCORE_PREFIX}{s} as "score__{s}",'
        f'\n        coalesce(has_data__{s}, false) as "has_data__{s}"'
        for s in map(_identifier, signals)
    )
    preset_columns = "".join(
        f',\n        {PRESET_SCORE_PREFIX}{p} as "preset__{p}"' for p in map(_identifier, presets)
    )
    return f"""
with

wide_signals as (
    select
        account_id,
        score_date{signal_columns}
    from {_table(SIGNAL_SCORES_TABLE)}
    where {in_split}
),

wide_presets as (
    select
        account_id,
        score_date{preset_columns}
    from {_table(PRESET_SCORES_TABLE)}
    where {in_split}
),

churn_spells as (
    select account_id, churned_on from intermediate.int_accounts__churn_spells
),

churned as (
    select distinct wide_signals.account_id, wide_signals.score_date
    from wide_signals
    inner join churn_spells
        on wide_signals.account_id = churn_spells.account_id
        and churn_spells.churned_on >= wide_signals.score_date
        and churn_spells.churned_on < wide_signals.score_date + {split.horizon_days}
)

select
    wide_signals.account_id,
    wide_signals.score_date >= date '{test_start}' as is_test,
    cast(date_diff('day', date '{first}', wide_signals.score_date) as integer) as day,
    cast(dense_rank() over (order by wide_signals.account_id) as integer) as account,
    cast(case when churned.account_id is null then 0 else 1 end as tinyint) as churned,
    wide_signals.* exclude (account_id, score_date),
    wide_presets.* exclude (account_id, score_date)
from wide_signals
left join wide_presets
    on wide_signals.account_id = wide_presets.account_id
    and wide_signals.score_date = wide_presets.score_date
left join churned
    on wide_signals.account_id = churned.account_id
    and wide_signals.score_date = churned.score_date
order by wide_signals.score_date, wide_signals.account_id
"""


def _floats(column: np.ndarray) -> np.ndarray:
    return np.ma.filled(np.ma.asarray(column).astype(np.float32), np.nan)


def load_observations(
    con: duckdb.DuckDBPyConnection,
    signals: Sequence[str],
    presets: Sequence[str],
    split: TimeSplit,
) -> Observations:
    """Run the observation query and pull its columns into numpy (float32 scores)."""
    query = observation_sql(signals, presets, split)
    data = con.execute(f"select * exclude (account_id) from ({query})").fetchnumpy()
    return Observations(
        is_test=np.ma.filled(np.ma.asarray(data["is_test"]), False).astype(bool),
        day=np.asarray(data["day"], dtype=np.int32),
        account=np.asarray(data["account"], dtype=np.int32),
        churned=np.asarray(data["churned"], dtype=np.int8),
        scores={s: _floats(data[f"score__{s}"]) for s in signals},
        has_data={
            s: np.ma.filled(np.ma.asarray(data[f"has_data__{s}"]), False).astype(bool)
            for s in signals
        },
        preset_scores={p: _floats(data[f"preset__{p}"]) for p in presets},
    )


# --- the fit and the measures ------------------------------------------------------------


def churn_auc(health: np.ndarray, churned: np.ndarray) -> float:
    """ROC AUC of a health score as a churn predictor: the probability that a churned
    account-day has a lower health than one that did not churn (ties count half).
    Rows without a score (NaN) are left out; NaN when only one class remains."""
    health = np.asarray(health, dtype=np.float64)
    churned = np.asarray(churned)
    keep = ~np.isnan(health)
    y = churned[keep]
    if y.size == 0 or y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, -health[keep]))


def _weighted_auc(order: np.ndarray, groups: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """AUC of a fixed ranking (rows sorted by risk, tie groups) under row weights w."""
    pos = np.bincount(groups, weights=(w * y)[order])
    neg = np.bincount(groups, weights=(w * (1 - y))[order])
    below = np.cumsum(neg) - neg
    denominator = pos.sum() * neg.sum()
    return float((pos * (below + 0.5 * neg)).sum() / denominator) if denominator else math.nan


def bootstrap_auc_difference(
    health_a: np.ndarray,
    health_b: np.ndarray,
    churned: np.ndarray,
    account: np.ndarray,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = 42,
) -> tuple[float, float]:
    """95 % interval of AUC(a) - AUC(b) when the accounts are resampled with replacement
    (an account's days move together: they are not independent observations)."""
    y = np.asarray(churned, dtype=np.float64)
    rankings = []
    for health in (health_a, health_b):
        risk = -np.nan_to_num(np.asarray(health, dtype=np.float64), nan=NEUTRAL_SCORE)
        order = np.argsort(risk, kind="stable")
        _, groups = np.unique(risk[order], return_inverse=True)
        rankings.append((order, groups))
    codes, index = np.unique(account, return_inverse=True)
    rng = np.random.default_rng(seed)
    differences = []
    for _ in range(replicates):
        counts = rng.multinomial(len(codes), np.full(len(codes), 1.0 / len(codes)))
        w = counts[index].astype(np.float64)
        a, b = (_weighted_auc(o, g, y, w) for o, g in rankings)
        differences.append(a - b)
    low, high = np.nanpercentile(differences, [2.5, 97.5])
    return float(low), float(high)


def fit_weights(
    features: np.ndarray, churned: np.ndarray, l2: float = DEFAULT_L2
) -> tuple[np.ndarray, float]:
    """Logistic regression of churn on signal scores (0-100, no NaN) with non-negative
    weights on the health direction: logit P(churn) = b - sum_s w_s * score_s / 100, w >= 0,
    minimising the mean log-loss + l2 / 2 * |w|^2 (L-BFGS-B with bounds). Returns (w, b)."""
    x = np.asarray(features, dtype=np.float64) / 100.0
    y = np.asarray(churned, dtype=np.float64)
    n, k = x.shape

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:k], params[k]
        z = b - x @ w
        value = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * w @ w
        residual = 1.0 / (1.0 + np.exp(-z)) - y
        gradient = np.empty(k + 1)
        gradient[:k] = -(x.T @ residual) / n + l2 * w
        gradient[k] = residual.mean()
        return float(value), gradient

    rate = min(max(y.mean(), 1e-6), 1 - 1e-6)
    start = np.zeros(k + 1)
    start[k] = math.log(rate / (1 - rate))
    result = minimize(
        loss,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None)] * k + [(None, None)],
        options={"maxiter": 1000},
    )
    weights = np.where(result.x[:k] > 1e-9, result.x[:k], 0.0)
    return weights, float(result.x[k])


def filled(scores: Mapping[str, np.ndarray], signals: Sequence[str]) -> np.ndarray:
    """Signal scores as a matrix, a missing score (excluded signal) set to 50."""
    return np.column_stack(
        [np.nan_to_num(scores[s].astype(np.float64), nan=NEUTRAL_SCORE) for s in signals]
    )


def gbm_matrix(obs: Observations, signals: Sequence[str]) -> np.ndarray:
    """Signal scores as a matrix, NaN wherever the signal has no data (any missing policy)."""
    return np.column_stack(
        [np.where(obs.has_data[s], obs.scores[s], np.nan).astype(np.float32) for s in signals]
    )


# Candidate configurations of the reference model: name -> (parameters, minimum leaf size as
# a share of the training rows). Leaves must hold many accounts: an account contributes dozens
# of near-identical rows, and small leaves memorise accounts rather than learn churn.
GBM_CANDIDATES: dict[str, tuple[dict[str, int], float]] = {
    "depth 2, 100 trees": ({"max_depth": 2, "max_iter": 100}, 0.02),
    "depth 3, 100 trees": ({"max_depth": 3, "max_iter": 100}, 0.01),
}


def fit_gbm(
    x: np.ndarray, y: np.ndarray, configuration: str, seed: int
) -> HistGradientBoostingClassifier:
    """Gradient-boosted trees of a GBM_CANDIDATES configuration, without early stopping (a
    random validation split of an account's near-duplicate days would leak)."""
    parameters, leaf_share = GBM_CANDIDATES[configuration]
    model = HistGradientBoostingClassifier(
        learning_rate=0.1,
        l2_regularization=1.0,
        min_samples_leaf=max(20, int(leaf_share * y.size)),
        early_stopping=False,
        random_state=seed,
        **parameters,
    )
    return model.fit(x, y)


def choose_gbm(x: np.ndarray, y: np.ndarray, account: np.ndarray, seed: int) -> tuple[str, float]:
    """The configuration of the reference model with the best AUC in 3-fold cross-validation
    grouped by account on the training rows (the test period is never looked at)."""
    if len(GBM_CANDIDATES) == 1:
        return next(iter(GBM_CANDIDATES)), math.nan
    folds = list(GroupKFold(n_splits=3).split(x, y, account))
    results = {}
    for configuration in GBM_CANDIDATES:
        aucs = []
        for fit_rows, check_rows in folds:
            model = fit_gbm(x[fit_rows], y[fit_rows], configuration, seed)
            aucs.append(churn_auc(-model.predict_proba(x[check_rows])[:, 1], y[check_rows]))
        results[configuration] = float(np.nanmean(aucs))
    best = max(results, key=lambda c: results[c])
    return best, results[best]


# --- the calibration ---------------------------------------------------------------------


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


# --- the report --------------------------------------------------------------------------


def _auc_text(value: object) -> str:
    return (
        "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"
    )


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def render_markdown(c: Calibration) -> str:
    """comparison.md: the split, the AUC table, the weights, the references and a reading."""
    s, train, test = c.split, c.rows["train"], c.rows["test"]
    by_label = {a["score"]: a for a in c.auc}
    base = by_label[f"{c.base_preset} (current)"]
    calibrated = by_label[f"{CALIBRATED_PRESET} (proposed)"]
    gbm = [a for a in c.auc if a["score"].startswith("gradient boosting")]
    ceiling = gbm[0] if gbm else None
    lines = [
        f"# Calibration of the `{c.base_preset}` preset against churn",
        "",
        f"Warehouse `{c.warehouse_path}`; label: churned within **{c.horizon_days} days** "
        "after the scoring date. Proposal: `proposed_preset.csv` (preset `calibrated`), "
        "not adopted — see docs/calibration.md.",
        "",
        "## Split in time",
        "",
        "| period | scoring dates | account-days | accounts | churned account-days | "
        "churned accounts | churn rate |",
        "|---|---|---:|---:|---:|---:|---:|",
        f"| train | {s['first_date']} .. {s['train_end']}, every {s['train_every_days']}th date "
        f"| {train['account_days']:,} | {train['accounts']:,} | "
        f"{train['churned_account_days']:,} | {train['churned_accounts']:,} | "
        f"{_pct(train['churn_rate'])} |",
        f"| test | {s['test_start']} .. {s['last_date']}, every date | "
        f"{test['account_days']:,} | {test['accounts']:,} | {test['churned_account_days']:,} | "
        f"{test['churned_accounts']:,} | {_pct(test['churn_rate'])} |",
        "",
        f"The {s['gap_days']} days between the end of training and the start of the test are "
        "left out, so no training label (churn in the horizon after its date) falls in the "
        f"test period. Training uses every {s['train_every_days']}th scoring date: an "
        "account's consecutive days are near duplicates.",
        "",
        "## ROC AUC (does a lower score mean churn?)",
        "",
        "| score | kind | train AUC | test AUC (held out) |",
        "|---|---|---:|---:|",
    ]
    lines += [
        f"| {a['score']} | {a['kind']} | {_auc_text(a['train_auc'])} | "
        f"**{_auc_text(a['test_auc'])}** |"
        for a in c.auc
    ]
    low, high = c.difference_interval
    lines += [
        "",
        f"Calibrated minus {c.base_preset} on the test period: "
        f"{calibrated['test_auc'] - base['test_auc']:+.3f} (95 % interval over resampled "
        f"accounts {low:+.3f} .. {high:+.3f}). 0.5 is a coin toss, 1.0 a perfect ranking. "
        "Account-days without any score count as 50. The fitted linear score is the "
        "regression itself, missing signals at 50; the calibrated preset renormalises over "
        "the signals present, as the pipeline does.",
        "",
        "## Weights: current vs proposed",
        "",
        "| dimension | current | proposed | change (points) |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {d['dimension']} | {_pct(d['current'])} | {_pct(d['proposed'])} | "
        f"{_points(d['change'])} |"
        for d in c.dimensions
    ]
    lines += [
        "",
        "Overall weight of each signal (dimension weight x signal weight); the coefficient is "
        "the fitted log-odds decrease of churn per 100 points of the signal.",
        "",
        "| dimension | signal | current | proposed | change (points) | coefficient |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {w['dimension']} | {w['signal']} | {_pct(w['current'])} | {_pct(w['proposed'])} | "
        f"{_points(w['change'])} | {w['coefficient']:.3f} |"
        for w in c.weights
    ]
    lines += [
        "",
        "## Single signals (test period)",
        "",
        "| signal | in preset | coverage | AUC where it has data | AUC all rows (missing = 50) |",
        "|---|---|---:|---:|---:|",
    ]
    for r in sorted(c.signals, key=lambda r: -np.nan_to_num(r["test_auc_all_rows"])):
        lines.append(
            f"| {r['signal']} | {'yes' if r['in_base_preset'] else 'no'} | "
            f"{_pct(r['test_coverage'])} | {_auc_text(r['test_auc_where_data'])} | "
            f"{_auc_text(r['test_auc_all_rows'])} |"
        )
    best = c.best_signal
    difference = calibrated["test_auc"] - base["test_auc"]
    reading = (
        f"On the held-out period ({s['test_start']} .. {s['last_date']}, "
        f"{test['churned_accounts']} churned accounts) the current `{c.base_preset}` preset "
        f"ranks churners with an AUC of {_auc_text(base['test_auc'])}, the calibrated proposal "
        f"with {_auc_text(calibrated['test_auc'])} ({difference:+.3f}; interval "
        f"{low:+.3f} .. {high:+.3f}). "
    )
    if ceiling:
        gap = ceiling["test_auc"] - calibrated["test_auc"]
        reading += (
            f"A gradient-boosted model on the same signals ({c.gbm.get('configuration')}, "
            "chosen by cross-validation over accounts within the training period) reaches "
            f"{_auc_text(ceiling['test_auc'])}: the practical ceiling for these signals, "
            + (
                f"{gap:.3f} above the calibrated score. "
                if gap > 0
                else f"which the calibrated score matches (difference {gap:+.3f}). "
            )
        )
    reading += (
        f"The best single signal, {best.get('signal', '–')}, alone reaches "
        f"{_auc_text(best.get('test_auc_all_rows'))}. "
    )
    reading += (
        "The interval lies above 0: the proposal ranks churners better than the current "
        "weights on data it was not fitted on."
        if low > 0
        else "The interval does not lie above 0: on this history the proposal is not reliably "
        "better than the current weights."
    )
    lines += ["", "## Reading", "", reading, ""]
    lines += [
        f"Check: {c.check['description']}: {c.check['rows_compared']:,} rows, largest "
        f"difference {c.check['max_abs_difference']:.4f}.",
        "",
        f"Fitted with L2 = {c.l2:g}, seed {c.seed}, in {c.seconds:.1f} s.",
        "",
    ]
    return "\n".join(lines)


def write_outputs(c: Calibration, proposal: Sequence[PresetRow], out_dir: Path) -> dict[str, Path]:
    """proposed_preset.csv, comparison.md and comparison.json in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "preset": write_preset(proposal, out_dir / "proposed_preset.csv"),
        "markdown": out_dir / "comparison.md",
        "json": out_dir / "comparison.json",
    }
    paths["markdown"].write_text(render_markdown(c))
    paths["json"].write_text(c.to_json() + "\n")
    return paths


def run(
    warehouse_path: Path,
    out_dir: Path,
    base_preset: str = "hbr",
    horizon_days: int | None = None,
    train_share: float = 0.7,
    seed: int = 42,
    memory_limit: str | None = None,
) -> int:
    """`healthmart calibrate`: calibrate, write the three files, print the comparison."""
    try:
        result, proposal = calibrate(
            warehouse_path,
            base_preset=base_preset,
            horizon_days=horizon_days,
            train_share=train_share,
            seed=seed,
            memory_limit=memory_limit,
        )
    except CalibrationError as error:
        print(f"Calibration not possible: {error}", file=sys.stderr)
        return 1
    except duckdb.IOException as error:
        print(
            f"Cannot open {warehouse_path} read-only ({error}). If a run is writing it, retry "
            "when it has finished, or copy the file and pass --warehouse-path.",
            file=sys.stderr,
        )
        return 1
    paths = write_outputs(result, proposal, out_dir)
    print(paths["markdown"].read_text())
    print(f"Proposed preset: {paths['preset']}")
    print(f"Comparison: {paths['markdown']} and {paths['json']}")
    print(
        "Nothing has changed: to adopt the proposal, append the rows of proposed_preset.csv "
        "(without the header) to seeds/preset_weights.csv and set HEALTHMART_PRESET=calibrated."
    )
    return 0
