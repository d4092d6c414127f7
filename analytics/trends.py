"""Business trends: monthly summary, weekday x hour pattern, KPIs for a window.

Definitions (money in currency units, windows half-open ``[start, end)``):

* **revenue**: net revenue (sales minus returns) of all lines, guests included.
* **orders**: orders (non-cancellation invoices) dated in the period, guests
  included.  **AOV** (average order value) = gross sales (order lines only) /
  orders; NaN without orders.
* **active customers**: identified customers with an order in the period.
  **new**: their first order ever (since the log starts) is in the period.
  **returning**: active but not new.
* **repeat-customer rate** of a window: among the window's active customers,
  the share with 2 or more orders from the start of the log to the window's end.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import _lines as L
from .errors import AnalyticsError

WEEKDAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

MONTHLY_COLUMNS: tuple[str, ...] = (
    "month", "revenue", "gross_revenue", "orders", "average_order_value", "active_customers",
    "new_customers", "returning_customers", "revenue_new", "revenue_returning", "revenue_guests",
)
KPI_NAMES: tuple[str, ...] = (
    "revenue", "orders", "customers", "new_customers", "average_order_value", "repeat_customer_rate",
)


def _empty_monthly() -> pd.DataFrame:
    dtypes = {c: "float64" for c in MONTHLY_COLUMNS}
    dtypes.update(month="datetime64[us]", orders="int64", active_customers="int64",
                  new_customers="int64", returning_customers="int64")
    return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in dtypes.items()})


def monthly_summary(lines: pd.DataFrame, snapshot_date: L.DateLike | None = None) -> pd.DataFrame:
    """One row per calendar month from the first to the last line (gaps filled with 0).

    Columns :data:`MONTHLY_COLUMNS`: ``revenue`` (net) = ``revenue_new`` (lines
    of customers in their first-order month) + ``revenue_returning`` (other
    identified customers) + ``revenue_guests``; ``gross_revenue`` (sales only).
    The first month counts everybody as new (the log has no earlier history).
    """
    L.require_columns(lines)
    lines = L.before(lines, L.as_day(snapshot_date, "snapshot date") if snapshot_date is not None else None)
    if lines.empty:
        return _empty_monthly()
    arrays = L.line_arrays(lines)
    orders = L.order_arrays(arrays)
    stats = L.customer_arrays(arrays, orders)
    line_month = L.month_of_day(L.day_of(arrays.time))
    first = int(line_month.min())
    n = int(line_month.max()) - first + 1
    lm = line_month - first
    om = L.month_of_day(L.day_of(orders.time)) - first if len(orders) else np.zeros(0, np.int64)

    first_month = np.full(len(stats.orders), -1, dtype=np.int64)
    has = np.flatnonzero(stats.has_orders)
    first_month[has] = L.month_of_day(L.day_of(stats.first_time[has])) - first

    known = arrays.customer >= 0
    new_line = np.zeros(len(lm), dtype=bool)
    new_line[known] = first_month[arrays.customer[known]] == lm[known]
    revenue = np.bincount(lm, weights=arrays.revenue, minlength=n)
    revenue_new = np.bincount(lm[new_line], weights=arrays.revenue[new_line], minlength=n)
    revenue_guests = np.bincount(lm[~known], weights=arrays.revenue[~known], minlength=n)
    revenue_known = np.bincount(lm[known], weights=arrays.revenue[known], minlength=n)

    o_known = orders.customer >= 0
    pairs = pd.unique(orders.customer[o_known] * np.int64(n) + om[o_known])
    active = np.bincount(pairs % n, minlength=n)
    new = np.bincount(first_month[has], minlength=n)
    order_count = np.bincount(om, minlength=n)
    gross = np.bincount(om, weights=orders.gross, minlength=n)
    return pd.DataFrame(
        {
            "month": L.month_start(first + np.arange(n)),
            "revenue": revenue,
            "gross_revenue": gross,
            "orders": order_count.astype(np.int64),
            "average_order_value": np.divide(gross, order_count, out=np.full(n, np.nan), where=order_count > 0),
            "active_customers": active.astype(np.int64),
            "new_customers": new.astype(np.int64),
            "returning_customers": (active - new).astype(np.int64),
            "revenue_new": revenue_new,
            "revenue_returning": revenue_known - revenue_new,
            "revenue_guests": revenue_guests,
        }
    )


def weekday_hour(lines: pd.DataFrame, snapshot_date: L.DateLike | None = None) -> pd.DataFrame:
    """Net revenue and orders by weekday (0 = Monday) x hour of day (0..23).

    All 168 cells are present (zeros where nothing happened).  Lines count at
    their own timestamp, orders at the order's timestamp.  Columns: ``weekday``,
    ``weekday_name``, ``hour``, ``revenue``, ``orders``.
    """
    L.require_columns(lines)
    lines = L.before(lines, L.as_day(snapshot_date, "snapshot date") if snapshot_date is not None else None)
    arrays = L.line_arrays(lines)
    orders = L.order_arrays(arrays)

    def slot(us: np.ndarray) -> np.ndarray:
        days = L.day_of(us)
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
        hour = (us - days * L.US_PER_DAY) // 3_600_000_000
        return weekday * 24 + hour

    revenue = np.bincount(slot(arrays.time), weights=arrays.revenue, minlength=168)
    count = np.bincount(slot(orders.time), minlength=168)
    weekday, hour = np.divmod(np.arange(168), 24)
    return pd.DataFrame(
        {
            "weekday": weekday.astype(np.int64),
            "weekday_name": pd.array(np.asarray(WEEKDAYS, dtype=object)[weekday], dtype="str"),
            "hour": hour.astype(np.int64),
            "revenue": revenue,
            "orders": count.astype(np.int64),
        }
    )


def _window(start: L.DateLike, end: L.DateLike) -> tuple[pd.Timestamp, pd.Timestamp]:
    start_ts, end_ts = L.as_day(start, "start"), L.as_day(end, "end")
    if end_ts <= start_ts:
        raise AnalyticsError(f"end ({end_ts:%Y-%m-%d}) must be after start ({start_ts:%Y-%m-%d}).")
    return start_ts, end_ts


def _kpis(arrays: L.LineArrays, orders: L.OrderArrays, start: pd.Timestamp, end: pd.Timestamp) -> dict:
    lo, hi = (np.datetime64(x, "us").astype(np.int64) for x in (start, end))
    in_lines = (arrays.time >= lo) & (arrays.time < hi)
    upto = orders.time < hi
    in_orders = upto & (orders.time >= lo)
    known = upto & (orders.customer >= 0)
    count_to_end = np.bincount(orders.customer[known], minlength=len(arrays.customers))
    first = np.full(len(arrays.customers), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, orders.customer[known], orders.time[known])
    window_customers = np.unique(orders.customer[in_orders & known])
    n_orders = int(in_orders.sum())
    gross = float(orders.gross[in_orders].sum())
    n_customers = len(window_customers)
    return {
        "start": start.date().isoformat(),
        "end": end.date().isoformat(),
        "revenue": float(arrays.revenue[in_lines].sum()),
        "orders": n_orders,
        "customers": n_customers,
        "new_customers": int(np.sum(first[window_customers] >= lo)) if n_customers else 0,
        "average_order_value": gross / n_orders if n_orders else float("nan"),
        "repeat_customer_rate": (
            float(np.mean(count_to_end[window_customers] >= 2)) if n_customers else float("nan")
        ),
    }


def business_kpis(lines: pd.DataFrame, start: L.DateLike, end: L.DateLike) -> dict[str, float]:
    """KPIs of the window ``[start, end)`` (dates, midnight); see the module doc.

    Keys :data:`KPI_NAMES` plus ``start`` and ``end`` (ISO dates).  An empty
    window gives zero counts and NaN ratios.
    """
    L.require_columns(lines)
    start_ts, end_ts = _window(start, end)
    arrays = L.line_arrays(L.before(lines, end_ts))
    return _kpis(arrays, L.order_arrays(arrays), start_ts, end_ts)


def kpi_change(lines: pd.DataFrame, start: L.DateLike, end: L.DateLike,
               previous: tuple[L.DateLike, L.DateLike] | None = None) -> pd.DataFrame:
    """Each KPI of ``[start, end)`` against the previous window of equal length, or
    against ``previous`` = ``(start, end)`` (half-open, ending by ``end``), e.g. the
    same period a year earlier (:func:`analytics.periods.year_before`).

    Index ``kpi`` (:data:`KPI_NAMES`); columns ``value``, ``previous``,
    ``change_pct`` = 100 x (value - previous) / |previous| (NaN if previous is 0
    or NaN).  ``attrs`` holds both windows.
    """
    L.require_columns(lines)
    start_ts, end_ts = _window(start, end)
    if previous is None:
        previous_start, previous_end = start_ts - (end_ts - start_ts), start_ts
    else:
        previous_start, previous_end = _window(*previous)
        if previous_end > end_ts:
            raise AnalyticsError(f"the comparison window must end by {end_ts:%Y-%m-%d}, got {previous_end:%Y-%m-%d}.")
    arrays = L.line_arrays(L.before(lines, end_ts))
    orders = L.order_arrays(arrays)
    now = _kpis(arrays, orders, start_ts, end_ts)
    before = _kpis(arrays, orders, previous_start, previous_end)
    value = np.array([now[k] for k in KPI_NAMES], dtype=np.float64)
    previous = np.array([before[k] for k in KPI_NAMES], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where((previous != 0) & ~np.isnan(previous), 100 * (value - previous) / np.abs(previous), np.nan)
    table = pd.DataFrame(
        {"value": value, "previous": previous, "change_pct": change},
        index=pd.Index(KPI_NAMES, dtype="str", name="kpi"),
    )
    table.attrs = {"window": (now["start"], now["end"]), "previous_window": (before["start"], before["end"])}
    return table
