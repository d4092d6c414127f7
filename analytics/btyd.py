"""Customer summaries for "buy till you die" models (BG/NBD, Gamma-Gamma).

A **purchase** here is a customer's *purchase day*: all orders (see
:mod:`analytics.orders`) a customer places on one calendar day count as one
purchase whose value is the sum of their gross order values, as in Fader,
Hardie & Lee (2005) and ``lifetimes``.  Returns are not purchases and are not
deducted (they are separate events, see :mod:`analytics.cleaning`).

Per customer, observed up to a snapshot (midnight, exclusive):

``frequency``
    number of *repeat* purchases = distinct purchase days - 1.
``recency``
    time from the first to the last purchase day (0 without repeats).
``T``
    age: time from the first purchase to the end of the observation period.
``monetary_value``
    mean value of the repeat purchase days (the first purchase is excluded,
    as ``lifetimes`` defines it); 0 when there are no repeats.

Time convention: dates have day resolution, so each purchase is placed at the
*end* of its day, i.e. at the midnight following it, and the observation
period ends at the snapshot's midnight.  Hence ``recency = last day - first
day`` and ``T = snapshot - (first day + 1 day)``: a customer whose last
purchase was on the day before the snapshot has ``recency == T`` and one who
first bought then has ``T == 0``.  This is the convention of the published
CDNOW analyses (calibration to 1997-09-30 inclusive gives ``T = 38.86`` weeks
for a 1997-01-01 first purchase) and of ``lifetimes`` with
``observation_period_end`` = the last observed day; a holdout period then
starts exactly at the snapshot.  Units: days (``time_unit="D"``) or weeks
(``"W"``, days / 7); money in the currency of the log.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .dates import as_day, require_shop_local
from .errors import AnalyticsError
from .orders import customer_orders
from .schema import LINE_IS_RETURN

#: Accepted time units and their length in days.
TIME_UNITS: dict[str, float] = {"D": 1.0, "W": 7.0}

SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def purchase_days(lines_or_orders: pd.DataFrame, start: pd.Timestamp | None = None,
                  end: pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per (customer, purchase day) of identified customers.

    ``lines_or_orders`` is either cleaned lines (they have ``is_return``) or an
    order table with columns ``customer_id``, ``invoice_date`` and ``revenue``
    (one row per order, as :func:`analytics.orders.customer_orders` gives).
    Orders dated in ``[start, end)`` are kept.  Columns: ``customer_id`` (str),
    ``day`` (midnight), ``value`` (sum of gross order values that day),
    ``orders`` (order count); sorted by customer, then day.
    """
    require_shop_local(lines_or_orders)
    if LINE_IS_RETURN in lines_or_orders.columns:
        orders = customer_orders(lines_or_orders)
    else:
        missing = {"customer_id", "invoice_date", "revenue"} - set(lines_or_orders.columns)
        if missing:
            raise AnalyticsError(
                f"Need cleaned lines or an order table; missing column(s): {sorted(missing)}.")
        orders = lines_or_orders.loc[lines_or_orders["customer_id"].notna()]
    dates = orders["invoice_date"]
    mask = np.ones(len(orders), dtype=bool)
    if start is not None:
        mask &= (dates >= as_day(start, "start")).to_numpy()
    if end is not None:
        mask &= (dates < as_day(end, "end")).to_numpy()
    orders = orders.loc[mask]
    frame = pd.DataFrame({
        "customer_id": orders["customer_id"].astype("str").to_numpy(),
        "day": orders["invoice_date"].dt.normalize().to_numpy(),
        "value": orders["revenue"].to_numpy(dtype="float64"),
    })
    days = frame.groupby(["customer_id", "day"], sort=True).agg(
        value=("value", "sum"), orders=("value", "size"))
    return days.reset_index()


def customer_summary(lines_or_orders: pd.DataFrame, snapshot_date: str | pd.Timestamp,
                     time_unit: str = "D") -> pd.DataFrame:
    """Frequency / recency / T / monetary value per customer at ``snapshot_date``.

    Only orders dated strictly before the snapshot are used (see the module
    docstring for the definitions and the time convention).  Returns a frame
    indexed by ``customer_id`` (str, sorted) with ``frequency`` (int64),
    ``recency`` and ``T`` (float, in ``time_unit``) and ``monetary_value``
    (currency per repeat purchase day); empty when nobody bought before.
    """
    snapshot = as_day(snapshot_date, "snapshot_date")
    unit = _unit_days(time_unit)
    days = purchase_days(lines_or_orders, end=snapshot)
    return _summarise(days, snapshot, unit)


def calibration_holdout_split(lines_or_orders: pd.DataFrame,
                              calibration_end: str | pd.Timestamp,
                              holdout_end: str | pd.Timestamp,
                              time_unit: str = "D") -> pd.DataFrame:
    """Calibration summary plus what the same customers did in the holdout.

    Calibration: orders before ``calibration_end`` (nothing at or after it
    enters), summarised as :func:`customer_summary` at ``calibration_end``.
    Holdout: orders in ``[calibration_end, holdout_end)`` of the customers
    seen in calibration (customers first seen in the holdout are left out).
    Extra columns: ``frequency_holdout`` (purchase days in the holdout, all
    of them repeat purchases), ``monetary_value_holdout`` (mean value of those
    days, 0 without any) and ``duration_holdout`` (holdout length, time units).
    """
    cal_end = as_day(calibration_end, "calibration_end")
    hold_end = as_day(holdout_end, "holdout_end")
    if hold_end <= cal_end:
        raise AnalyticsError(
            f"holdout_end ({hold_end.date()}) must be after calibration_end ({cal_end.date()}).")
    unit = _unit_days(time_unit)
    days = purchase_days(lines_or_orders, end=hold_end)
    in_cal = (days["day"] < cal_end).to_numpy()
    summary = _summarise(days.loc[in_cal], cal_end, unit)
    holdout = days.loc[~in_cal & days["customer_id"].isin(summary.index).to_numpy()]
    grouped = holdout.groupby("customer_id")["value"]
    summary["frequency_holdout"] = grouped.size().reindex(summary.index, fill_value=0).astype("int64")
    summary["monetary_value_holdout"] = grouped.mean().reindex(summary.index, fill_value=0.0)
    summary["duration_holdout"] = (hold_end - cal_end).days / unit
    return summary


def _unit_days(time_unit: str) -> float:
    try:
        return TIME_UNITS[time_unit]
    except KeyError:
        raise AnalyticsError(f"time_unit must be one of {sorted(TIME_UNITS)}, got {time_unit!r}.") from None


def _summarise(days: pd.DataFrame, snapshot: pd.Timestamp, unit: float) -> pd.DataFrame:
    """Summary from :func:`purchase_days` rows (sorted by customer then day)."""
    if days.empty:
        empty = pd.DataFrame({c: pd.Series(dtype="int64" if c == "frequency" else "float64")
                              for c in SUMMARY_COLUMNS})
        empty.index = pd.Index([], dtype="str", name="customer_id")
        return empty
    customer = days["customer_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]])
    counts = np.diff(np.r_[starts, len(customer)])
    ends = starts + counts - 1
    day = days["day"].to_numpy().astype("datetime64[D]").astype("int64")
    value = days["value"].to_numpy(dtype="float64")
    first, last = day[starts], day[ends]
    frequency = counts - 1
    snapshot_day = snapshot.to_datetime64().astype("datetime64[D]").astype("int64")
    repeat_value = np.add.reduceat(value, starts) - value[starts]
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, repeat_value / np.maximum(frequency, 1), 0.0)
    out = pd.DataFrame(
        {
            "frequency": frequency.astype("int64"),
            "recency": (last - first) / unit,
            "T": (snapshot_day - first - 1) / unit,
            "monetary_value": monetary,
        },
        index=pd.Index(customer[starts], dtype="str", name="customer_id"),
    )
    return out
