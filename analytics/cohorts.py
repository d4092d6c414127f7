"""Acquisition cohorts: retention and revenue by months since the first order.

* **Cohort** of a customer: the calendar month of their first order (before the
  snapshot).  Customers with returns but no order have no cohort.
* **Period**: calendar months between a month and the cohort month (0 = the
  acquisition month; an order on 31 January by a customer acquired on 1 January
  is period 0, one on 1 February is period 1).
* **Active customers** of a (cohort, period): cohort members with at least one
  order in that month.  **Retention** = active / cohort size (1 in period 0).
* **Revenue**: net revenue (sales minus returns) of the cohort's lines in that
  month; returns dated before a customer's first order (goods bought before the
  log starts) count in period 0.  **Revenue per customer** divides by the
  original cohort size, not by the active customers.
* Periods run from 0 to the month of the last day before the snapshot, so the
  last period of every cohort may be a partial month; a cohort "has" period p
  if its cohort month + p is not after that month.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import _lines as L
from .errors import AnalyticsError

COHORT_COLUMNS: tuple[str, ...] = (
    "cohort", "period", "month", "cohort_size", "active_customers", "retention",
    "revenue", "revenue_per_customer",
)


def empty_cohorts() -> pd.DataFrame:
    """Zero-row cohort table with the documented dtypes."""
    return pd.DataFrame(
        {
            "cohort": pd.Series([], dtype="datetime64[us]"),
            "period": pd.Series([], dtype="int64"),
            "month": pd.Series([], dtype="datetime64[us]"),
            "cohort_size": pd.Series([], dtype="int64"),
            "active_customers": pd.Series([], dtype="int64"),
            "retention": pd.Series([], dtype="float64"),
            "revenue": pd.Series([], dtype="float64"),
            "revenue_per_customer": pd.Series([], dtype="float64"),
        }
    )


def cohort_table(lines: pd.DataFrame, snapshot_date: L.DateLike | None = None) -> pd.DataFrame:
    """Long cohort table, one row per (cohort, period) the cohort has (module doc).

    Columns :data:`COHORT_COLUMNS`; ``cohort`` and ``month`` are first days of
    months.  Sorted by cohort, then period.  Guests are ignored.
    """
    L.require_columns(lines)
    snapshot = L.resolve_snapshot(lines, snapshot_date)
    lines = L.before(lines, snapshot)
    if snapshot is None or lines.empty:
        return empty_cohorts()
    arrays = L.line_arrays(lines)
    orders = L.order_arrays(arrays)
    stats = L.customer_arrays(arrays, orders)
    if not stats.has_orders.any():
        return empty_cohorts()
    last_month = int(L.month_of_day(np.array([L.day_number(snapshot) - 1]))[0])
    first_month_all = np.full(len(stats.orders), -1, dtype=np.int64)
    members = np.flatnonzero(stats.has_orders)
    first_month_all[members] = L.month_of_day(L.day_of(stats.first_time[members]))
    first_cohort = int(first_month_all[members].min())
    n_cohorts = last_month - first_cohort + 1
    n_periods = n_cohorts  # the oldest cohort has them all
    cohort_of = first_month_all - first_cohort  # per customer code; <0 for non-customers

    sizes = np.bincount(cohort_of[members], minlength=n_cohorts)

    known = orders.customer >= 0
    o_cust = orders.customer[known]
    o_period = L.month_of_day(L.day_of(orders.time[known])) - first_month_all[o_cust]
    pair = pd.unique(o_cust * np.int64(n_periods) + o_period)  # distinct (customer, period)
    p_cust, p_period = np.divmod(pair, n_periods)
    active = np.bincount(cohort_of[p_cust] * n_periods + p_period, minlength=n_cohorts * n_periods)

    line_known = (arrays.customer >= 0)
    line_known[line_known] = stats.has_orders[arrays.customer[line_known]]
    l_cust = arrays.customer[line_known]
    l_period = L.month_of_day(L.day_of(arrays.time[line_known])) - first_month_all[l_cust]
    l_period = np.maximum(l_period, 0)
    revenue = np.bincount(
        cohort_of[l_cust] * n_periods + l_period, weights=arrays.revenue[line_known],
        minlength=n_cohorts * n_periods,
    )

    cohort_idx, period_idx = np.divmod(np.arange(n_cohorts * n_periods), n_periods)
    keep = (sizes[cohort_idx] > 0) & (cohort_idx + period_idx < n_cohorts)
    cohort_idx, period_idx = cohort_idx[keep], period_idx[keep]
    size = sizes[cohort_idx].astype(np.int64)
    table = pd.DataFrame(
        {
            "cohort": L.month_start(first_cohort + cohort_idx),
            "period": period_idx.astype(np.int64),
            "month": L.month_start(first_cohort + cohort_idx + period_idx),
            "cohort_size": size,
            "active_customers": active[keep].astype(np.int64),
            "retention": active[keep] / size,
            "revenue": revenue[keep],
            "revenue_per_customer": revenue[keep] / size,
        }
    )
    return table


def retention_matrix(cohorts: pd.DataFrame, value: str = "retention") -> pd.DataFrame:
    """Pivot of ``value`` (a column of :func:`cohort_table`): cohorts x periods.

    Rows: ``cohort`` (month start), columns: ``period`` 0, 1, ...; cells a cohort
    does not have yet are NaN (the triangle).
    """
    if value not in cohorts.columns or value in ("cohort", "period", "month"):
        raise AnalyticsError(
            f"value must be a measure column of the cohort table, one of "
            f"{', '.join(c for c in COHORT_COLUMNS if c not in ('cohort', 'period', 'month'))}; got {value!r}."
        )
    matrix = cohorts.pivot(index="cohort", columns="period", values=value)
    matrix.columns.name = "period"
    return matrix


def average_retention_curve(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Retention by period, weighted by cohort size, over cohorts that have the period.

    Columns: ``period``, ``cohorts`` (how many cohorts have it), ``customers``
    (their total size), ``active_customers``, ``retention`` (= active /
    customers), ``revenue_per_customer`` (their revenue / customers).
    """
    if cohorts.empty:
        return pd.DataFrame(
            {
                "period": pd.Series([], dtype="int64"), "cohorts": pd.Series([], dtype="int64"),
                "customers": pd.Series([], dtype="int64"), "active_customers": pd.Series([], dtype="int64"),
                "retention": pd.Series([], dtype="float64"), "revenue_per_customer": pd.Series([], dtype="float64"),
            }
        )
    grouped = cohorts.groupby("period", sort=True)
    curve = pd.DataFrame(
        {
            "cohorts": grouped.size().astype(np.int64),
            "customers": grouped["cohort_size"].sum().astype(np.int64),
            "active_customers": grouped["active_customers"].sum().astype(np.int64),
            "revenue": grouped["revenue"].sum(),
        }
    )
    curve["retention"] = curve["active_customers"] / curve["customers"]
    curve["revenue_per_customer"] = curve.pop("revenue") / curve["customers"]
    return curve.reset_index()


def cohorts_between(cohorts: pd.DataFrame, start: L.DateLike | None = None,
                    end: L.DateLike | None = None) -> pd.DataFrame:
    """Rows of a :func:`cohort_table` whose cohort was acquired in a date window.

    A cohort is a whole calendar month: it is kept when its month overlaps
    ``[start, end]`` (``end`` counts as a whole day), i.e. its month is from
    the month of ``start`` to the month of ``end``.  ``None`` leaves that side
    open.  Every kept cohort keeps all its periods (followed to the snapshot),
    so the table still feeds :func:`retention_matrix` and
    :func:`average_retention_curve`.
    """
    if cohorts.empty:
        return cohorts
    keep = np.ones(len(cohorts), dtype=bool)
    months = cohorts["cohort"]
    if start is not None:
        keep &= (months >= L.as_day(start, "start").replace(day=1)).to_numpy()
    if end is not None:
        keep &= (months <= L.as_day(end, "end").replace(day=1)).to_numpy()
    return cohorts if keep.all() else cohorts.loc[keep].reset_index(drop=True)
