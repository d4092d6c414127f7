"""Customer lifetime value: BG/NBD (how many purchases) x Gamma-Gamma (how much).

Both models are fitted on the orders before the snapshot, summarised per
customer by :mod:`analytics.btyd` in days (see :mod:`analytics.btyd_models`
for the models, the penalizer ladder, the monetary cap and the numerics).

Per customer (:attr:`ClvResult.customers`, indexed by ``customer_id``):
``frequency``, ``recency``, ``T`` (days), ``monetary_value`` (the summary);
``p_alive`` = P(still alive at the snapshot); ``expected_orders_{30,90,365}d``
= expected repeat purchase days in the next 30/90/365 days;
``expected_order_value`` = Gamma-Gamma conditional mean value per purchase
day (one-time customers: the population mean ``p v / (q - 1)``); ``clv`` =
sum over months m = 1..horizon of expected purchases in month m x expected
value / (1 + monthly_discount)^m, a month being 365.25/12 days (gross
revenue, no margin applied); ``clv_12m`` the same over 12 months;
``clv_tier`` = "top 1%" / "top 10%" / "rest" by CLV rank (rank / customers
<= 1 % or <= 10 %, ties sharing the best rank).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .btyd import calibration_holdout_split, customer_summary, purchase_days
from .btyd_models import BgNbdFit, GammaGammaFit, fit_bgnbd, fit_gamma_gamma
from .constants import DAYS_PER_MONTH
from .dates import as_day
from .errors import InsufficientDataError

__all__ = ["BgNbdFit", "ClvResult", "ClvValidation", "GammaGammaFit", "clv_tiers", "fit_bgnbd",
           "fit_clv", "fit_gamma_gamma", "p_alive_grid", "validate_clv"]

TIER_CUTS = (("top 1%", 0.01), ("top 10%", 0.10))
FREQUENCY_BUCKETS = ("0", "1", "2", "3", "4", "5", "6", "7+")


@dataclass(frozen=True)
class ClvResult:
    """CLV model fitted at ``snapshot_date``; see the module docstring for the columns."""

    snapshot_date: pd.Timestamp
    bgnbd_params: dict[str, float]  # r, alpha (days), a, b
    gg_params: dict[str, float] | None  # p, q, v; None if Gamma-Gamma could not be fitted
    penalizer: float  # BG/NBD penalizer actually used
    gg_penalizer: float | None
    freq_monetary_corr: float  # Pearson, repeat customers with positive value
    monetary_cap: float | None
    population_mean_order_value: float
    horizon_months: int
    monthly_discount: float
    customers: pd.DataFrame
    notes: tuple[str, ...] = ()
    bgnbd: BgNbdFit | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class ClvValidation:
    """Calibration/holdout check of the BG/NBD purchase forecast.

    ``buckets``: per calibration frequency ("0".."6", "7+"), customers and mean
    actual / BG/NBD-predicted / naive-baseline holdout purchase days.
    ``metrics``: per method ("bgnbd", "naive"), per-customer MAE, RMSE,
    Pearson correlation with actual, and total predicted purchases.  Naive
    baseline: calibration purchase days / age in days (first purchase day to
    calibration end) x holdout days.
    """

    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    holdout_days: int
    n_customers: int
    total_actual: float
    buckets: pd.DataFrame
    metrics: dict[str, dict[str, float]]
    bgnbd_params: dict[str, float]
    penalizer: float
    notes: tuple[str, ...] = ()


def fit_clv(lines: pd.DataFrame, snapshot_date: str | pd.Timestamp, penalizer: float = 0.001,
            horizon_months: int = 12, monthly_discount: float = 0.01,
            monetary_cap_quantile: float | None = 0.99, gg_penalizer: float | None = None) -> ClvResult:
    """Fit BG/NBD + Gamma-Gamma on the orders before ``snapshot_date`` and score customers.

    ``lines``: cleaned lines (or an order table, see :func:`analytics.btyd.purchase_days`).
    ``gg_penalizer`` defaults to ``penalizer``.  If Gamma-Gamma cannot be
    fitted, every customer's expected order value is the mean purchase-day
    value of all customers and the notes say why.  Raises
    InsufficientDataError when BG/NBD cannot be fitted.
    """
    if horizon_months < 1 or monthly_discount < 0:
        raise ValueError("horizon_months must be >= 1 and monthly_discount >= 0")
    snapshot = as_day(snapshot_date, "snapshot_date")
    summary = customer_summary(lines, snapshot)
    bg = fit_bgnbd(summary, penalizer)
    notes = list(bg.notes)
    gg_pen = penalizer if gg_penalizer is None else gg_penalizer
    try:
        gg = fit_gamma_gamma(summary, gg_pen, monetary_cap_quantile)
        notes += gg.notes
        value = gg.expected_value(summary["frequency"].to_numpy(), summary["monetary_value"].to_numpy())
        mean_value = gg.population_mean
    except InsufficientDataError as exc:
        gg = None
        mean_value = float(purchase_days(lines, end=snapshot)["value"].mean())
        value = np.full(len(summary), mean_value)
        notes.append(f"{exc} Expected order value = mean purchase value of all customers "
                     f"({mean_value:.2f}).")
    table = summary.copy()
    table["p_alive"] = bg.p_alive(summary)
    for days in (30, 90, 365):
        table[f"expected_orders_{days}d"] = bg.expected_purchases(days, summary)
    table["expected_order_value"] = value
    table["clv"] = _discounted_value(bg, summary, value, horizon_months, monthly_discount)
    table["clv_12m"] = (table["clv"] if horizon_months == 12
                        else _discounted_value(bg, summary, value, 12, monthly_discount))
    table["clv_tier"] = clv_tiers(table["clv"])
    return ClvResult(
        snapshot_date=snapshot, bgnbd_params=bg.params, penalizer=bg.penalizer,
        gg_params=None if gg is None else gg.params, gg_penalizer=None if gg is None else gg.penalizer,
        freq_monetary_corr=float("nan") if gg is None else gg.freq_monetary_corr,
        monetary_cap=None if gg is None else gg.monetary_cap,
        population_mean_order_value=float(mean_value), horizon_months=horizon_months,
        monthly_discount=monthly_discount, customers=table, notes=tuple(notes), bgnbd=bg)


def clv_tiers(clv: pd.Series) -> pd.Series:
    """"top 1%" / "top 10%" / "rest" by CLV rank (best rank for ties) over customers."""
    share = clv.rank(ascending=False, method="min") / max(len(clv), 1)
    tier = np.full(len(clv), "rest", dtype=object)
    for label, cut in reversed(TIER_CUTS):
        tier[(share <= cut).to_numpy()] = label
    return pd.Series(pd.Categorical(tier, categories=[t for t, _ in TIER_CUTS] + ["rest"]),
                     index=clv.index, name="clv_tier")


def validate_clv(lines: pd.DataFrame, snapshot_date: str | pd.Timestamp, holdout_days: int = 90,
                 penalizer: float = 0.001) -> ClvValidation:
    """Fit BG/NBD on orders before ``snapshot - holdout_days``, forecast the holdout.

    Customers: those with a purchase before the calibration end.  Actual =
    their purchase days in ``[snapshot - holdout_days, snapshot)``.
    """
    snapshot = as_day(snapshot_date, "snapshot_date")
    if holdout_days < 1:
        raise ValueError("holdout_days must be >= 1")
    cal_end = snapshot - pd.Timedelta(days=holdout_days)
    split = calibration_holdout_split(lines, cal_end, snapshot)
    if split.empty:
        raise InsufficientDataError(
            f"No customer purchased before the calibration end {cal_end.date()} "
            f"({holdout_days} days before the snapshot); use a shorter holdout.")
    bg = fit_bgnbd(split, penalizer)
    actual = split["frequency_holdout"].to_numpy(dtype=float)
    predictions = {
        "bgnbd": bg.expected_purchases(float(holdout_days), split),
        "naive": (split["frequency"].to_numpy() + 1) / (split["T"].to_numpy() + 1) * holdout_days,
    }
    metrics = {name: _errors(actual, pred) for name, pred in predictions.items()}
    bucket = np.minimum(split["frequency"].to_numpy(), 7)
    frame = pd.DataFrame({"bucket": np.asarray(FREQUENCY_BUCKETS)[bucket], "actual": actual,
                          "predicted": predictions["bgnbd"], "baseline": predictions["naive"]})
    buckets = frame.groupby("bucket").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                          predicted=("predicted", "mean"), baseline=("baseline", "mean"))
    buckets = buckets.reindex([b for b in FREQUENCY_BUCKETS if b in buckets.index])
    return ClvValidation(cal_end, snapshot, int(holdout_days), len(split), float(actual.sum()),
                         buckets, metrics, bg.params, bg.penalizer, bg.notes)


def _errors(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    error = predicted - actual
    corr = (float(np.corrcoef(actual, predicted)[0, 1])
            if np.std(actual) > 0 and np.std(predicted) > 0 else float("nan"))
    return {"mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(np.mean(error ** 2))),
            "correlation": corr, "total_predicted": float(predicted.sum())}


def _discounted_value(bg: BgNbdFit, summary: pd.DataFrame, value: np.ndarray,
                      months: int, monthly_discount: float) -> np.ndarray:
    """Sum over months of (expected purchases in the month) x value, discounted monthly."""
    cumulative = np.column_stack(
        [np.zeros(len(summary))]
        + [bg.expected_purchases(m * DAYS_PER_MONTH, summary) for m in range(1, months + 1)])
    per_month = np.maximum(np.diff(cumulative, axis=1), 0.0)
    discount = (1.0 + monthly_discount) ** -np.arange(1, months + 1)
    return value * (per_month @ discount)


def p_alive_grid(bgnbd_params: dict[str, float], T: float, frequencies, recencies) -> pd.DataFrame:
    """BG/NBD P(alive) of a customer of age ``T`` over a frequency x recency grid.

    ``bgnbd_params``: r, alpha (days), a, b (e.g. :attr:`ClvResult.bgnbd_params`);
    ``T``: age in days (first purchase to the snapshot, see :mod:`analytics.btyd`);
    ``frequencies``: repeat purchase days x (rows); ``recencies``: t_x, days from
    the first to the last purchase day (columns).  Each cell is Fader, Hardie &
    Lee's (2005) P(alive | x, t_x, T) = 1 / (1 + a / (b + x - 1) x ((alpha + T) /
    (alpha + t_x))^(r + x)) for x >= 1 and 1 for x = 0 (lifetimes'
    ``conditional_probability_alive``), as :meth:`BgNbdFit.p_alive` computes it
    for customers.  Cells no customer can occupy are NaN: t_x > T; x = 0 with
    t_x > 0; x >= 1 with t_x < x (x repeat purchase days need x distinct days
    after the first).  Index ``frequency``, columns ``recency`` (floats).
    """
    x = np.asarray(list(frequencies), dtype=float)
    tx = np.asarray(list(recencies), dtype=float)
    if x.size == 0 or tx.size == 0:
        raise ValueError("frequencies and recencies must not be empty")
    if T < 0 or (x < 0).any() or (tx < 0).any():
        raise ValueError("T, frequencies and recencies must be >= 0")
    fx, ftx = np.meshgrid(x, tx, indexing="ij")
    summary = pd.DataFrame({"frequency": fx.ravel(), "recency": ftx.ravel(), "T": float(T)})
    fit = BgNbdFit(params=dict(bgnbd_params), penalizer=0.0, n_customers=0, log_likelihood=float("nan"))
    values = fit.p_alive(summary).reshape(fx.shape)
    possible = (ftx <= T) & np.where(fx == 0, ftx == 0, ftx >= fx)
    return pd.DataFrame(np.where(possible, values, np.nan), index=pd.Index(x, name="frequency"),
                        columns=pd.Index(tx, name="recency"))
