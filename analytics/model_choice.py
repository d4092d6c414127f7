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

**Choice rule** (:data:`CHOICE_RULE`): lowest holdout MAE; candidates within
:data:`TIE_TOLERANCE` (1 %) of the lowest are tied and the tie goes to the
earliest of BG/NBD, MBG/NBD, Pareto/NBD (all have four parameters; BG/NBD
first because it is the published default and the cheapest to score).

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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .btyd import calibration_holdout_split
from .dates import as_day, require_shop_local
from .btyd_models import PENALIZER_LADDER, unique_rows
from .errors import AnalyticsError
from .purchase_models import CANDIDATES, LABELS, fit_purchase_model, pooled_rows

TIE_TOLERANCE = 0.01
PNBD_SAMPLE = 10_000
MIN_REPEAT_CUSTOMERS = 200
MIN_HOLDOUT_WINDOWS = 2
FREQUENCY_BUCKETS = ("0", "1", "2", "3", "4", "5", "6", "7+")
CHOICE_RULE = (f"lowest holdout MAE per customer; candidates within {TIE_TOLERANCE:.0%} of the lowest are "
               "tied and the tie goes to the first of BG/NBD, MBG/NBD, Pareto/NBD (all have four parameters)")


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

    def to_dict(self) -> dict:
        return {"model": self.model, "label": LABELS[self.model], "params": self.params,
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
    sample_size = None
    for name in candidates:
        data = pooled
        if name == "pnbd" and len(split) > PNBD_SAMPLE:
            rng = np.random.default_rng(seed)
            sample = split.iloc[np.sort(rng.choice(len(split), PNBD_SAMPLE, replace=False))]
            data, sample_size = pooled_rows(sample), PNBD_SAMPLE
        scores[name] = _score(name, data, pooled, inverse, actual, bucket, float(holdout_days))
    chosen = pick(scores)
    return ModelChoice(cal_end, snapshot, holdout_days, len(split), float(actual.sum()), scores, chosen,
                       pnbd_sample=sample_size)


def pick(scores: dict[str, CandidateScore]) -> str | None:
    """The :data:`CHOICE_RULE` applied to scored candidates (None when none was fitted)."""
    ok = {k: v for k, v in scores.items() if v.error is None and np.isfinite(v.mae)}
    if not ok:
        return None
    best = min(v.mae for v in ok.values())
    tied = [k for k in CANDIDATES if k in ok and ok[k].mae <= best * (1 + TIE_TOLERANCE) + 1e-12]
    return tied[0]


def _score(name: str, data: pd.DataFrame, pooled: pd.DataFrame, inverse: np.ndarray, actual: np.ndarray,
           bucket: np.ndarray, days: float) -> CandidateScore:
    """Fit at penalizer 0; when that fails, each ladder penalizer, keeping the lowest holdout MAE."""
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
                              float("nan"), pd.DataFrame(), tuple(notes), error=" ".join(notes))
    mae, fit, predicted = min(attempts, key=lambda a: a[0])
    if fit.penalizer > 0:
        notes.append(f"{LABELS[name]} failed without a penalty; penalizer {fit.penalizer:g} was chosen on the "
                     f"holdout (lowest MAE of {len(attempts)} tried).")
    frame = pd.DataFrame({"bucket": np.asarray(FREQUENCY_BUCKETS)[bucket], "actual": actual,
                          "predicted": predicted})
    buckets = frame.groupby("bucket").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                          predicted=("predicted", "mean"))
    buckets = buckets.reindex([b for b in FREQUENCY_BUCKETS if b in buckets.index])
    return CandidateScore(name, dict(fit.params), fit.penalizer, fit.no_dropout, fit.n_customers, mae,
                          float(predicted.sum()), buckets, tuple(notes) + fit.notes)


def _first_purchase(lines: pd.DataFrame) -> pd.Timestamp | None:
    dates = lines.loc[lines["customer_id"].notna(), "invoice_date"]
    return None if dates.empty else dates.min().normalize()
