"""Churn: who will not order again soon, trained on past cut-offs.

**Definition.**  At a cut-off date c (midnight), a customer is *active* if
they placed at least one order before c; an active customer has *churned*
(label 1) if they place no order in the next H days, ``[c, c + H)``, and is
*retained* (label 0) otherwise.  The default horizon H is
:func:`suggest_churn_horizon`.

**Time-based validation** (no random split): with snapshot S, features at
``S - 2H`` are labelled by orders in ``[S - 2H, S - H)`` (training) and
features at ``S - H`` by orders in ``[S - H, S)`` (evaluation).  A logistic
regression (signed-log, imputed, standardised features) and a histogram
gradient-boosting classifier are trained; the one with the higher ROC AUC on
the evaluation cut-off is chosen.  Its decision threshold maximises F1 on
3-fold out-of-fold predictions of the *training* cut-off (so the evaluation
confusion matrix is not tuned on itself).  Naive baseline: the recency in
days as churn score (and the rule "churned if recency > H").  Feature
importance: permutation importance (drop in ROC AUC, 3 repeats, at most
10,000 customers) of the chosen model on the evaluation cut-off.  The chosen
model is then refitted on the evaluation cut-off (the latest labelled data)
and :func:`score_customers` applies it to every customer at the snapshot.

Features (:func:`churn_features`) use only lines dated before the cut-off;
see :data:`FEATURES` for units and definitions.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    classification_report,
    confusion_matrix,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from .churn_features import (  # noqa: F401 - re-exported: analytics.churn is the public module
    DAYS_PER_MONTH,
    FEATURES,
    TREND_DAYS,
    churn_features,
    churn_labels,
    suggest_churn_horizon,
)
from .constants import LOWEST_RISK_BAND, RISK_BAND_LABELS, RISK_BANDS
from .dates import as_day
from .errors import InsufficientDataError

MIN_CUSTOMERS = 20
MIN_PER_CLASS = 5


@dataclass(frozen=True)
class ChurnModel:
    """A trained churn model and its evaluation at the evaluation cut-off.

    ``metrics``: model name -> ``roc_auc``, ``pr_auc`` (average precision) for
    "logistic_regression", "gradient_boosting" and "baseline_recency".
    Curves, confusion matrix and report are for the chosen model on the
    evaluation cut-off; ``estimator`` is the chosen model refitted there.
    """

    definition: str
    horizon_days: int
    horizon_rule: str
    snapshot_date: pd.Timestamp
    cutoff_train: pd.Timestamp
    cutoff_eval: pd.Timestamp
    n_train: int
    n_eval: int
    churn_rate_train: float
    churn_rate_eval: float
    metrics: dict[str, dict[str, float]]
    chosen: str
    threshold: float
    threshold_rule: str
    roc_curve: pd.DataFrame
    pr_curve: pd.DataFrame
    confusion_matrix: pd.DataFrame
    classification_report: dict
    calibration: pd.DataFrame
    feature_importance: pd.DataFrame
    baseline: dict
    feature_names: tuple[str, ...]
    seed: int
    notes: tuple[str, ...] = ()
    estimator: object = field(default=None, repr=False, compare=False)


def train_churn_model(lines: pd.DataFrame, snapshot_date: str | pd.Timestamp,
                      horizon_days: int | None = None, seed: int = 0) -> ChurnModel:
    """Train and evaluate churn models on two past cut-offs (see the module docstring).

    Raises InsufficientDataError (with the reason) when the log is too short
    for two horizons, too few customers are active at a cut-off, or a cut-off
    has fewer than MIN_PER_CLASS churners or returning customers.  Runs the
    gradient boosting single-threaded: its per-tree OpenMP overhead otherwise
    dominates on shared machines, and results do not depend on thread counts.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        return _train(lines, snapshot_date, horizon_days, seed)


def _train(lines: pd.DataFrame, snapshot_date: str | pd.Timestamp, horizon_days: int | None,
           seed: int) -> ChurnModel:
    snapshot = as_day(snapshot_date, "snapshot_date")
    if horizon_days is None:
        horizon = suggest_churn_horizon(lines, snapshot)
        rule = "90th percentile of the gaps between consecutive purchase days"
    else:
        horizon, rule = int(horizon_days), "given"
        if horizon < 1:
            raise ValueError("horizon_days must be >= 1")
    step = pd.Timedelta(days=horizon)
    cutoff_train, cutoff_eval = snapshot - 2 * step, snapshot - step
    X_train, y_train = _labelled(lines, cutoff_train, horizon, "training")
    X_eval, y_eval = _labelled(lines, cutoff_eval, horizon, "evaluation")
    notes = []
    columns = [c for c in X_train.columns if X_train[c].notna().any() and X_eval[c].notna().any()]
    if len(columns) < X_train.shape[1]:
        notes.append("Left out (no values at a cut-off): " + ", ".join(sorted(set(X_train) - set(columns))) + ".")
    X_train, X_eval = X_train[columns], X_eval[columns]

    models = _candidates(seed)
    scores, metrics = {}, {}
    for name, model in models.items():
        model.fit(X_train, y_train)
        scores[name] = model.predict_proba(X_eval)[:, 1]
        metrics[name] = {"roc_auc": float(roc_auc_score(y_eval, scores[name])),
                         "pr_auc": float(average_precision_score(y_eval, scores[name]))}
    recency = X_eval["recency_days"].to_numpy()
    metrics["baseline_recency"] = {"roc_auc": float(roc_auc_score(y_eval, recency)),
                                   "pr_auc": float(average_precision_score(y_eval, recency))}
    chosen = max(models, key=lambda name: (metrics[name]["roc_auc"], name == "logistic_regression"))
    prob = scores[chosen]
    threshold = _f1_threshold(_candidates(seed)[chosen], X_train, y_train, seed)
    predicted = (prob >= threshold).astype(int)
    rule_pred = (recency > horizon).astype(int)
    fpr, tpr, roc_thr = roc_curve(y_eval, prob)
    precision, recall, pr_thr = precision_recall_curve(y_eval, prob)
    frac, mean_pred = calibration_curve(y_eval, prob, n_bins=10, strategy="quantile")
    importance = permutation_importance(models[chosen], X_eval, y_eval, scoring="roc_auc", n_repeats=3,
                                        random_state=seed, max_samples=min(1.0, 10_000 / len(y_eval)))
    final = _candidates(seed)[chosen].fit(X_eval, y_eval)
    return ChurnModel(
        definition=(f"Churned = no order in the {horizon} days after the cut-off, among customers with "
                    "at least one order before it."),
        horizon_days=horizon, horizon_rule=rule, snapshot_date=snapshot,
        cutoff_train=cutoff_train, cutoff_eval=cutoff_eval, n_train=len(y_train), n_eval=len(y_eval),
        churn_rate_train=float(y_train.mean()), churn_rate_eval=float(y_eval.mean()),
        metrics=metrics, chosen=chosen, threshold=threshold,
        threshold_rule="maximises F1 on 3-fold out-of-fold predictions at the training cut-off",
        roc_curve=_thin(pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": roc_thr})),
        pr_curve=_thin(pd.DataFrame({"precision": precision[:-1], "recall": recall[:-1],
                                     "threshold": pr_thr})),
        confusion_matrix=pd.DataFrame(confusion_matrix(y_eval, predicted, labels=[0, 1]),
                                      index=pd.Index(["retained", "churned"], name="actual"),
                                      columns=pd.Index(["retained", "churned"], name="predicted")),
        classification_report=classification_report(y_eval, predicted, labels=[0, 1], zero_division=0,
                                                     target_names=["retained", "churned"], output_dict=True),
        calibration=pd.DataFrame({"mean_predicted": mean_pred, "fraction_churned": frac}),
        feature_importance=pd.DataFrame(
            {"feature": columns, "importance": importance.importances_mean,
             "std": importance.importances_std}).sort_values("importance", ascending=False,
                                                              ignore_index=True),
        baseline={"score": "recency_days", "rule": f"churned if recency_days > {horizon}",
                  **metrics["baseline_recency"],
                  "rule_precision": _share(y_eval.to_numpy()[rule_pred == 1]),
                  "rule_recall": _share(rule_pred[y_eval.to_numpy() == 1]),
                  "rule_accuracy": float((rule_pred == y_eval.to_numpy()).mean())},
        feature_names=tuple(columns), seed=seed, notes=tuple(notes), estimator=final)


def score_customers(model: ChurnModel, lines: pd.DataFrame, snapshot_date: str | pd.Timestamp | None = None,
                    clv_12m: pd.Series | None = None, p_alive: pd.Series | None = None) -> pd.DataFrame:
    """Churn probability of every customer active before the snapshot.

    Columns: ``churn_probability``, ``risk_band`` (:data:`RISK_BANDS`),
    ``clv_12m`` (given, e.g. ``ClvResult.customers["clv_12m"]``; NaN if not)
    and ``revenue_at_risk`` = churn_probability x clv_12m (currency).
    """
    snapshot = model.snapshot_date if snapshot_date is None else as_day(snapshot_date, "snapshot_date")
    features = churn_features(lines, snapshot, p_alive=p_alive, with_p_alive="p_alive" in model.feature_names)
    with threadpool_limits(limits=1, user_api="openmp"):
        prob = model.estimator.predict_proba(features[list(model.feature_names)])[:, 1]
    out = pd.DataFrame({"churn_probability": prob}, index=features.index)
    band = np.full(len(out), LOWEST_RISK_BAND, dtype=object)
    for label, cut in reversed(RISK_BANDS):
        band[prob >= cut] = label
    out["risk_band"] = pd.Categorical(band, categories=list(RISK_BAND_LABELS))
    out["clv_12m"] = np.nan if clv_12m is None else clv_12m.reindex(out.index).to_numpy(dtype=float)
    out["revenue_at_risk"] = out["churn_probability"] * out["clv_12m"]
    return out


def _labelled(lines: pd.DataFrame, cutoff: pd.Timestamp, horizon: int, which: str):
    X = churn_features(lines, cutoff)
    y = churn_labels(lines, cutoff, horizon).reindex(X.index)
    churned = int(y.sum())
    if len(y) < MIN_CUSTOMERS or min(churned, len(y) - churned) < MIN_PER_CLASS:
        raise InsufficientDataError(
            f"At the {which} cut-off {cutoff.date()} there are {len(y)} active customers, {churned} of whom "
            f"churned (no order in the next {horizon} days) and {len(y) - churned} ordered again; a churn "
            f"model needs at least {MIN_CUSTOMERS} customers and {MIN_PER_CLASS} of each kind. The log may "
            f"be too short for a {horizon}-day horizon (two horizons plus history are needed).")
    return X, y


def _candidates(seed: int) -> dict:
    signed_log = FunctionTransformer(_signed_log, feature_names_out="one-to-one")
    return {
        "logistic_regression": make_pipeline(SimpleImputer(strategy="median"), signed_log, StandardScaler(),
                                             LogisticRegression(max_iter=2000)),
        "gradient_boosting": HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20,
            l2_regularization=1.0, early_stopping=False, random_state=seed),
    }


def _signed_log(values: np.ndarray) -> np.ndarray:
    """sign(v) log(1 + |v|): tames heavy-tailed money and counts for the linear model."""
    return np.sign(values) * np.log1p(np.abs(values))


def _f1_threshold(model, X: pd.DataFrame, y: pd.Series, seed: int) -> float:
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    prob = cross_val_predict(model, X, y, cv=folds, method="predict_proba")[:, 1]
    precision, recall, thresholds = precision_recall_curve(y, prob)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)[:-1]
    return float(thresholds[int(np.argmax(f1))])


def _thin(curve: pd.DataFrame, points: int = 500) -> pd.DataFrame:
    """At most ``points`` rows, evenly spaced, first and last kept."""
    if len(curve) <= points:
        return curve.reset_index(drop=True)
    return curve.iloc[np.unique(np.linspace(0, len(curve) - 1, points).round().astype(int))].reset_index(drop=True)


def _share(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")


def risk_band_summary(customers: pd.DataFrame) -> pd.DataFrame:
    """Per risk band (high, medium, low; all three rows, even when empty).

    ``customers``: a per-customer table with ``risk_band``,
    ``churn_probability`` and ``revenue_at_risk`` (e.g. :func:`score_customers`
    or the portal's customer table); rows without a band (not scored) are left
    out.  Columns: ``customers``, ``share`` (of the banded customers; NaN if
    none), ``revenue_at_risk`` (sum, currency; 0 when empty),
    ``revenue_at_risk_share`` (of the total; NaN if the total is 0),
    ``mean_churn_probability`` (NaN when empty).  Band cut-offs: :data:`RISK_BANDS`.
    """
    bands = list(RISK_BAND_LABELS)
    band = pd.Categorical(customers["risk_band"].astype("object"), categories=bands)
    grouped = customers[["churn_probability", "revenue_at_risk"]].groupby(band, observed=False)
    out = pd.DataFrame({
        "customers": grouped.size().astype("int64"),
        "revenue_at_risk": grouped["revenue_at_risk"].sum(min_count=0).astype("float64"),
        "mean_churn_probability": grouped["churn_probability"].mean().astype("float64"),
    }).reindex(bands)
    total, money = int(out["customers"].sum()), float(out["revenue_at_risk"].sum())
    out.insert(1, "share", out["customers"] / total if total else np.nan)
    out.insert(3, "revenue_at_risk_share", out["revenue_at_risk"] / money if money else np.nan)
    out.index = pd.Index(bands, dtype="str", name="risk_band")
    return out


def baseline_rule_point(model: ChurnModel) -> dict[str, float]:
    """The naive rule "churned if recency_days > H" as a point of the ROC plane.

    From the rule's precision and recall on the evaluation cut-off
    (``model.baseline``) and the cut-off's size and churn rate: positives
    P = n_eval x churn_rate_eval, true positives TP = recall x P, flagged
    customers = TP / precision (0 when the rule flags nobody), false positives
    FP = flagged - TP.  Returns ``fpr`` = FP / (n_eval - P) and ``tpr`` =
    TP / P (NaN when a class is empty; ``fpr`` NaN when the rule's precision
    is 0, which does not tell how many it flagged).
    """
    n = int(model.n_eval)
    positives = round(n * float(model.churn_rate_eval))
    negatives = n - positives
    recall, precision = float(model.baseline["rule_recall"]), float(model.baseline["rule_precision"])
    true_pos = round(recall * positives) if positives else 0
    if np.isnan(precision):  # the rule flags nobody
        flagged = 0
    elif precision > 0:
        flagged = round(true_pos / precision)
    else:  # flags only retained customers: how many is unknown
        return {"fpr": float("nan"), "tpr": recall if positives else float("nan")}
    false_pos = max(flagged - true_pos, 0)
    return {"fpr": false_pos / negatives if negatives else float("nan"),
            "tpr": true_pos / positives if positives else float("nan")}
