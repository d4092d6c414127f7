"""Churn features and labels at a cut-off date, from the lines before it only.

Part of :mod:`analytics.churn` (which re-exports everything here): the
definition of churn, the suggested horizon, the labels and the features of
:data:`FEATURES`.  A feature never sees a line dated on or after its cut-off.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .btyd import customer_summary, purchase_days
from .btyd_models import fit_bgnbd
from .constants import DAYS_PER_MONTH
from .dates import as_day, require_shop_local
from .errors import InsufficientDataError
from .orders import customer_orders
from .schema import LINE_IS_RETURN, LINE_REVENUE

TREND_DAYS = 90

FEATURES: dict[str, str] = {
    "recency_days": "days from the last purchase day to the cut-off (>= 1)",
    "frequency": "orders before the cut-off",
    "monetary": "net revenue before the cut-off (sales minus returns, currency)",
    "tenure_days": "days from the first purchase day to the cut-off",
    "mean_gap_days": "mean days between consecutive purchase days (tenure_days if only one)",
    "last_gap_days": "days between the last two purchase days (tenure_days if only one)",
    "spend_trend": f"(sales of the last {TREND_DAYS} days - sales of the {TREND_DAYS} days before) / "
                   "their sum, in [-1, 1]; 0 when both are 0",
    "return_rate": "returned value / sales value, clipped to [0, 1]",
    "product_diversity": "distinct products bought",
    "home_country": "1 if the customer's country (of their latest order) is the most common one",
    "orders_per_month": "orders / max(tenure_days, 30) x 30.44",
    "p_alive": "BG/NBD P(alive), the model fitted (penalizer 0) on the orders before the cut-off "
               "(NaN if it cannot be fitted or finds no dropout: then P(alive) is about 1 and only noise)",
}


def suggest_churn_horizon(lines: pd.DataFrame, snapshot_date: str | pd.Timestamp | None = None) -> int:
    """90th percentile of inter-purchase gaps, in whole days (rounded, at least 1).

    A gap is the number of days between two consecutive purchase days of the
    same customer (orders on one day count once), pooled over all customers'
    orders before ``snapshot_date`` (all orders if None).  Nine in ten repeat
    purchases come sooner than this, so a longer silence is unusual.
    """
    end = None if snapshot_date is None else as_day(snapshot_date, "snapshot_date")
    days = purchase_days(lines, end=end)
    same = days["customer_id"].to_numpy()[1:] == days["customer_id"].to_numpy()[:-1]
    gaps = np.diff(days["day"].to_numpy().astype("datetime64[D]").astype("int64"))[same]
    if gaps.size == 0:
        raise InsufficientDataError(
            "Nobody bought on two different days, so there is no gap between purchases to derive a "
            "churn horizon from; give horizon_days explicitly.")
    return max(1, round(float(np.percentile(gaps, 90))))


def churn_labels(lines: pd.DataFrame, cutoff: str | pd.Timestamp, horizon_days: int) -> pd.Series:
    """1 = churned (no order in ``[cutoff, cutoff + horizon_days)``), 0 = ordered again.

    Indexed by the customers active before the cut-off (str, sorted); int8.
    """
    cutoff = as_day(cutoff, "cutoff")
    require_shop_local(lines)
    dates = lines["invoice_date"].to_numpy()
    sale = ~lines[LINE_IS_RETURN].to_numpy() & lines["customer_id"].notna().to_numpy()
    customer = lines["customer_id"].astype("category")
    code = customer.cat.codes.to_numpy()
    before = sale & (dates < cutoff.to_datetime64())
    within = sale & ~before & (dates < (cutoff + pd.Timedelta(days=int(horizon_days))).to_datetime64())
    active = np.unique(code[before])
    churned = ~np.isin(active, np.unique(code[within]))
    ids = pd.Index(customer.cat.categories[active].astype("str"), dtype="str", name="customer_id")
    return pd.Series(churned.astype("int8"), index=ids, name="churned").sort_index()


class OrdersBefore:
    """The customers' order table of a log built once and cut at any cut-off, equal to
    ``customer_orders`` of the lines dated before it (a training run cuts it three or four
    times: horizon, training and evaluation cut-offs).

    An order is dated by its first line; it is kept when dated before the cut-off.  That is
    exact unless an invoice has lines on both sides of the cut-off (lines of one invoice on
    different days): for such a cut-off the table is rebuilt from the lines before it.
    """

    def __init__(self, lines: pd.DataFrame):
        require_shop_local(lines)
        self.lines = lines
        self.orders = customer_orders(lines)
        known = lines.loc[~lines[LINE_IS_RETURN].to_numpy() & lines["customer_id"].notna().to_numpy()]
        day = known["invoice_date"].to_numpy().astype("datetime64[D]").astype("int64")
        span = pd.Series(day).groupby(known["invoice"].cat.codes.to_numpy()).agg(["min", "max"])
        split = span.loc[span["min"] < span["max"]]
        self._split = (split["min"].to_numpy(), split["max"].to_numpy())

    def before(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """``customer_orders`` of the lines dated before ``cutoff`` (a calendar day)."""
        cutoff = as_day(cutoff, "cutoff")
        day = int(cutoff.to_datetime64().astype("datetime64[D]").astype("int64"))
        first, last = self._split
        if np.any((first < day) & (day <= last)):
            return customer_orders(self.lines.loc[(self.lines["invoice_date"] < cutoff).to_numpy()])
        return self.orders.loc[(self.orders["invoice_date"] < cutoff).to_numpy()].reset_index(drop=True)


def churn_features(lines: pd.DataFrame, cutoff: str | pd.Timestamp, with_p_alive: bool = True,
                   orders: OrdersBefore | None = None) -> pd.DataFrame:
    """One row per customer active before ``cutoff``, columns :data:`FEATURES`.

    Built only from lines dated strictly before the cut-off, the same way for
    training and for scoring (``p_alive`` included: a BG/NBD fitted at plain
    maximum likelihood on the orders before the cut-off); with
    ``with_p_alive=False`` the column is left out.  ``orders``: the log's
    :class:`OrdersBefore`, to build the order table once for several cut-offs.
    """
    cutoff = as_day(cutoff, "cutoff")
    require_shop_local(lines)
    keep = (lines["invoice_date"] < cutoff).to_numpy() & lines["customer_id"].notna().to_numpy()
    past = lines.loc[keep, ["customer_id", "stock_code", LINE_REVENUE, LINE_IS_RETURN]]
    orders = customer_orders(lines.loc[keep]) if orders is None else orders.before(cutoff)
    days = purchase_days(orders)
    ids = pd.Index(days["customer_id"].unique(), dtype="str", name="customer_id")
    if ids.empty:
        columns = [c for c in FEATURES if with_p_alive or c != "p_alive"]
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}, index=ids)
    day = days["day"].to_numpy().astype("datetime64[D]").astype("int64")
    starts = np.flatnonzero(np.r_[True, days["customer_id"].to_numpy()[1:] != days["customer_id"].to_numpy()[:-1]])
    n_days = np.diff(np.r_[starts, len(day)])
    first, last = day[starts], day[starts + n_days - 1]
    before_last = day[np.maximum(starts + n_days - 2, starts)]
    cut = int(cutoff.to_datetime64().astype("datetime64[D]").astype("int64"))
    tenure = (cut - first).astype(float)
    single = n_days == 1

    by_customer = orders.groupby("customer_id")
    frequency = by_customer.size().reindex(ids).to_numpy(dtype=float)
    out = pd.DataFrame(index=ids)
    out["recency_days"] = (cut - last).astype(float)
    out["frequency"] = frequency
    line_sums = _line_sums(past, ids)
    out["monetary"] = line_sums["sales"] - line_sums["returned"]
    out["tenure_days"] = tenure
    out["mean_gap_days"] = np.where(single, tenure, (last - first) / np.maximum(n_days - 1, 1))
    out["last_gap_days"] = np.where(single, tenure, (last - before_last).astype(float))
    out["spend_trend"] = _spend_trend(orders, cutoff, ids)
    sales, returned = line_sums["sales"], line_sums["returned"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["return_rate"] = np.clip(np.where(sales > 0, returned / sales, 0.0), 0.0, 1.0)
    out["product_diversity"] = line_sums["products"]
    country = by_customer["country"].last().reindex(ids)
    home = country.mode().iloc[0] if country.notna().any() else None
    out["home_country"] = (country == home).to_numpy(dtype=float)
    out["orders_per_month"] = frequency / np.maximum(tenure, 30.0) * DAYS_PER_MONTH
    if with_p_alive:
        out["p_alive"] = _p_alive(orders, cutoff, ids)
    return out


def _line_sums(past: pd.DataFrame, ids: pd.Index) -> dict[str, np.ndarray]:
    """Per customer of ``ids``: sales and returned value (currency, >= 0) and distinct
    products bought, summed over integer category codes (no string keys on lines)."""
    customer = past["customer_id"].astype("category")
    code = customer.cat.codes.to_numpy().astype(np.int64)
    n = len(customer.cat.categories)
    where = pd.Index(customer.cat.categories.astype("str")).get_indexer(ids)
    revenue = past[LINE_REVENUE].to_numpy(dtype=float)
    is_return = past[LINE_IS_RETURN].to_numpy()
    sales = np.bincount(code, weights=np.where(is_return, 0.0, revenue), minlength=n)
    returned = np.bincount(code, weights=np.where(is_return, -revenue, 0.0), minlength=n)
    stock = past["stock_code"].astype("category").cat.codes.to_numpy().astype(np.int64)
    n_stock = int(stock.max()) + 1 if len(stock) else 1
    pairs = pd.unique(code[~is_return] * n_stock + stock[~is_return])
    products = np.bincount(pairs // n_stock, minlength=n).astype(float)
    return {"sales": sales[where], "returned": returned[where], "products": products[where]}


def _spend_trend(orders: pd.DataFrame, cutoff: pd.Timestamp, ids: pd.Index) -> np.ndarray:
    age = (cutoff - orders["invoice_date"]).dt.days.to_numpy()  # 0 = the day before the cut-off
    window = np.where(age < TREND_DAYS, 0, np.where(age < 2 * TREND_DAYS, 1, -1))
    frame = pd.DataFrame({"customer_id": orders["customer_id"].to_numpy(), "window": window,
                          "revenue": orders["revenue"].to_numpy(dtype=float)})
    table = (frame[frame["window"] >= 0].pivot_table(index="customer_id", columns="window", values="revenue",
                                                     aggfunc="sum", fill_value=0.0)
             .reindex(index=ids, columns=[0, 1], fill_value=0.0).fillna(0.0))
    recent, earlier = table[0].to_numpy(), table[1].to_numpy()
    total = recent + earlier
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, (recent - earlier) / total, 0.0)


def _p_alive(orders: pd.DataFrame, cutoff: pd.Timestamp, ids: pd.Index) -> np.ndarray:
    summary = customer_summary(orders, cutoff)
    try:
        fit = fit_bgnbd(summary)
    except InsufficientDataError:
        return np.full(len(ids), np.nan)
    if fit.no_dropout:  # boundary fit: P(alive) ~ 1 everywhere, noise only
        return np.full(len(ids), np.nan)
    return pd.Series(fit.p_alive(summary), index=summary.index).reindex(ids).to_numpy()
