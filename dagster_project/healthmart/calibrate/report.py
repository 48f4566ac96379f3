"""The calibration's report (comparison.md, comparison.json, proposed_preset.csv) and `run`,
what `healthmart calibrate` calls."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np

from healthmart.calibrate.calibration import Calibration, calibrate
from healthmart.calibrate.defaults import CALIBRATED_PRESET, CalibrationError
from healthmart.calibrate.presets import PresetRow, write_preset


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
