"""Probability calibration chosen by cross-validation: none, Platt or isotonic.

:func:`choose_calibration` scores each method on out-of-fold predictions: the
calibrator is fitted on the other folds' predictions and applied to the held-out
fold, and the Brier score of the result is compared; "none" is kept unless a
calibration strictly lowers it.  Platt scaling is a logistic regression on the
log-odds of the raw probability; isotonic is a monotone step function.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

CALIBRATIONS: tuple[str, ...] = ("none", "platt", "isotonic")


class CalibratedChurnModel(ClassifierMixin, BaseEstimator):
    """A fitted classifier and the calibration map applied to its churn probability
    (a scikit-learn classifier: ``fit`` refits the classifier, keeping the calibration map)."""

    def __init__(self, estimator=None, calibration: str = "none", calibrator=None) -> None:
        self.estimator, self.calibration, self.calibrator = estimator, calibration, calibrator

    @property
    def classes_(self) -> np.ndarray:
        return self.estimator.classes_

    def fit(self, X, y) -> "CalibratedChurnModel":
        self.estimator.fit(X, y)
        return self

    def predict_proba(self, X) -> np.ndarray:
        raw = self.estimator.predict_proba(X)[:, 1]
        p = apply_calibration(self.calibration, self.calibrator, raw)
        return np.column_stack([1 - p, p])


def fit_calibrator(method: str, raw: np.ndarray, y: np.ndarray):
    """Fit "platt" or "isotonic" mapping raw probabilities ``raw`` to outcomes ``y`` (0/1)."""
    if method == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
    if method == "platt":
        return LogisticRegression(C=1e6).fit(_logit(raw)[:, None], y)
    raise ValueError(f"calibration must be one of {CALIBRATIONS[1:]}, got {method!r}")


def apply_calibration(method: str, calibrator, raw: np.ndarray) -> np.ndarray:
    """Calibrated probabilities (``raw`` itself for "none")."""
    if method == "none" or calibrator is None:
        return raw
    if method == "isotonic":
        return calibrator.predict(raw)
    return calibrator.predict_proba(_logit(raw)[:, None])[:, 1]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def choose_calibration(raw: np.ndarray, y: np.ndarray, folds) -> tuple[str, np.ndarray, dict[str, float]]:
    """Brier score of each calibration, fitted on the other folds' out-of-fold predictions and
    scored on the held-out fold; the lowest wins ("none" unless another is strictly lower)."""
    results, briers = {"none": raw}, {"none": float(brier_score_loss(y, raw))}
    for method in CALIBRATIONS[1:]:
        out = np.empty_like(raw)
        for fit_idx, test_idx in folds:
            out[test_idx] = apply_calibration(method, fit_calibrator(method, raw[fit_idx], y[fit_idx]),
                                               raw[test_idx])
        results[method], briers[method] = out, float(brier_score_loss(y, out))
    best = min(CALIBRATIONS, key=lambda m: (briers[m], m != "none"))
    if briers[best] >= briers["none"]:
        best = "none"
    return best, results[best], briers


