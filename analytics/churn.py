"""Churn: who will not order again soon, chosen and judged on held-out time.

**Definition.**  At a cut-off date c (midnight), a customer is *active* if
they placed at least one order before c; an active customer has *churned*
(label 1) if they place no order in the next H days, ``[c, c + H)``, and is
*retained* (label 0) otherwise.  H: :func:`analytics.churn_horizon.churn_horizon`
(Kaplan-Meier on the gaps observed before S - H, no look-ahead) or given.

**Honest evaluation.**  With snapshot S: training rows are the features at
``S - 2H`` labelled by orders in ``[S - 2H, S - H)`` -- plus ``S - 3H`` labelled by
``[S - 3H, S - 2H)`` when the log spans at least 5H (4H plus the holdout).  Every
choice is made by customer-grouped, stratified 3-fold cross-validation on these
rows only (:func:`grouped_folds`; 2 folds above 50,000 training rows, where each
held-out fold still has 25,000+ rows and the third fold would cost a third more
fitting time for no steadier choice):

* the model: logistic regression (signed-log, imputed, standardised features) or
  histogram gradient boosting, the higher out-of-fold ROC AUC (ties to the
  logistic regression);
* the calibration: none, Platt (logistic on the log-odds) or isotonic, whichever
  has the lowest Brier score when fitted and scored across the folds of the
  out-of-fold predictions (none unless it lowers the Brier score);
* the threshold: maximising F1 on the calibrated out-of-fold predictions.

The chosen, calibrated model is then fitted on all training rows and reported
on ``S - H`` labelled by ``[S - H, S)``, which no choice has touched: ROC and PR
curves, Brier score (and the base-rate Brier score), reliability curve,
confusion matrix at the threshold, permutation importance.  For scoring at the
snapshot (:func:`score_customers`) the same recipe -- model, calibration,
threshold and calibration map, all frozen -- is refitted on the training
cut-offs shifted by H (``S - H``, plus ``S - 2H`` when two were used), so it is
applied one horizon after its latest labels, exactly as the evaluated model was.  Naive baseline: recency in days as churn score.

Features (:func:`churn_features`) use only lines dated before their cut-off,
one function for training and scoring; see :data:`FEATURES`.

scikit-learn is loaded (:mod:`analytics.churn_sklearn`) only when a model is fitted or scores:
a process that only reads a stored :class:`ChurnModel` -- a web worker -- never imports it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from .churn_features import (  # noqa: F401 - re-exported: analytics.churn is the public module
    DAYS_PER_MONTH,
    FEATURES,
    TREND_DAYS,
    OrdersBefore,
    churn_features,
    churn_labels,
    suggest_churn_horizon,
)
from .churn_horizon import HORIZON_RULE, churn_horizon
from .constants import LOWEST_RISK_BAND, RISK_BAND_LABELS, RISK_BANDS
from .dates import as_day, require_shop_local
from .errors import InsufficientDataError
from .model_store import pack_estimator, unpack_estimator

MIN_CUSTOMERS = 20
MIN_PER_CLASS = 5
FOLDS = 3
LARGE_FOLDS = 2  # folds when the training rows exceed LARGE_TRAINING_ROWS
LARGE_TRAINING_ROWS = 50_000


@dataclass(frozen=True)
class ChurnModel:
    """A churn model chosen on the training cut-off(s) and evaluated on ``cutoff_eval``.

    ``metrics``: model name -> ``roc_auc``, ``pr_auc``, ``brier`` on the
    evaluation cut-off ("logistic_regression", "gradient_boosting" -- each fitted
    on the training rows, uncalibrated, for comparison only -- "chosen" (the
    calibrated model that scores) and "baseline_recency").  ``cv``: the
    cross-validated figures the choices were made on.  ``estimator``: the
    scoring model (:class:`CalibratedChurnModel`), the chosen recipe refitted on
    the training cut-offs shifted by one horizon.
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
    calibration: pd.DataFrame  # reliability curve on the evaluation cut-off
    feature_importance: pd.DataFrame
    baseline: dict
    feature_names: tuple[str, ...]
    seed: int
    notes: tuple[str, ...] = ()
    estimator: object = field(default=None, repr=False, compare=False)
    calibration_method: str = "none"
    cv: dict = field(default_factory=dict)
    training_cutoffs: tuple[pd.Timestamp, ...] = ()
    horizon_path: tuple[int, ...] = ()

    def to_record(self, dataset_version: str | None = None) -> bytes:
        """The scoring model (classifier + calibrator) as a version-checked joblib record."""
        return pack_estimator("churn", self.estimator, dataset_version=dataset_version,
                              meta={"feature_names": list(self.feature_names), "chosen": self.chosen,
                                    "calibration": self.calibration_method, "threshold": self.threshold,
                                    "horizon_days": self.horizon_days})

    @staticmethod
    def estimator_from_record(record: bytes, dataset_version: str | None = None) -> tuple[object, dict]:
        """``(estimator, meta)`` of :meth:`to_record`; refuses old or mismatched records."""
        return unpack_estimator(record, "churn", dataset_version)


def train_churn_model(lines: pd.DataFrame, snapshot_date: str | pd.Timestamp,
                      horizon_days: int | None = None, seed: int = 0) -> ChurnModel:
    """Choose, train and evaluate the churn model (see the module docstring).

    Raises InsufficientDataError (with the reason) when the log is too short
    for two horizons, too few customers are active at a cut-off, or a cut-off
    has fewer than MIN_PER_CLASS churners or returning customers.  Runs the
    gradient boosting single-threaded: its per-tree OpenMP overhead otherwise
    dominates on shared machines, and results do not depend on thread counts.
    """
    sk = _sklearn()
    with sk.threadpool_limits(limits=1, user_api="openmp"):
        return _train(lines, snapshot_date, horizon_days, seed)


def _train(lines: pd.DataFrame, snapshot_date: str | pd.Timestamp, horizon_days: int | None,
           seed: int) -> ChurnModel:
    sk = _sklearn()
    require_shop_local(lines)
    snapshot = as_day(snapshot_date, "snapshot_date")
    path: list[int] = []
    orders = OrdersBefore(lines)  # one order table, cut at each cut-off
    if horizon_days is None:
        horizon, path = churn_horizon(lines, snapshot, orders=orders)
        rule = HORIZON_RULE
    else:
        horizon, rule = int(horizon_days), "given"
        if horizon < 1:
            raise ValueError("horizon_days must be >= 1")
    step = pd.Timedelta(days=horizon)
    cutoff_train, cutoff_eval = snapshot - 2 * step, snapshot - step
    first = lines.loc[lines["customer_id"].notna(), "invoice_date"].min()
    span = (snapshot - first.normalize()).days if pd.notna(first) else 0
    cutoffs = [cutoff_train] + ([snapshot - 3 * step] if span >= 5 * horizon else [])
    parts = [_labelled(lines, c, horizon, "training", orders) for c in cutoffs]
    X_train = pd.concat([X for X, _ in parts])
    y_train = pd.concat([y for _, y in parts])
    groups = X_train.index.to_numpy()
    notes = []
    columns = [c for c in X_train.columns if X_train[c].notna().any()]
    if len(columns) < X_train.shape[1]:
        notes.append("Left out (no values at the training cut-off): "
                     + ", ".join(sorted(set(X_train) - set(columns))) + ".")
    X_train = X_train[columns]
    k = LARGE_FOLDS if len(y_train) > LARGE_TRAINING_ROWS else FOLDS
    folds = grouped_folds(groups, y_train.to_numpy(), k, seed)
    y = y_train.to_numpy()
    oof = {name: sk.cross_val_predict(model, X_train, y, cv=folds, method="predict_proba")[:, 1]
           for name, model in _candidates(seed).items()}
    cv = {name: {"roc_auc": float(sk.roc_auc_score(y, p)), "pr_auc": float(sk.average_precision_score(y, p)),
                 "brier": float(sk.brier_score_loss(y, p))} for name, p in oof.items()}
    chosen = max(oof, key=lambda name: (cv[name]["roc_auc"], name == "logistic_regression"))
    method, calibrated, briers = sk.choose_calibration(oof[chosen], y, folds)
    cv["calibration_brier"] = briers
    calibrator = None if method == "none" else sk.fit_calibrator(method, oof[chosen], y)
    threshold = _f1_threshold(calibrated, y)

    X_eval, y_eval = _labelled(lines, cutoff_eval, horizon, "evaluation", orders)
    X_eval = X_eval.reindex(columns=columns)
    ye = y_eval.to_numpy()
    metrics, fitted = {}, {}
    for name, model in _candidates(seed).items():
        fitted[name] = model.fit(X_train, y)
        metrics[name] = _scores(ye, fitted[name].predict_proba(X_eval)[:, 1])
    evaluated = sk.CalibratedChurnModel(fitted[chosen], method, calibrator)
    prob = evaluated.predict_proba(X_eval)[:, 1]
    metrics["chosen"] = _scores(ye, prob)
    recency = X_eval["recency_days"].to_numpy()
    metrics["baseline_recency"] = {"roc_auc": float(sk.roc_auc_score(ye, recency)),
                                   "pr_auc": float(sk.average_precision_score(ye, recency))}
    base_rate = float(y.mean())
    metrics["baseline_base_rate"] = {"brier": float(sk.brier_score_loss(ye, np.full(len(ye), base_rate)))}
    predicted = (prob >= threshold).astype(int)
    rule_pred = (recency > horizon).astype(int)
    fpr, tpr, roc_thr = sk.roc_curve(ye, prob)
    precision, recall, pr_thr = sk.precision_recall_curve(ye, prob)
    frac, mean_pred = sk.calibration_curve(ye, prob, n_bins=10, strategy="quantile")
    importance = sk.permutation_importance(evaluated, X_eval, ye, scoring="roc_auc", n_repeats=3,
                                           random_state=seed, max_samples=min(1.0, 5_000 / len(ye)))
    # the training cut-offs shifted by H: T - H (and T - 2H when two were used)
    later = [(X_eval, y_eval)] + ([(parts[0][0][columns], parts[0][1])] if len(cutoffs) > 1 else [])
    final = _refit(chosen, method, calibrator, seed, pd.concat([X for X, _ in later]),
                   np.concatenate([yy.to_numpy() for _, yy in later]))
    return ChurnModel(
        definition=(f"Churned = no order in the {horizon} days after the cut-off, among customers with "
                    "at least one order before it."),
        horizon_days=horizon, horizon_rule=rule, snapshot_date=snapshot,
        cutoff_train=cutoff_train, cutoff_eval=cutoff_eval, n_train=len(y), n_eval=len(ye),
        churn_rate_train=base_rate, churn_rate_eval=float(ye.mean()),
        metrics=metrics, chosen=chosen, threshold=threshold,
        threshold_rule=(f"maximises F1 on the calibrated {k}-fold customer-grouped out-of-fold predictions "
                        "of the training rows"),
        roc_curve=_thin(pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": roc_thr})),
        pr_curve=_thin(pd.DataFrame({"precision": precision[:-1], "recall": recall[:-1],
                                     "threshold": pr_thr})),
        confusion_matrix=pd.DataFrame(sk.confusion_matrix(ye, predicted, labels=[0, 1]),
                                      index=pd.Index(["retained", "churned"], name="actual"),
                                      columns=pd.Index(["retained", "churned"], name="predicted")),
        classification_report=sk.classification_report(ye, predicted, labels=[0, 1], zero_division=0,
                                                     target_names=["retained", "churned"], output_dict=True),
        calibration=pd.DataFrame({"mean_predicted": mean_pred, "fraction_churned": frac}),
        feature_importance=pd.DataFrame(
            {"feature": columns, "importance": importance.importances_mean,
             "std": importance.importances_std}).sort_values("importance", ascending=False,
                                                              ignore_index=True),
        baseline={"score": "recency_days", "rule": f"churned if recency_days > {horizon}",
                  **metrics["baseline_recency"],
                  "rule_precision": _share(ye[rule_pred == 1]),
                  "rule_recall": _share(rule_pred[ye == 1]),
                  "rule_accuracy": float((rule_pred == ye).mean())},
        feature_names=tuple(columns), seed=seed, notes=tuple(notes), estimator=final,
        calibration_method=method, cv=cv, training_cutoffs=tuple(cutoffs), horizon_path=tuple(path))


def score_customers(model: ChurnModel, lines: pd.DataFrame, snapshot_date: str | pd.Timestamp | None = None,
                    net_clv_12m: pd.Series | None = None) -> pd.DataFrame:
    """Churn probability of every customer active before the snapshot.

    Features by the same :func:`churn_features` as in training.  Columns:
    ``churn_probability`` (calibrated as chosen), ``risk_band``
    (:data:`RISK_BANDS`), ``net_clv_12m`` (given, e.g. ``ClvResult.customers
    ["net_clv_12m"]``; NaN if not) and ``net_revenue_at_risk`` =
    churn_probability x net_clv_12m (currency, net basis).
    """
    sk = _sklearn()
    snapshot = model.snapshot_date if snapshot_date is None else as_day(snapshot_date, "snapshot_date")
    features = churn_features(lines, snapshot, with_p_alive="p_alive" in model.feature_names)
    with sk.threadpool_limits(limits=1, user_api="openmp"):
        prob = model.estimator.predict_proba(features.reindex(columns=list(model.feature_names)))[:, 1]
    out = pd.DataFrame({"churn_probability": prob}, index=features.index)
    band = np.full(len(out), LOWEST_RISK_BAND, dtype=object)
    for label, cut in reversed(RISK_BANDS):
        band[prob >= cut] = label
    out["risk_band"] = pd.Categorical(band, categories=list(RISK_BAND_LABELS))
    out["net_clv_12m"] = np.nan if net_clv_12m is None else net_clv_12m.reindex(out.index).to_numpy(dtype=float)
    out["net_revenue_at_risk"] = out["churn_probability"] * out["net_clv_12m"]
    return out


def _labelled(lines: pd.DataFrame, cutoff: pd.Timestamp, horizon: int, which: str, orders: OrdersBefore):
    X = churn_features(lines, cutoff, orders=orders)
    y = churn_labels(lines, cutoff, horizon).reindex(X.index)
    churned = int(y.sum())
    if len(y) < MIN_CUSTOMERS or min(churned, len(y) - churned) < MIN_PER_CLASS:
        raise InsufficientDataError(
            f"At the {which} cut-off {cutoff.date()} there are {len(y)} active customers, {churned} of whom "
            f"churned (no order in the next {horizon} days) and {len(y) - churned} ordered again; a churn "
            f"model needs at least {MIN_CUSTOMERS} customers and {MIN_PER_CLASS} of each kind. The log may "
            f"be too short for a {horizon}-day horizon (two horizons plus history are needed).")
    return X, y


def _refit(chosen: str, method: str, calibrator, seed: int, X: pd.DataFrame, y: np.ndarray) -> object:
    """The chosen recipe refitted on the training cut-offs shifted by H (T - H, and T - 2H when
    two were used), so that, like the evaluated model, it is applied one horizon after its latest labels.  The calibration map is the one
    chosen and fitted on the training rows' out-of-fold predictions."""
    sk = _sklearn()
    return sk.CalibratedChurnModel(_candidates(seed)[chosen].fit(X, y), method, calibrator)


def grouped_folds(groups: np.ndarray, y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` folds (train, test indices) that keep every customer's rows together and are
    stratified by the customer's churn share: customers sorted by it (random order among
    equals, seeded) are dealt to the folds in turn.  O(n log n), unlike StratifiedGroupKFold."""
    codes, uniques = pd.factorize(groups)
    share = np.bincount(codes, weights=y) / np.bincount(codes)
    order = np.lexsort((np.random.default_rng(seed).random(len(uniques)), share))
    fold_of = np.empty(len(uniques), dtype=np.int64)
    fold_of[order] = np.arange(len(uniques)) % k
    fold = fold_of[codes]
    return [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(k)]


def _scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    sk = _sklearn()
    return {"roc_auc": float(sk.roc_auc_score(y, p)), "pr_auc": float(sk.average_precision_score(y, p)),
            "brier": float(sk.brier_score_loss(y, np.clip(p, 0, 1)))}


def _f1_threshold(prob: np.ndarray, y: np.ndarray) -> float:
    sk = _sklearn()
    precision, recall, thresholds = sk.precision_recall_curve(y, prob)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)[:-1]
    return float(thresholds[int(np.argmax(f1))])


def _candidates(seed: int) -> dict:
    sk = _sklearn()
    signed_log = sk.FunctionTransformer(_signed_log, feature_names_out="one-to-one")
    return {
        "logistic_regression": sk.make_pipeline(sk.SimpleImputer(strategy="median"), signed_log,
                                                sk.StandardScaler(), sk.LogisticRegression(max_iter=2000)),
        "gradient_boosting": sk.HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=20,
            l2_regularization=1.0, early_stopping=False, random_state=seed),
    }


def _sklearn():
    """:mod:`analytics.churn_sklearn`: scikit-learn's estimators and metrics and our calibration."""
    # Deliberate lazy load: only fitting and scoring need scikit-learn; reading a stored
    # ChurnModel (the web's pages) must not load it.
    from . import churn_sklearn

    return churn_sklearn


def _signed_log(values: np.ndarray) -> np.ndarray:
    """sign(v) log(1 + |v|): tames heavy-tailed money and counts for the linear model."""
    return np.sign(values) * np.log1p(np.abs(values))


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
    ``churn_probability`` and ``net_revenue_at_risk`` (e.g. :func:`score_customers`
    or the portal's customer table); rows without a band (not scored) are left
    out.  Columns: ``customers``, ``share`` (of the banded customers; NaN if
    none), ``net_revenue_at_risk`` (sum, currency, net basis; 0 when empty),
    ``net_revenue_at_risk_share`` (of the total; NaN if the total is 0),
    ``mean_churn_probability`` (NaN when empty).  Band cut-offs: :data:`RISK_BANDS`.
    """
    bands = list(RISK_BAND_LABELS)
    band = pd.Categorical(customers["risk_band"].astype("object"), categories=bands)
    grouped = customers[["churn_probability", "net_revenue_at_risk"]].groupby(band, observed=False)
    out = pd.DataFrame({
        "customers": grouped.size().astype("int64"),
        "net_revenue_at_risk": grouped["net_revenue_at_risk"].sum(min_count=0).astype("float64"),
        "mean_churn_probability": grouped["churn_probability"].mean().astype("float64"),
    }).reindex(bands)
    total, money = int(out["customers"].sum()), float(out["net_revenue_at_risk"].sum())
    out.insert(1, "share", out["customers"] / total if total else np.nan)
    out.insert(3, "net_revenue_at_risk_share", out["net_revenue_at_risk"] / money if money else np.nan)
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
