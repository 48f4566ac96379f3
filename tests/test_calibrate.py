"""Calibration (`healthmart calibrate`): the fit, the proposed preset, the time split and the
AUC, on a small synthetic warehouse whose churn is driven by two signals (payment, adoption)."""

from __future__ import annotations

import csv
import json
import math
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from healthmart.calibrate import calibration, defaults, fit, observations, presets
from healthmart.calibrate import report as calibration_report
from healthmart.cli.main import main

SEED_PRESETS = presets.read_presets(defaults.SEEDS_DIR / "preset_weights.csv")
HBR = presets.preset(SEED_PRESETS, "hbr")
SIGNALS = (
    "adoption",
    "breadth",
    "usage_trend",
    "enablement",
    "support_burden",
    "support_csat",
    "nps",
    "survey_csat",
    "payment",
    "revenue_trend",
    "csm_sentiment",
    "renewal_intent",
)
# share of accounts without data for a signal (csm_sentiment is neutral: 50 when missing)
MISSING_SHARE = {
    "support_csat": 0.3,
    "nps": 0.3,
    "survey_csat": 0.4,
    "revenue_trend": 0.3,
    "csm_sentiment": 0.2,
    "renewal_intent": 0.3,
}
DRIVERS = ("payment", "adoption")
START = date(2025, 1, 1)
ACCOUNTS, DAYS, HORIZON = 400, 180, 30


def synthetic_warehouse(path: Path) -> dict[str, int]:
    """Write the tables calibrate reads; return each churned account's churn day (0 = START).

    Each account signs up on a day of the first half; each of its signal scores starts at a
    random level and wanders day by day; its daily churn hazard falls with that day's payment
    and adoption scores only. An account is scored from its signup to its churn day.
    """
    rng = np.random.default_rng(7)
    walk = rng.uniform(10, 90, (ACCOUNTS, len(SIGNALS), 1)) + np.cumsum(
        rng.normal(0, 2.5, (ACCOUNTS, len(SIGNALS), DAYS)), axis=2
    )
    values = np.clip(walk, 0, 100)
    drive = sum((values[:, SIGNALS.index(s)] - 50) / 50 for s in DRIVERS)
    hazard = 0.004 * np.exp(-2.0 * drive)  # accounts x days
    signup = rng.integers(0, DAYS // 2, ACCOUNTS)
    event = rng.random((ACCOUNTS, DAYS)) < hazard
    event[np.arange(DAYS)[None, :] < signup[:, None]] = False
    churn_day = np.where(event.any(axis=1), event.argmax(axis=1), -1)
    missing = {s: rng.random(ACCOUNTS) < MISSING_SHARE.get(s, 0.0) for s in SIGNALS}
    ids = np.array([f"A{a:04d}" for a in range(ACCOUNTS)])
    last_day = np.where(churn_day >= 0, churn_day, DAYS - 1)
    account = np.concatenate([np.full(d + 1 - signup[a], a) for a, d in enumerate(last_day)])
    day = np.concatenate([np.arange(signup[a], d + 1) for a, d in enumerate(last_day)])
    score_date = np.datetime64(START) + day.astype("timedelta64[D]")

    # marts.fct_signal_scores_wide: one row per account-day, the columns of every signal
    signal_scores = pd.DataFrame({"account_id": ids[account], "score_date": score_date})
    scores = {}
    for i, s in enumerate(SIGNALS):
        value = values[account, i, day]
        has_data = ~missing[s][account]
        policy = "neutral" if s == "csm_sentiment" else "exclude"
        signal_score = np.where(has_data, value, 50.0 if policy == "neutral" else np.nan)
        scores[s] = signal_score
        signal_scores[f"raw_value__{s}"] = np.where(has_data, value, np.nan)
        signal_scores[f"signal_score__{s}"] = signal_score
        signal_scores[f"has_data__{s}"] = has_data
    # intermediate.int_health_scores__weighted: one row per account-day, two columns a preset
    health_scores = pd.DataFrame({"account_id": ids[account], "score_date": score_date})
    for p in ("bigcommerce", "hbr", "vital_signs"):
        rows = presets.preset(SEED_PRESETS, p)
        health_scores[f"score__{p}"] = np.round(presets.weighted_score(rows, scores), 2)
        health_scores[f"coverage__{p}"] = sum(
            np.where(~missing[r.signal][account], r.dimension_weight * r.signal_weight, 0.0)
            for r in rows
        )
    churned = churn_day >= 0
    spells = pd.DataFrame(
        {
            "account_id": ids[churned],
            "churned_on": np.datetime64(START) + churn_day[churned].astype("timedelta64[D]"),
            "reactivated_on": pd.NaT,
        }
    )
    bounds = pd.DataFrame(
        {
            "first_activity_date": [pd.Timestamp(START - timedelta(days=30))],
            "last_activity_date": [pd.Timestamp(START + timedelta(days=DAYS - 2))],
            "data_as_of_date": [pd.Timestamp(START + timedelta(days=DAYS - 1))],
        }
    )
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema intermediate")
        con.execute("create schema marts")
        for name, frame, dates in (
            ("marts.fct_signal_scores_wide", signal_scores, ["score_date"]),
            ("intermediate.int_health_scores__weighted", health_scores, ["score_date"]),
            ("intermediate.int_accounts__churn_spells", spells, ["churned_on", "reactivated_on"]),
            (
                "intermediate.int_exports__date_bounds",
                bounds,
                ["first_activity_date", "last_activity_date"],
            ),
        ):
            con.register("frame", frame)
            casts = ", ".join(f"cast({c} as date) as {c}" for c in dates)
            con.execute(f"create table {name} as select * replace ({casts}) from frame")
            con.unregister("frame")
    finally:
        con.close()
    return {ids[a]: int(churn_day[a]) for a in range(ACCOUNTS) if churn_day[a] >= 0}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("calibration") / "warehouse.duckdb"
    return path, synthetic_warehouse(path)


@pytest.fixture(scope="module")
def calibrated(warehouse) -> tuple[calibration.Calibration, list[presets.PresetRow]]:
    return calibration.calibrate(warehouse[0], base_preset="hbr", horizon_days=HORIZON, seed=1)


def test_fit_gives_the_churn_drivers_most_of_the_weight(calibrated) -> None:
    result, proposal = calibrated
    weights = presets.configured_weights(proposal)
    assert weights["payment"] + weights["adoption"] > 0.7
    others = [w for s, w in weights.items() if s not in DRIVERS]
    assert min(weights["payment"], weights["adoption"]) > 2 * max(others)
    assert all(w >= 0 for w in result.fitted_weights.values())


def test_calibrated_score_beats_the_base_preset_on_the_held_out_period(calibrated) -> None:
    result, _ = calibrated
    auc = {a["score"]: a["test_auc"] for a in result.auc}
    assert auc["calibrated (proposed)"] > auc["hbr (current)"] + 0.05
    # the references are there and rank churners better than chance
    assert auc["gradient boosting (11 hbr signals)"] > 0.6
    assert result.best_signal["signal"] in DRIVERS
    assert result.difference_interval[0] > 0


def test_proposed_preset_file_has_the_seed_columns_and_sums_to_one(calibrated, tmp_path) -> None:
    result, proposal = calibrated
    paths = calibration_report.write_outputs(result, proposal, tmp_path / "out")
    with paths["preset"].open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    with (defaults.SEEDS_DIR / "preset_weights.csv").open(newline="") as f:
        assert reader.fieldnames == next(csv.reader(f))
    assert {r["preset"] for r in rows} == {"calibrated"}
    dimension_weights = {r["dimension"]: Decimal(r["dimension_weight"]) for r in rows}
    assert set(dimension_weights) == {r.dimension for r in HBR}
    assert sum(dimension_weights.values()) == Decimal(1)
    for d in dimension_weights:
        shares = [Decimal(r["signal_weight"]) for r in rows if r["dimension"] == d]
        assert sum(shares) == Decimal(1)
        assert all(len(r["signal_weight"].split(".")[1]) <= 6 for r in rows)
    assert all(Decimal(r["signal_weight"]) > 0 for r in rows)
    # the comparison says the same as the JSON
    report = json.loads(paths["json"].read_text())
    assert report["best_signal"]["signal"] == result.best_signal["signal"]
    calibrated_auc = next(a["test_auc"] for a in report["auc"] if a["score"].startswith("calib"))
    assert f"**{calibrated_auc:.3f}**" in paths["markdown"].read_text()


def test_time_split_leaves_a_horizon_between_train_and_test(warehouse) -> None:
    split = observations.time_split(date(2025, 1, 1), date(2025, 12, 31), 90, train_share=0.7)
    assert split.test_start == date(2025, 1, 1) + timedelta(days=round(0.7 * 364))
    assert split.train_end == split.test_start - timedelta(days=90)

    path, churn_days = warehouse
    con = duckdb.connect(str(path), read_only=True)
    try:
        first, last = observations.observable_span(con, HORIZON)
        split = observations.time_split(first, last, HORIZON)
        obs = observations.load_observations(con, list(SIGNALS), ["hbr"], split)
    finally:
        con.close()
    # every scoring date with a full horizon inside the data, no later one
    assert last == START + timedelta(days=DAYS - 2 - (HORIZON - 1))
    train_days, test_days = obs.day[~obs.is_test], obs.day[obs.is_test]
    assert test_days.min() - train_days.max() >= HORIZON
    assert set(np.unique(train_days) % defaults.DEFAULT_TRAIN_EVERY_DAYS) == {0}
    assert test_days.max() == (last - first).days
    # the label: churned on the scoring date or within the HORIZON - 1 days after it
    con = duckdb.connect(str(path), read_only=True)
    try:
        labels = con.execute(
            "select account_id, day, churned from "
            f"({observations.observation_sql(list(SIGNALS), ['hbr'], split)})"
        ).fetchall()
    finally:
        con.close()
    assert [d for _, d, _ in labels] == obs.day.tolist()
    expected = [
        int(churn_days.get(a, -1) >= d and churn_days.get(a, -1) < d + HORIZON)
        for a, d, _ in labels
    ]
    assert sum(expected) > 100
    assert [c for _, _, c in labels] == expected == obs.churned.tolist()


def test_signals_and_presets_are_the_score_columns_of_the_wide_tables(warehouse) -> None:
    con = duckdb.connect(str(warehouse[0]), read_only=True)
    try:
        signals, presets = observations.signal_names(con), observations.preset_names(con)
    finally:
        con.close()
    # signal_score__<signal> only (not raw_value__ / has_data__), score__<preset> only (not
    # coverage__), by name
    assert signals == sorted(SIGNALS)
    assert presets == ["bigcommerce", "hbr", "vital_signs"]


def test_time_split_refuses_a_history_shorter_than_the_gap() -> None:
    with pytest.raises(defaults.CalibrationError, match="too short"):
        observations.time_split(date(2025, 1, 1), date(2025, 3, 1), 90)


def test_churn_auc_matches_a_hand_count() -> None:
    # churned (1) at health 10, 20, 40; retained at 30, 50, 60: of the 9 pairs the churned
    # one is lower in 3 + 3 + 2 = 8
    health = np.array([10, 20, 30, 40, 50, 60], dtype=float)
    churned = np.array([1, 1, 0, 1, 0, 0])
    assert fit.churn_auc(health, churned) == pytest.approx(8 / 9)
    # a tie between a churned and a retained account-day counts half: 30 vs 30
    health_tie = np.array([10, 20, 30, 30, 50, 60], dtype=float)
    assert fit.churn_auc(health_tie, churned) == pytest.approx(8.5 / 9)
    # reversed sign: a score that is higher for churners is below 0.5
    assert fit.churn_auc(-health, churned) == pytest.approx(1 / 9)
    # unscored rows are left out
    with_nan = np.append(health, np.nan)
    assert fit.churn_auc(with_nan, np.append(churned, 1)) == pytest.approx(8 / 9)
    # the weighted version used by the bootstrap agrees with unit weights
    risk = -health_tie
    order = np.argsort(risk, kind="stable")
    _, groups = np.unique(risk[order], return_inverse=True)
    assert fit._weighted_auc(order, groups, churned.astype(float), np.ones(6)) == pytest.approx(
        8.5 / 9
    )


def test_weighted_score_renormalises_like_the_sql() -> None:
    rows = [
        presets.PresetRow("p", "a", 0.6, "s1", 0.5),
        presets.PresetRow("p", "a", 0.6, "s2", 0.5),
        presets.PresetRow("p", "b", 0.4, "s3", 1.0),
    ]
    scores = {
        "s1": np.array([80.0, 80.0, np.nan, np.nan]),
        "s2": np.array([40.0, np.nan, 40.0, np.nan]),
        "s3": np.array([10.0, 10.0, np.nan, np.nan]),
    }
    got = presets.weighted_score(rows, scores)
    # 0.6 * 60 + 0.4 * 10; 0.6 * 80 + 0.4 * 10; only dimension a: 40; nothing: NaN
    assert got[:3] == pytest.approx([40.0, 52.0, 40.0])
    assert math.isnan(got[3])


def test_fit_weights_are_non_negative_and_zero_for_a_signal_pointing_the_wrong_way() -> None:
    rng = np.random.default_rng(3)
    good, wrong = rng.uniform(0, 100, 4000), rng.uniform(0, 100, 4000)
    # churn falls with `good` and rises with `wrong`
    p = 1 / (1 + np.exp(-(-1 - 3 * (good - 50) / 50 + 2 * (wrong - 50) / 50)))
    churned = (rng.random(4000) < p).astype(np.int8)
    weights, _ = fit.fit_weights(np.column_stack([good, wrong]), churned)
    assert weights[0] > 1.0
    assert weights[1] == 0.0


def test_propose_preset_keeps_a_vanished_dimension_and_drops_zero_signals() -> None:
    fitted = dict.fromkeys((r.signal for r in HBR), 0.0)
    fitted.update(adoption=3.0, breadth=1.0, payment=2.0)
    proposal = presets.propose_preset(fitted, HBR)
    by_signal = {r.signal: r for r in proposal}
    # product_usage: adoption 3/6, breadth 1/6; the other usage signals are dropped
    assert set(by_signal) >= {"adoption", "breadth", "payment"}
    assert "usage_trend" not in by_signal and "revenue_trend" not in by_signal
    assert by_signal["adoption"].dimension_weight == pytest.approx(0.666666, abs=1e-6)
    assert by_signal["adoption"].signal_weight == 0.75
    assert by_signal["payment"].dimension_weight == 0.333333
    # relationship was fitted to 0: kept at the floor with the base preset's shares
    relationship = [r for r in proposal if r.dimension == "relationship"]
    assert [r.signal for r in relationship] == [
        "nps",
        "survey_csat",
        "csm_sentiment",
        "renewal_intent",
    ]
    assert {r.dimension_weight for r in relationship} == {0.000001}
    assert [r.signal_weight for r in relationship] == [0.25] * 4
    dimensions = {r.dimension: Decimal(repr(r.dimension_weight)) for r in proposal}
    assert sum(dimensions.values()) == Decimal(1)


def test_cli_writes_the_proposal_outside_the_seeds(
    warehouse, tmp_path, capsys, monkeypatch
) -> None:
    # one reference configuration: no cross-validation (the fixture's run covers it)
    first = next(iter(fit.GBM_CANDIDATES.items()))
    monkeypatch.setattr(fit, "GBM_CANDIDATES", dict([first]))
    out = tmp_path / "calibration"
    code = main(
        [
            "calibrate",
            "--warehouse-path",
            str(warehouse[0]),
            "--horizon-days",
            str(HORIZON),
            "--out",
            str(out),
            "--seed",
            "1",
        ]
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "comparison.json",
        "comparison.md",
        "proposed_preset.csv",
    ]
    printed = capsys.readouterr().out
    assert "# Calibration of the `hbr` preset" in printed
    assert "HEALTHMART_PRESET=calibrated" in printed
