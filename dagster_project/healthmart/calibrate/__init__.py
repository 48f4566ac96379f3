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
