"""Choosing the purchase model on held-out time.

:func:`choose_purchase_model` splits the log at ``snapshot - holdout_days``:
every candidate of :data:`~analytics.purchase_models.CANDIDATES` is fitted on
the calibration summary (purchases before the split) and forecasts each
calibration customer's repeat purchase days in the holdout, compared with what
they did:

* ``mae``: mean absolute error per customer (purchase days);
* ``total_predicted`` against ``total_actual``;
* ``buckets``: per calibration frequency ("0".."6", "7+"), mean actual vs
  predicted (calibration by repeat-purchase bucket).

**Choice rule** (:data:`CHOICE_RULE`): the holdout MAE first, the likelihood
among the practically equal.

1. A candidate is *tied* with the lowest holdout MAE when its MAE exceeds it by
   at most :data:`TIE_TOLERANCE` (5 %) of the lowest, or by at most twice the
   paired standard error of the per-customer difference of absolute errors
   (``mae_gap_se``: the noise of the comparison on this holdout).  MAE alone
   cannot tell the families apart: it rewards forecasts shrunk towards the
   median (0 purchases for most customers), and on logs simulated by BG/NBD
   the Pareto/NBD fit wins it by 2-4 % (paired SE 0.3 %), although its
   likelihood is hundreds of units lower.
2. Among the tied, the lowest AIC on the calibration period (``2 k - 2 LL``
   over every calibration customer, k parameters; the Pareto/NBD fitted on a
   sample is scored on all of them) wins: the likelihood is what identifies
   the process that generated the data, and AIC charges extra parameters.
3. AIC within :data:`AIC_MARGIN` (2) of the lowest counts as equal, and the
   tie goes to the earliest of BG/NBD, MBG/NBD, Pareto/NBD (all three have
   four parameters; BG/NBD first as the published default and the cheapest to
   score).  Candidates that all sit on the no-dropout boundary are the same
   NBD model with the same likelihood, so BG/NBD is chosen and said to find no
   dropout.

Penalty: each candidate is fitted at penalizer 0 (plain maximum likelihood);
only when that fails are the penalizers of
:data:`~analytics.btyd_models.PENALIZER_LADDER` tried and the one with the
lowest holdout MAE kept (the notes say so).

Pareto/NBD's likelihood is slow, so for the choice it is fitted on a random
sample of at most :data:`PNBD_SAMPLE` calibration customers (seeded); its
holdout figures are still computed on every calibration customer.

Too little data for a holdout (fewer than :data:`MIN_REPEAT_CUSTOMERS` repeat
customers in the calibration period, or a log spanning fewer than
:data:`MIN_HOLDOUT_WINDOWS` holdout windows) gives a :class:`ModelChoice` with
``insufficient`` set to the reason and no candidates scored.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .btyd import calibration_holdout_split
from .dates import as_day, require_shop_local
from .btyd_models import PENALIZER_LADDER, pooled_rows, unique_rows
from .errors import AnalyticsError
from .purchase_models import CANDIDATES, FIT_CLASSES, LABELS, fit_purchase_model, log_likelihood

TIE_TOLERANCE = 0.05
AIC_MARGIN = 2.0
PNBD_SAMPLE = 10_000
MIN_REPEAT_CUSTOMERS = 200
MIN_HOLDOUT_WINDOWS = 2
FREQUENCY_BUCKETS = ("0", "1", "2", "3", "4", "5", "6", "7+")
CHOICE_RULE = (f"lowest holdout MAE per customer; candidates within {TIE_TOLERANCE:.0%} of the lowest (or within "
               "twice the paired standard error of the difference) are tied, and among them the lowest AIC on the "
               f"calibration period wins (likelihood, charged 2 per parameter); AIC within {AIC_MARGIN:g} is equal "
               "and goes to the first of BG/NBD, MBG/NBD, Pareto/NBD (all have four parameters)")


@dataclass(frozen=True)
class CandidateScore:
    """One candidate on the holdout; ``error`` set (and figures NaN) when it could not be fitted."""

    model: str
    params: dict[str, float]
    penalizer: float
    no_dropout: bool
    fitted_customers: int  # customers in the fit (the Pareto/NBD sample when sampled)
    mae: float
    total_predicted: float
    buckets: pd.DataFrame  # index bucket; customers, actual, predicted (means, purchase days)
    notes: tuple[str, ...] = ()
    error: str | None = None
    log_likelihood: float = float("nan")  # calibration period, every calibration customer
    mae_gap_se: float = 0.0  # paired standard error of (this MAE - the lowest MAE)

    @property
    def aic(self) -> float:
        """2 k - 2 LL on the calibration period."""
        return 2 * len(FIT_CLASSES[self.model].param_names) - 2 * self.log_likelihood

    def to_dict(self) -> dict:
        return {"model": self.model, "label": LABELS[self.model], "params": self.params,
                "log_likelihood": self.log_likelihood, "aic": self.aic, "mae_gap_se": self.mae_gap_se,
                "penalizer": self.penalizer, "no_dropout": self.no_dropout,
                "fitted_customers": self.fitted_customers, "holdout_mae": self.mae,
                "holdout_total_predicted": self.total_predicted,
                "buckets": self.buckets.reset_index().to_dict("records"), "notes": list(self.notes),
                "error": self.error}


@dataclass(frozen=True)
class ModelChoice:
    """Holdout scores of the candidates and the chosen model (None when nothing could be scored)."""

    calibration_end: pd.Timestamp | None
    holdout_end: pd.Timestamp
    holdout_days: int
    n_customers: int
    total_actual: float
    candidates: dict[str, CandidateScore] = field(default_factory=dict)
    chosen: str | None = None
    rule: str = CHOICE_RULE
    insufficient: str | None = None
    pnbd_sample: int | None = None

    @property
    def dropout_found(self) -> bool:
        """Some candidate fitted on the calibration period finds dropout."""
        return any(not c.no_dropout for c in self.candidates.values() if c.error is None)

    def to_dict(self) -> dict:
        return {"calibration_end": self.calibration_end, "holdout_end": self.holdout_end,
                "holdout_days": self.holdout_days, "customers": self.n_customers,
                "total_actual": self.total_actual, "rule": self.rule, "chosen": self.chosen,
                "insufficient": self.insufficient, "pnbd_sample_customers": self.pnbd_sample,
                "candidates": {k: v.to_dict() for k, v in self.candidates.items()}}


def choose_purchase_model(lines: pd.DataFrame, snapshot_date: str | pd.Timestamp, holdout_days: int = 90,
                          candidates: tuple[str, ...] = CANDIDATES, seed: int = 0) -> ModelChoice:
    """Score ``candidates`` on the last ``holdout_days`` before the snapshot and choose one
    (see the module docstring for the figures, the rule and the sample)."""
    require_shop_local(lines)
    snapshot = as_day(snapshot_date, "snapshot_date")
    if holdout_days < 1:
        raise ValueError("holdout_days must be >= 1")
    cal_end = snapshot - pd.Timedelta(days=holdout_days)
    first = _first_purchase(lines)
    span = (snapshot - first).days if first is not None else 0
    if span < MIN_HOLDOUT_WINDOWS * holdout_days:
        return ModelChoice(None, snapshot, holdout_days, 0, 0.0, insufficient=(
            f"The log spans {span} days before the snapshot; choosing a purchase model on held-out time needs "
            f"at least {MIN_HOLDOUT_WINDOWS} holdout windows of {holdout_days} days. The model was not chosen "
            "on a holdout."))
    split = calibration_holdout_split(lines, cal_end, snapshot)
    repeaters = int((split["frequency"] > 0).sum())
    if repeaters < MIN_REPEAT_CUSTOMERS:
        return ModelChoice(cal_end, snapshot, holdout_days, len(split),
                           float(split["frequency_holdout"].sum()), insufficient=(
            f"Only {repeaters} customers bought on two different days before {cal_end.date()}; choosing a "
            f"purchase model on held-out time needs at least {MIN_REPEAT_CUSTOMERS}. The model was not chosen "
            "on a holdout."))
    pooled, inverse = unique_rows(split)
    actual = split["frequency_holdout"].to_numpy(dtype=float)
    bucket = np.minimum(split["frequency"].to_numpy(), 7)
    scores: dict[str, CandidateScore] = {}
    errors: dict[str, np.ndarray] = {}
    sample_size = None
    for name in candidates:
        data = pooled
        if name == "pnbd" and len(split) > PNBD_SAMPLE:
            rng = np.random.default_rng(seed)
            sample = split.iloc[np.sort(rng.choice(len(split), PNBD_SAMPLE, replace=False))]
            data, sample_size = pooled_rows(sample), PNBD_SAMPLE
        scores[name], errors[name] = _score(name, data, pooled, inverse, actual, bucket, float(holdout_days))
    scores = _with_gap_se(scores, errors)
    chosen = pick(scores)
    return ModelChoice(cal_end, snapshot, holdout_days, len(split), float(actual.sum()), scores, chosen,
                       pnbd_sample=sample_size)


def pick(scores: dict[str, CandidateScore]) -> str | None:
    """The :data:`CHOICE_RULE` applied to scored candidates (None when none was fitted)."""
    ok = {k: v for k, v in scores.items() if v.error is None and np.isfinite(v.mae)}
    if not ok:
        return None
    best = min(v.mae for v in ok.values())
    tied = [k for k in CANDIDATES if k in ok
            and ok[k].mae - best <= max(TIE_TOLERANCE * best, 2 * ok[k].mae_gap_se) + 1e-12]
    aic = {k: ok[k].aic for k in tied if np.isfinite(ok[k].aic)}
    if not aic:
        return tied[0]
    lowest = min(aic.values())
    return next(k for k in tied if k in aic and aic[k] <= lowest + AIC_MARGIN)


def _with_gap_se(scores: dict[str, CandidateScore], errors: dict[str, np.ndarray]) -> dict[str, CandidateScore]:
    """Each fitted candidate's paired standard error of its MAE gap to the lowest MAE."""
    ok = [k for k, v in scores.items() if v.error is None and np.isfinite(v.mae)]
    if not ok:
        return scores
    best = errors[min(ok, key=lambda k: scores[k].mae)]
    out = dict(scores)
    for k in ok:
        gap = errors[k] - best
        se = float(gap.std(ddof=1) / np.sqrt(len(gap))) if len(gap) > 1 else 0.0
        out[k] = replace(scores[k], mae_gap_se=se)
    return out


def _score(name: str, data: pd.DataFrame, pooled: pd.DataFrame, inverse: np.ndarray, actual: np.ndarray,
           bucket: np.ndarray, days: float) -> tuple[CandidateScore, np.ndarray]:
    """Fit at penalizer 0; when that fails, each ladder penalizer, keeping the lowest holdout MAE.
    Returns the score and the per-customer absolute errors."""
    attempts, notes = [], []
    for pen in (0.0,) + PENALIZER_LADDER:
        try:
            fit = fit_purchase_model(data, name, pen, ladder=())
        except AnalyticsError as exc:
            notes.append(str(exc))
            if attempts:
                break
            continue
        predicted = fit.expected_purchases(days, pooled)[inverse]
        attempts.append((float(np.mean(np.abs(predicted - actual))), fit, predicted))
        if pen == 0.0:
            break
    if not attempts:
        return CandidateScore(name, {}, float("nan"), False, int(data["weight"].sum()), float("nan"),
                              float("nan"), pd.DataFrame(), tuple(notes), error=" ".join(notes)), actual
    mae, fit, predicted = min(attempts, key=lambda a: a[0])
    if fit.penalizer > 0:
        notes.append(f"{LABELS[name]} failed without a penalty; penalizer {fit.penalizer:g} was chosen on the "
                     f"holdout (lowest MAE of {len(attempts)} tried).")
    frame = pd.DataFrame({"bucket": np.asarray(FREQUENCY_BUCKETS)[bucket], "actual": actual,
                          "predicted": predicted})
    buckets = frame.groupby("bucket").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                          predicted=("predicted", "mean"))
    buckets = buckets.reindex([b for b in FREQUENCY_BUCKETS if b in buckets.index])
    score = CandidateScore(name, dict(fit.params), fit.penalizer, fit.no_dropout, fit.n_customers, mae,
                           float(predicted.sum()), buckets, tuple(notes) + fit.notes,
                           log_likelihood=log_likelihood(fit, pooled))
    return score, np.abs(predicted - actual)


def _first_purchase(lines: pd.DataFrame) -> pd.Timestamp | None:
    dates = lines.loc[lines["customer_id"].notna(), "invoice_date"]
    return None if dates.empty else dates.min().normalize()
