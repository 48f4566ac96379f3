"""The calibration's defaults and paths, and the error it stops with."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

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
SQL_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class CalibrationError(RuntimeError):
    """The history cannot support a calibration (too short, no churn, nothing predictive)."""
