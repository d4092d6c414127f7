"""Vectorised building blocks over cleaned lines, shared by the descriptive modules.

Private: the public functions live in :mod:`analytics.rfm`, :mod:`analytics.cohorts`,
... .  Everything works on the integer codes of the categorical columns
(``np.bincount`` and ``ufunc.at`` instead of string keys and Python loops), so a
million lines take milliseconds.  Times are ``int64`` microseconds since the
epoch, days and months are integers since 1970-01-01 / 1970-01.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .cleaning import default_snapshot_date
from .dates import DateLike, as_day, require_shop_local
from .errors import AnalyticsError
from .schema import LINE_IS_RETURN, LINE_REVENUE

US_PER_DAY = 86_400_000_000
_INT64_MAX = np.iinfo(np.int64).max

#: Columns every descriptive function reads from cleaned lines.
LINE_COLUMNS: tuple[str, ...] = (
    "invoice", "invoice_date", "customer_id", "country", "quantity", LINE_REVENUE, LINE_IS_RETURN,
)


def require_columns(lines: pd.DataFrame, columns: Iterable[str] = LINE_COLUMNS) -> None:
    """Raise :class:`AnalyticsError` naming the missing columns of ``lines`` (or for
    time zone-aware dates, :func:`analytics.dates.require_shop_local`)."""
    if not isinstance(lines, pd.DataFrame):
        raise AnalyticsError(f"expected a DataFrame of cleaned lines, got {type(lines).__name__}.")
    missing = [c for c in columns if c not in lines.columns]
    if missing:
        raise AnalyticsError(
            f"lines lack column{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
            "pass the cleaned lines (clean_transactions(...).lines)."
        )
    require_shop_local(lines)


def resolve_snapshot(lines: pd.DataFrame, snapshot_date: DateLike | None) -> pd.Timestamp | None:
    """The given snapshot (a calendar day, :func:`analytics.dates.as_day`), else the day
    after the last line; None if no lines."""
    if snapshot_date is not None:
        return as_day(snapshot_date, "snapshot date")
    if lines.empty:
        return None
    return default_snapshot_date(lines)


def before(lines: pd.DataFrame, cutoff: pd.Timestamp | None) -> pd.DataFrame:
    """Lines strictly before ``cutoff`` (all of them if ``cutoff`` is None)."""
    if cutoff is None or lines.empty:
        return lines
    mask = lines["invoice_date"].to_numpy() < np.datetime64(cutoff)
    return lines if mask.all() else lines.loc[mask]


def codes_of(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (int64, -1 = missing) and the categories as a ``str`` Index."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    categories = series.cat.categories
    if categories.dtype != "str":
        categories = categories.astype("str")
    return series.cat.codes.to_numpy().astype(np.int64), pd.Index(categories, dtype="str")


def micros(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Timestamps as int64 microseconds since the epoch."""
    values = dates.to_numpy() if isinstance(dates, pd.Series) else np.asarray(dates)
    return values.astype("datetime64[us]").view(np.int64)


def day_of(us: np.ndarray | int) -> np.ndarray:
    """Calendar day number (days since 1970-01-01) of microsecond timestamps."""
    return np.floor_divide(us, US_PER_DAY)


def month_of_day(days: np.ndarray) -> np.ndarray:
    """Month number (months since 1970-01) of day numbers, via a lookup over the range."""
    days = np.asarray(days, dtype=np.int64)
    if days.size == 0:
        return days.copy()
    low, high = int(days.min()), int(days.max())
    table = np.arange(low, high + 1).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return table[days - low]


def month_start(months: np.ndarray | int) -> pd.DatetimeIndex:
    """First day of month numbers, as a DatetimeIndex (datetime64[us])."""
    return pd.DatetimeIndex(np.asarray(months, dtype=np.int64).astype("datetime64[M]").astype("datetime64[us]"))


def day_number(stamp: pd.Timestamp) -> int:
    """Day number of a timestamp."""
    return int(np.datetime64(stamp, "D").astype(np.int64))


@dataclass(frozen=True)
class LineArrays:
    """The columns of cleaned lines as numpy arrays (codes for categoricals)."""

    customer: np.ndarray  # customer code, -1 for guests
    customers: pd.Index
    invoice: np.ndarray
    invoices: pd.Index
    country: np.ndarray
    countries: pd.Index
    time: np.ndarray  # int64 microseconds
    revenue: np.ndarray
    quantity: np.ndarray
    is_return: np.ndarray

    def __len__(self) -> int:
        return len(self.time)


def line_arrays(lines: pd.DataFrame) -> LineArrays:
    """Extract :class:`LineArrays` from cleaned lines (columns checked)."""
    require_columns(lines)
    customer, customers = codes_of(lines["customer_id"])
    invoice, invoices = codes_of(lines["invoice"])
    country, countries = codes_of(lines["country"])
    return LineArrays(
        customer=customer, customers=customers, invoice=invoice, invoices=invoices,
        country=country, countries=countries, time=micros(lines["invoice_date"]),
        revenue=lines[LINE_REVENUE].to_numpy(dtype=np.float64),
        quantity=lines["quantity"].to_numpy(dtype=np.int64),
        is_return=lines[LINE_IS_RETURN].to_numpy(dtype=bool),
    )


@dataclass(frozen=True)
class OrderArrays:
    """One entry per order (non-cancellation invoice), guests' included.

    The order's date is its earliest line, its customer and country those of its
    lines (one per invoice in the UCI logs; the largest code wins otherwise, so an
    identified customer beats a missing one), ``gross`` the sum of its line revenue.
    """

    invoice: np.ndarray
    customer: np.ndarray
    country: np.ndarray
    time: np.ndarray
    gross: np.ndarray
    quantity: np.ndarray

    def __len__(self) -> int:
        return len(self.time)


def order_arrays(arrays: LineArrays) -> OrderArrays:
    """Aggregate the sales lines of :class:`LineArrays` into :class:`OrderArrays`.

    Every line of an invoice is a return or none is (the ``C`` prefix), so the
    aggregation runs over all lines without masking and return invoices are
    dropped at the end.
    """
    inv = arrays.invoice
    n = len(arrays.invoices)
    present = np.bincount(inv, minlength=n) > 0
    returns = np.zeros(n, dtype=bool)
    returns[inv[arrays.is_return]] = True
    time = np.full(n, _INT64_MAX, dtype=np.int64)
    np.minimum.at(time, inv, arrays.time)
    customer = np.full(n, -1, dtype=np.int64)
    np.maximum.at(customer, inv, arrays.customer)
    country = np.full(n, -1, dtype=np.int64)
    np.maximum.at(country, inv, arrays.country)
    gross = np.bincount(inv, weights=arrays.revenue, minlength=n)
    quantity = np.bincount(inv, weights=arrays.quantity, minlength=n)
    keep = np.flatnonzero(present & ~returns)
    return OrderArrays(
        invoice=keep, customer=customer[keep], country=country[keep], time=time[keep],
        gross=gross[keep], quantity=quantity[keep].astype(np.int64),
    )


def distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an integer array.  A sort and a neighbour test: on
    line-level arrays (10M values) about 10x faster than ``pd.unique``'s hash table
    and 100x faster than ``np.unique`` (numpy 2.4)."""
    ordered = np.sort(values)
    if len(ordered) == 0:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def text_rank(index: pd.Index) -> np.ndarray:
    """Rank of every category in text order (for deterministic tie-breaks)."""
    order = np.argsort(index.to_numpy(dtype=object), kind="stable")
    rank = np.empty(len(index), dtype=np.int64)
    rank[order] = np.arange(len(index))
    return rank


def pick_per_group(group: np.ndarray, keys: tuple[np.ndarray, ...], last: bool) -> tuple[np.ndarray, np.ndarray]:
    """For each group, the position of the row with the largest (``last``) or smallest
    key tuple; ``keys`` are ordered most significant first.  Returns (groups, positions)."""
    if len(group) == 0:
        return group[:0], group[:0]
    order = np.lexsort(tuple(reversed(keys)) + (group,))
    g = group[order]
    boundary = np.flatnonzero(g[1:] != g[:-1])
    pick = np.append(boundary, len(g) - 1) if last else np.insert(boundary + 1, 0, 0)
    return g[pick], order[pick]


@dataclass(frozen=True)
class CustomerArrays:
    """Per customer code (length = number of customer categories) order statistics."""

    orders: np.ndarray  # distinct orders
    first_time: np.ndarray  # us of the first order (int64 max if none)
    last_time: np.ndarray  # us of the last order (-1 if none)
    net: np.ndarray  # net revenue of all the customer's lines
    last_country: np.ndarray  # country code of the latest order (-1 if none)
    first_country: np.ndarray  # country code of the first order (-1 if none)

    @property
    def has_orders(self) -> np.ndarray:
        return self.orders > 0


def _order_by_customer_time(cust: np.ndarray, time: np.ndarray, invoice_names: pd.Index,
                            invoice: np.ndarray) -> np.ndarray:
    """Positions sorted by customer, then time, then invoice text (only looked up
    for orders of one customer at the same instant, which are rare)."""
    order = np.lexsort((time, cust))
    c, t = cust[order], time[order]
    tie = (c[1:] == c[:-1]) & (t[1:] == t[:-1])
    if not tie.any():
        return order
    involved = np.zeros(len(order), dtype=bool)
    involved[1:] |= tie
    involved[:-1] |= tie
    rank = np.zeros(len(order), dtype=np.int64)
    names = invoice_names.take(invoice[order[involved]]).to_numpy(dtype=object)
    rank[involved] = np.argsort(np.argsort(names, kind="stable"), kind="stable")
    return order[np.lexsort((rank, t, c))]


def customer_arrays(arrays: LineArrays, orders: OrderArrays) -> CustomerArrays:
    """Per-customer aggregates; ties of the latest/first order broken by invoice text."""
    n = len(arrays.customers)
    known = orders.customer >= 0
    cust = orders.customer[known]
    time = orders.time[known]
    count = np.bincount(cust, minlength=n)
    net = np.bincount(arrays.customer + 1, weights=arrays.revenue, minlength=n + 1)[1:]
    first = np.full(n, _INT64_MAX, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    last_country = np.full(n, -1, dtype=np.int64)
    first_country = np.full(n, -1, dtype=np.int64)
    if known.any():
        order = _order_by_customer_time(cust, time, arrays.invoices, orders.invoice[known])
        c = cust[order]
        start = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
        end = np.r_[start[1:], len(c)] - 1
        groups = c[start]
        first[groups], last[groups] = time[order[start]], time[order[end]]
        first_country[groups] = orders.country[known][order[start]]
        last_country[groups] = orders.country[known][order[end]]
    return CustomerArrays(count, first, last, net, last_country, first_country)


def string_index(categories: pd.Index, codes: np.ndarray, name: str) -> pd.Index:
    """``categories[codes]`` as a plain ``str`` Index called ``name``."""
    return pd.Index(categories.to_numpy(dtype=object)[codes], dtype="str", name=name)
