"""Products: revenue, units, reach and returns per stock code; Pareto curve.

Per stock code (cleaned lines, so non-product codes are already gone):

* ``revenue``: net revenue (sales minus returns), currency, guests included.
* ``quantity``: units sold (order lines); ``returned_quantity``: units on
  cancellation lines (positive); ``return_rate`` = returned / sold units (NaN
  if nothing was sold; it can exceed 1 when goods sold before the log started
  come back).
* ``customers``: identified customers who bought it; ``orders``: orders with it.
* ``description``: its most frequent description (ties: alphabetically first).

:func:`returned_value` gives the value of the returned goods per product and
:func:`return_rate_leaders` the highest return rates among products sold in
sufficient numbers (:data:`MIN_UNITS_FOR_RETURN_RATE`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _lines as L
from .errors import AnalyticsError, InsufficientDataError

PRODUCT_COLUMNS: tuple[str, ...] = (
    "description", "revenue", "quantity", "returned_quantity", "return_rate", "customers", "orders",
)


def _empty_products() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "description": pd.Series([], dtype="str"),
            "revenue": pd.Series([], dtype="float64"),
            "quantity": pd.Series([], dtype="int64"),
            "returned_quantity": pd.Series([], dtype="int64"),
            "return_rate": pd.Series([], dtype="float64"),
            "customers": pd.Series([], dtype="int64"),
            "orders": pd.Series([], dtype="int64"),
        },
        index=pd.Index([], dtype="str", name="stock_code"),
    )


def _most_frequent(group: np.ndarray, value: np.ndarray, value_names: pd.Index, n_groups: int) -> np.ndarray:
    """Per group, the most frequent value code (ties: first in text order); -1 if none."""
    out = np.full(n_groups, -1, dtype=np.int64)
    ok = (value >= 0) & (group >= 0)
    if not ok.any():
        return out
    n_values = len(value_names)
    counts = pd.Series(group[ok] * np.int64(n_values) + value[ok]).value_counts(sort=False)
    keys = counts.index.to_numpy(dtype=np.int64)
    g, v = np.divmod(keys, n_values)
    rank = L.text_rank(value_names)[v]
    groups, pos = L.pick_per_group(g, (-counts.to_numpy(), rank), last=False)
    out[groups] = v[pos]
    return out


def product_summary(lines: pd.DataFrame, snapshot_date: L.DateLike | None = None) -> pd.DataFrame:
    """One row per stock code (index ``stock_code``, str), by revenue, largest first.

    Columns :data:`PRODUCT_COLUMNS` (module doc).  Only lines before
    ``snapshot_date`` count when it is given.
    """
    L.require_columns(lines, L.LINE_COLUMNS + ("stock_code", "description"))
    lines = L.before(lines, L.as_day(snapshot_date, "snapshot date") if snapshot_date is not None else None)
    if lines.empty:
        return _empty_products()
    stock, stocks = L.codes_of(lines["stock_code"])
    desc, descs = L.codes_of(lines["description"])
    arrays = L.line_arrays(lines)
    n = len(stocks)
    sales = ~arrays.is_return
    revenue = np.bincount(stock, weights=arrays.revenue, minlength=n)
    sold = np.bincount(stock[sales], weights=arrays.quantity[sales], minlength=n)
    returned = -np.bincount(stock[~sales], weights=arrays.quantity[~sales], minlength=n)
    buyer = sales & (arrays.customer >= 0)
    # distinct (product, customer) and (product, order) pairs, counted per product
    customer_pairs = L.distinct(stock[buyer] * np.int64(len(arrays.customers) + 1) + arrays.customer[buyer])
    customers = np.bincount(customer_pairs // (len(arrays.customers) + 1), minlength=n)
    order_pairs = L.distinct(stock[sales] * np.int64(len(arrays.invoices)) + arrays.invoice[sales])
    orders = np.bincount(order_pairs // len(arrays.invoices), minlength=n) if len(arrays.invoices) else np.zeros(n)
    description = _most_frequent(stock, desc, descs, n)
    present = np.flatnonzero(np.bincount(stock[stock >= 0], minlength=n) > 0)
    names = descs.to_numpy(dtype=object)
    summary = pd.DataFrame(
        {
            "description": pd.array(
                [names[d] if d >= 0 else None for d in description[present]], dtype="str"
            ),
            "revenue": revenue[present],
            "quantity": sold[present].astype(np.int64),
            "returned_quantity": returned[present].astype(np.int64),
            "return_rate": np.divide(
                returned[present], sold[present], out=np.full(len(present), np.nan), where=sold[present] > 0
            ),
            "customers": customers[present].astype(np.int64),
            "orders": orders[present].astype(np.int64),
        },
        index=pd.Index(stocks[present], dtype="str", name="stock_code"),
    )
    return summary.sort_index().sort_values("revenue", ascending=False, kind="stable")


def top_products(summary: pd.DataFrame, by: str = "revenue", n: int = 10) -> pd.DataFrame:
    """The ``n`` products with the largest ``by`` (a numeric column of the summary).

    Ties keep the summary's order.
    """
    if by not in summary.columns or not pd.api.types.is_numeric_dtype(summary[by]):
        numeric = [c for c in summary.columns if pd.api.types.is_numeric_dtype(summary[c])]
        raise AnalyticsError(f"cannot rank products by {by!r}; use one of {', '.join(numeric)}.")
    if n < 0:
        raise AnalyticsError("n must be zero or more.")
    return summary.sort_values(by, ascending=False, kind="stable", na_position="last").head(n)


@dataclass(frozen=True)
class ParetoCurve:
    """Result of :func:`pareto_curve`.

    ``curve``: products by decreasing revenue: ``rank`` (1..n), ``stock_code``,
    ``product_share`` (rank / n), ``revenue_share`` (cumulative).
    ``products_for_80``: fewest products whose revenue reaches 80 % of the
    total; ``product_share_for_80`` = that / n.
    """

    curve: pd.DataFrame
    products_for_80: int
    product_share_for_80: float


def pareto_curve(summary: pd.DataFrame, target: float = 0.8) -> ParetoCurve:
    """Cumulative revenue share against product share (a product summary as input).

    Products with non-positive net revenue count as 0 revenue (they stay in the
    product count).  Raises :class:`InsufficientDataError` without positive revenue.
    """
    if "revenue" not in summary.columns:
        raise AnalyticsError("summary lacks the revenue column: use product_summary(...).")
    if not 0 < target <= 1:
        raise AnalyticsError("target must be in (0, 1].")
    revenue = np.clip(summary["revenue"].to_numpy(dtype=np.float64), 0.0, None)
    total = revenue.sum()
    if len(revenue) == 0 or total <= 0:
        raise InsufficientDataError("no product has positive net revenue: a Pareto curve is undefined.")
    order = np.argsort(-revenue, kind="stable")
    cumulative = np.cumsum(revenue[order]) / total
    n = len(revenue)
    curve = pd.DataFrame(
        {
            "rank": np.arange(1, n + 1, dtype=np.int64),
            "stock_code": pd.array(summary.index.to_numpy(dtype=object)[order], dtype="str"),
            "product_share": np.arange(1, n + 1) / n,
            "revenue_share": cumulative,
        }
    )
    needed = int(np.searchsorted(cumulative, target - 1e-12) + 1)
    return ParetoCurve(curve, min(needed, n), min(needed, n) / n)


#: Fewest units sold for a product's return rate to be ranked (:func:`return_rate_leaders`).
MIN_UNITS_FOR_RETURN_RATE = 50


def returned_value(lines: pd.DataFrame, snapshot_date: L.DateLike | None = None) -> pd.Series:
    """Value of the goods returned per stock code (currency, positive).

    The value of a return line is minus its (negative) revenue: quantity x unit
    price at the return.  Index ``stock_code`` (str), only products with
    returns, largest first; lines on or after ``snapshot_date`` are ignored.
    """
    L.require_columns(lines, L.LINE_COLUMNS + ("stock_code",))
    lines = L.before(lines, L.as_day(snapshot_date, "snapshot date") if snapshot_date is not None else None)
    returns = lines.loc[lines[L.LINE_IS_RETURN].to_numpy()]
    if returns.empty:
        return pd.Series([], dtype="float64", index=pd.Index([], dtype="str", name="stock_code"),
                         name="returned_value")
    stock, stocks = L.codes_of(returns["stock_code"])
    value = -np.bincount(stock[stock >= 0], weights=returns[L.LINE_REVENUE].to_numpy()[stock >= 0],
                         minlength=len(stocks))
    present = np.flatnonzero(np.bincount(stock[stock >= 0], minlength=len(stocks)) > 0)
    series = pd.Series(value[present], index=pd.Index(stocks[present], dtype="str", name="stock_code"),
                       name="returned_value")
    return series.sort_index().sort_values(ascending=False, kind="stable")


def return_rate_leaders(summary: pd.DataFrame, min_units: int = MIN_UNITS_FOR_RETURN_RATE,
                        n: int = 10) -> pd.DataFrame:
    """The ``n`` products with the highest return rate among those with returns and at
    least ``min_units`` units sold (a product summary as input).

    Ties: more units returned first, then the summary's order.  A small
    ``min_units`` lets products sold once and returned once (rate 100 %) crowd
    the list, hence the threshold.
    """
    missing = {"quantity", "returned_quantity", "return_rate"} - set(summary.columns)
    if missing:
        raise AnalyticsError("summary lacks the return columns: use product_summary(...).")
    if min_units < 0 or n < 0:
        raise AnalyticsError("min_units and n must be zero or more.")
    eligible = summary[(summary["quantity"] >= min_units) & (summary["returned_quantity"] > 0)]
    return eligible.sort_values(["return_rate", "returned_quantity"], ascending=False, kind="stable").head(n)
