"""The fit and the measures: ROC AUC, its bootstrap, the weights' fit and the reference model."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import minimize
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from healthmart.calibrate.defaults import BOOTSTRAP_REPLICATES, DEFAULT_L2, NEUTRAL_SCORE
from healthmart.calibrate.observations import Observations


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
