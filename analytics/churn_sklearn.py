"""The scikit-learn side of :mod:`analytics.churn`: the estimators, metrics and calibration it uses.

One place for these imports so that :mod:`analytics.churn` loads scikit-learn only when a
churn model is fitted or scores (:func:`analytics.churn._sklearn`): a process that only reads a
stored :class:`~analytics.churn.ChurnModel` -- a web worker -- never imports it.
"""
from __future__ import annotations

from sklearn.calibration import calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    classification_report,
    confusion_matrix,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from .calibration import CalibratedChurnModel, choose_calibration, fit_calibrator

__all__ = [
    "calibration_curve", "HistGradientBoostingClassifier", "SimpleImputer",
    "permutation_importance", "LogisticRegression", "average_precision_score", "brier_score_loss",
    "classification_report", "confusion_matrix", "precision_recall_curve", "roc_auc_score",
    "roc_curve", "cross_val_predict", "make_pipeline", "FunctionTransformer", "StandardScaler",
    "threadpool_limits", "CalibratedChurnModel", "choose_calibration", "fit_calibrator",
]
