"""Customer lifetime value: a purchase model (how many purchases) x Gamma-Gamma (how much).

:func:`fit_clv` fits, on the orders before the snapshot summarised per customer
by :mod:`analytics.btyd` in days, the purchase model chosen on held-out time
among BG/NBD, MBG/NBD and Pareto/NBD (:mod:`analytics.model_choice`; or the one
forced by ``model``), refitted on all data at plain maximum likelihood, and
Gamma-Gamma on *gross* purchase-day values (:mod:`analytics.btyd_models`).

**Money basis.** Gamma-Gamma needs positive values and returns are not linked
to orders, so it is fitted on gross purchase values; each customer's
prediction is then scaled by their own ``net_to_gross_ratio`` = (sales -
returns) / sales before the snapshot, clipped to [0, 1] (1 without sales).
Columns say their basis: ``*_gross`` or ``net_*``.

Per customer (:attr:`ClvResult.customers`, indexed by ``customer_id``):

``repeat_purchase_days``, ``btyd_recency_days``, ``btyd_age_days``
    the BTYD summary (frequency x, first-to-last purchase day t_x, age T; days).
``mean_repeat_purchase_value_gross``
    mean gross value of the repeat purchase days (0 without repeats).
``p_alive``
    P(still alive at the snapshot) by the chosen model (see
    :attr:`ClvResult.p_alive_informative`).
``expected_purchase_days_{30,90,365}d``
    expected repeat purchase days in the next 30/90/365 days.
``expected_purchase_value_gross``
    Gamma-Gamma conditional mean gross value per purchase day (one-time
    customers: the population mean ``p v / (q - 1)``).
``net_to_gross_ratio``
    see above.
``gross_clv``, ``net_clv``
    sum over months m = 1..horizon of expected purchases in month m x expected
    value / (1 + monthly_discount)^m, a month being 365.25/12 days; net = gross
    x ratio (revenue, no margin applied).
``net_clv_12m``
    net CLV over 12 months.
``clv_tier``
    narrowest cumulative tier by ``net_clv`` (:mod:`analytics.tiers`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .btyd import calibration_holdout_split, customer_summary, purchase_days
from .btyd_models import BgNbdFit, GammaGammaFit, fit_bgnbd, fit_gamma_gamma, unique_rows
from .constants import DAYS_PER_MONTH
from .dates import as_day, require_shop_local
from .errors import InsufficientDataError
from .model_choice import CHOICE_RULE, FREQUENCY_BUCKETS, ModelChoice, choose_purchase_model
from .purchase_models import CANDIDATES, FIT_CLASSES, LABELS, fit_purchase_model
from .schema import LINE_IS_RETURN, LINE_REVENUE
from .tiers import TIER_CUTS, clv_tiers, in_tier, tier_counts

__all__ = ["BgNbdFit", "CANDIDATES", "ClvResult", "ClvValidation", "GammaGammaFit", "TIER_CUTS",
           "clv_tiers", "fit_bgnbd", "fit_clv", "fit_gamma_gamma", "in_tier", "net_to_gross_ratio",
           "p_alive_grid", "tier_counts", "validate_clv"]

#: customers-table column of the BTYD summary name it renames.
SUMMARY_NAMES: dict[str, str] = {"frequency": "repeat_purchase_days", "recency": "btyd_recency_days",
                                 "T": "btyd_age_days", "monetary_value": "mean_repeat_purchase_value_gross"}
CLV_COLUMNS: tuple[str, ...] = (
    *SUMMARY_NAMES.values(), "p_alive", "expected_purchase_days_30d", "expected_purchase_days_90d",
    "expected_purchase_days_365d", "expected_purchase_value_gross", "net_to_gross_ratio", "gross_clv",
    "net_clv", "net_clv_12m", "clv_tier")


@dataclass(frozen=True)
class ClvResult:
    """CLV model fitted at ``snapshot_date``; see the module docstring for the columns.

    ``purchase_model``: name of the purchase model used ("bgnbd", "mbgnbd",
    "pnbd"), ``forced``: True when the caller chose it; ``choice``: every
    candidate's holdout figures.  ``p_alive_informative`` is False when the
    purchase model finds no dropout (boundary fit) or when no candidate fitted on
    the calibration period does: P(alive) is then about 1 for everybody and says
    nothing about risk.
    """

    snapshot_date: pd.Timestamp
    purchase_model: str
    purchase_params: dict[str, float]  # alpha (and beta) in days
    gg_params: dict[str, float] | None  # p, q, v (gross); None if Gamma-Gamma could not be fitted
    penalizer: float  # purchase-model penalizer actually used
    gg_penalizer: float | None
    freq_monetary_corr: float  # Pearson, repeat customers with positive value
    monetary_cap: float | None  # gross
    population_mean_order_value: float  # gross, per purchase day
    horizon_months: int
    monthly_discount: float
    customers: pd.DataFrame
    notes: tuple[str, ...] = ()
    forced: bool = False
    p_alive_informative: bool = True
    choice: ModelChoice | None = field(default=None, repr=False, compare=False)
    fit: object = field(default=None, repr=False, compare=False)
    gamma_gamma: GammaGammaFit | None = field(default=None, repr=False, compare=False)

    @property
    def bgnbd_params(self) -> dict[str, float]:
        """The purchase model's parameters (kept for callers written for BG/NBD only)."""
        return self.purchase_params

    @property
    def bgnbd(self):
        return self.fit


@dataclass(frozen=True)
class ClvValidation:
    """Calibration/holdout check of one purchase model's forecast (see :func:`validate_clv`)."""

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
    model: str = "bgnbd"


def fit_clv(lines: pd.DataFrame, snapshot_date: str | pd.Timestamp, penalizer: float = 0.0,
            horizon_months: int = 12, monthly_discount: float = 0.01,
            monetary_cap_quantile: float | None = 0.99, gg_penalizer: float | None = None, *,
            model: str = "auto", holdout_days: int = 90, seed: int = 0) -> ClvResult:
    """Choose (or take ``model``), fit and score the CLV model on orders before ``snapshot_date``.

    ``lines``: cleaned lines (or an order table, see :func:`analytics.btyd.purchase_days`).
    ``model``: "auto" (chosen on the last ``holdout_days``, :mod:`analytics.model_choice`)
    or one of "bgnbd", "mbgnbd", "pnbd" (forced; candidates are still scored
    and reported).  ``penalizer``: 0 = plain maximum likelihood (a penalty is
    used only when a fit fails, chosen on the holdout when possible).
    ``gg_penalizer`` defaults to ``penalizer``.  If Gamma-Gamma cannot be
    fitted every customer's expected value is the mean gross purchase-day value
    and the notes say why.  Raises InsufficientDataError when no purchase model can be fitted.
    """
    if horizon_months < 1 or monthly_discount < 0:
        raise ValueError("horizon_months must be >= 1 and monthly_discount >= 0")
    if model != "auto" and model not in CANDIDATES:
        raise ValueError(f"model must be 'auto' or one of {CANDIDATES}, got {model!r}")
    snapshot = as_day(snapshot_date, "snapshot_date")
    # one pass over the lines: purchase days as an order table (one row per customer and day)
    days = purchase_days(lines, end=snapshot)
    orders = pd.DataFrame({"customer_id": days["customer_id"], "invoice_date": days["day"], "revenue": days["value"]})
    summary = customer_summary(orders, snapshot)
    choice = choose_purchase_model(orders, snapshot, holdout_days, seed=seed)
    notes: list[str] = []
    if model != "auto":
        name, pen = model, penalizer
        notes.append(f"{LABELS[name]} was forced; the candidates' holdout figures are shown for comparison.")
    elif choice.chosen is not None:
        name = choice.chosen
        pen = max(penalizer, choice.candidates[name].penalizer)
        notes.append(f"{LABELS[name]} chosen on the last {holdout_days} days ({CHOICE_RULE}).")
    else:
        name, pen = "bgnbd", penalizer
        notes.append((choice.insufficient or "No candidate could be fitted on the calibration period.")
                     + " BG/NBD is used.")
    scored = choice.candidates.get(name)
    start = scored.params if scored is not None and scored.error is None and name != "bgnbd" else None
    fit = fit_purchase_model(summary, name, pen, start=start)
    notes += fit.notes
    gg, value, mean_value = _gamma_gamma(orders, summary, snapshot, gg_penalizer if gg_penalizer is not None
                                         else penalizer, monetary_cap_quantile, notes)
    ratio = net_to_gross_ratio(lines, snapshot).reindex(summary.index, fill_value=1.0).to_numpy()
    table = summary.rename(columns=SUMMARY_NAMES)
    uniq, inverse = unique_rows(summary)
    table["p_alive"] = fit.p_alive(uniq)[inverse]
    for days in (30, 90, 365):
        table[f"expected_purchase_days_{days}d"] = fit.expected_purchases(float(days), uniq)[inverse]
    table["expected_purchase_value_gross"] = value
    table["net_to_gross_ratio"] = ratio
    per_month = monthly_purchases(fit, uniq, max(horizon_months, 12))[inverse]
    discount = (1.0 + monthly_discount) ** -np.arange(1, per_month.shape[1] + 1)
    table["gross_clv"] = value * (per_month[:, :horizon_months] @ discount[:horizon_months])
    table["net_clv"] = table["gross_clv"] * ratio
    table["net_clv_12m"] = value * (per_month[:, :12] @ discount[:12]) * ratio
    table["clv_tier"] = clv_tiers(table["net_clv"])
    found = [LABELS[k] for k, c in choice.candidates.items() if c.error is None and not c.no_dropout]
    informative = not fit.no_dropout and (bool(found) or not choice.candidates)
    if not informative:
        notes.append("P(alive) carries no information here: " + (
            "no candidate model finds customers leaving for good in this log (every fit on the calibration "
            "period is on the no-dropout boundary); lean on the churn model for risk." if not found else
            f"the model used finds no dropout although {', '.join(found)} does on the calibration period."))
    return ClvResult(
        snapshot_date=snapshot, purchase_model=name, purchase_params=dict(fit.params), penalizer=fit.penalizer,
        gg_params=None if gg is None else gg.params, gg_penalizer=None if gg is None else gg.penalizer,
        freq_monetary_corr=float("nan") if gg is None else gg.freq_monetary_corr,
        monetary_cap=None if gg is None else gg.monetary_cap,
        population_mean_order_value=float(mean_value), horizon_months=horizon_months,
        monthly_discount=monthly_discount, customers=table, notes=tuple(notes), forced=model != "auto",
        p_alive_informative=informative, choice=choice, fit=fit, gamma_gamma=gg)


def net_to_gross_ratio(lines: pd.DataFrame, snapshot_date: str | pd.Timestamp) -> pd.Series:
    """Per customer with sales before the snapshot: (sales - returns) / sales, clipped to
    [0, 1]; 1 for an order table (no returns) or without sales."""
    require_shop_local(lines)
    snapshot = as_day(snapshot_date, "snapshot_date")
    if LINE_IS_RETURN not in lines.columns:
        return pd.Series(dtype="float64", index=pd.Index([], dtype="str", name="customer_id"))
    past = lines.loc[((lines["invoice_date"] < snapshot) & lines["customer_id"].notna()).to_numpy()]
    customer = past["customer_id"].astype("category")
    code = customer.cat.codes.to_numpy().astype(np.int64)
    n = len(customer.cat.categories)
    revenue = past[LINE_REVENUE].to_numpy(dtype=float)
    is_return = past[LINE_IS_RETURN].to_numpy()
    sales = np.bincount(code, weights=np.where(is_return, 0.0, revenue), minlength=n)
    returned = np.bincount(code, weights=np.where(is_return, -revenue, 0.0), minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(sales > 0, (sales - returned) / sales, 1.0)
    index = pd.Index(customer.cat.categories.astype("str"), dtype="str", name="customer_id")
    return pd.Series(np.clip(ratio, 0.0, 1.0), index=index, name="net_to_gross_ratio")


def monthly_purchases(fit, summary: pd.DataFrame, months: int) -> np.ndarray:
    """Expected repeat purchases in each month 1..``months`` (rows x months; a month = 365.25/12 days)."""
    cumulative = np.column_stack([np.zeros(len(summary))] + [
        fit.expected_purchases(m * DAYS_PER_MONTH, summary) for m in range(1, months + 1)])
    return np.maximum(np.diff(cumulative, axis=1), 0.0)


def _gamma_gamma(lines, summary, snapshot, pen, cap_quantile, notes):
    try:
        gg = fit_gamma_gamma(summary, pen, cap_quantile)
        notes += gg.notes
        value = gg.expected_value(summary["frequency"].to_numpy(), summary["monetary_value"].to_numpy())
        return gg, value, gg.population_mean
    except InsufficientDataError as exc:
        mean_value = float(purchase_days(lines, end=snapshot)["value"].mean())
        notes.append(f"{exc} Expected purchase value = mean gross purchase-day value of all customers "
                     f"({mean_value:.2f}).")
        return None, np.full(len(summary), mean_value), mean_value


def validate_clv(lines: pd.DataFrame, snapshot_date: str | pd.Timestamp, holdout_days: int = 90,
                 penalizer: float = 0.0, model: str = "bgnbd") -> ClvValidation:
    """Fit ``model`` on orders before ``snapshot - holdout_days``, forecast the holdout.

    Customers: those with a purchase before the calibration end.  Actual =
    their purchase days in ``[snapshot - holdout_days, snapshot)``.  Metrics per
    method ("model" under the name ``model`` and "naive" = calibration purchase
    days / age x holdout days): MAE, RMSE, correlation, total predicted.
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
    fit = fit_purchase_model(split, model, penalizer)
    actual = split["frequency_holdout"].to_numpy(dtype=float)
    predictions = {
        model: fit.expected_purchases(float(holdout_days), split),
        "naive": (split["frequency"].to_numpy() + 1) / (split["T"].to_numpy() + 1) * holdout_days,
    }
    metrics = {name: _errors(actual, pred) for name, pred in predictions.items()}
    bucket = np.minimum(split["frequency"].to_numpy(), 7)
    frame = pd.DataFrame({"bucket": np.asarray(FREQUENCY_BUCKETS)[bucket], "actual": actual,
                          "predicted": predictions[model], "baseline": predictions["naive"]})
    buckets = frame.groupby("bucket").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                          predicted=("predicted", "mean"), baseline=("baseline", "mean"))
    buckets = buckets.reindex([b for b in FREQUENCY_BUCKETS if b in buckets.index])
    return ClvValidation(cal_end, snapshot, int(holdout_days), len(split), float(actual.sum()),
                         buckets, metrics, fit.params, fit.penalizer, fit.notes, model)


def _errors(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    error = predicted - actual
    corr = (float(np.corrcoef(actual, predicted)[0, 1])
            if np.std(actual) > 0 and np.std(predicted) > 0 else float("nan"))
    return {"mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(np.mean(error ** 2))),
            "correlation": corr, "total_predicted": float(predicted.sum())}


def p_alive_grid(bgnbd_params: dict[str, float], T: float, frequencies, recencies,
                 model: str = "bgnbd") -> pd.DataFrame:
    """P(alive) of a customer of age ``T`` over a frequency x recency grid (``model``'s formula).

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
    fit = FIT_CLASSES[model](params=dict(bgnbd_params), penalizer=0.0, n_customers=0,
                             log_likelihood=float("nan"))
    values = fit.p_alive(summary).reshape(fx.shape)
    possible = (ftx <= T) & np.where(fx == 0, ftx == 0, ftx >= fx)
    return pd.DataFrame(np.where(possible, values, np.nan), index=pd.Index(x, name="frequency"),
                        columns=pd.Index(tx, name="recency"))
