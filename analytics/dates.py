"""The date contract of the package: shop-local calendar days and one time zone.

Policy (also in the README, "Definitions"):

* **Times in the data are shop-local wall times.**  A timestamp without a UTC
  offset (the UCI files, most exports) is taken as the shop's local time as it
  is.  A timestamp *with* an offset (``2011-12-09T12:50:00+01:00``, ``...Z``)
  or a time zone-aware column (Parquet ``timestamp[us, tz=UTC]``) names an
  instant; it is converted to the shop's time zone (an IANA name such as
  ``"Europe/London"``) and kept as that local wall time.  Without a time zone
  such a value is refused: guessing one would move late-evening orders to the
  wrong day.  See :func:`to_shop_local`; the loader applies it per value, so a
  column may mix offsets (and naive values).
* **A date parameter is a calendar day** (snapshot, cut-off, calibration or
  holdout end, a window's start and end): ``"2011-12-09"``, a ``date``, or a
  timestamp at midnight.  It stands for the midnight at the start of that day
  in shop-local time.  A time of day other than midnight, or a time zone, is
  refused everywhere with :class:`AnalyticsError` (:func:`as_day`): truncating
  ``"2011-12-09 15:00"`` would silently drop that afternoon's orders from an
  analysis "up to" it, and keeping it would split a purchase day.
* A **snapshot** is exclusive: lines dated on or after its midnight are not
  seen.  Its default is the day after the last line (:func:`day_after`).
"""
from __future__ import annotations

import datetime as _dt
import zoneinfo

import numpy as np
import pandas as pd

from .errors import AnalyticsError

DateLike = str | pd.Timestamp | _dt.date | np.datetime64

#: Unit in which the package stores times (the schema's ``datetime64[us]``).
TIME_UNIT = "us"


def as_day(value: DateLike, what: str = "date") -> pd.Timestamp:
    """``value`` as a naive midnight timestamp (``datetime64[us]``); the one normaliser.

    Accepts ``"YYYY-MM-DD"`` (or an ISO 8601 timestamp at midnight), a ``date``, a
    ``datetime``/``Timestamp``/``datetime64`` at midnight.  Raises
    :class:`AnalyticsError` naming ``what`` for a missing value, something that
    is not a date, a time of day other than midnight or a time zone.
    """
    if value is None or isinstance(value, (bool, int, float, np.integer, np.floating)):
        raise AnalyticsError(f"{what} is not a date: {value!r} (use YYYY-MM-DD).")
    try:  # text must be ISO 8601: pd.Timestamp alone would read "1st of June" as this year's
        if isinstance(value, str):
            stamp = pd.to_datetime(value.strip(), format="ISO8601")
        else:
            stamp = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError):
        raise AnalyticsError(f"{what} is not a date: {value!r} (use YYYY-MM-DD).") from None
    if stamp is pd.NaT:
        raise AnalyticsError(f"{what} is missing (NaT); give a day as YYYY-MM-DD.")
    if stamp.tz is not None:
        raise AnalyticsError(
            f"{what} must be a shop-local calendar day without a time zone, got {value!r}; "
            f"give the day as YYYY-MM-DD.")
    if stamp != stamp.normalize():
        raise AnalyticsError(
            f"{what} must be a calendar day (YYYY-MM-DD, i.e. midnight at its start), got {value!r} "
            f"with a time of day; a time of day is refused so that no part of a day is cut off silently.")
    return stamp.as_unit(TIME_UNIT)


def require_shop_local(lines: pd.DataFrame | pd.Series, column: str = "invoice_date") -> None:
    """Refuse time zone-aware times in ``lines[column]`` (or a Series) with AnalyticsError.

    Every function works on naive shop-local wall times; aware ones reach it only
    by skipping the loader, and comparing them with a calendar day would mean
    one time zone or another depending on the function.
    """
    dates = lines if isinstance(lines, pd.Series) else lines[column] if column in lines.columns else None
    if dates is not None and getattr(dates.dtype, "tz", None) is not None:
        raise AnalyticsError(
            f"{column} holds time zone-aware times ({dates.dtype.tz}); the analyses work on the shop's local "
            f"wall times: load with load_transactions(..., time_zone=...) or convert with "
            f"analytics.dates.to_shop_local.")


def optional_day(value: DateLike | None, what: str = "date") -> pd.Timestamp | None:
    """:func:`as_day`, with None passed through (an open side of a window)."""
    return None if value is None else as_day(value, what)


def day_after(stamps: pd.Series | pd.DatetimeIndex) -> pd.Timestamp:
    """Midnight after the latest of ``stamps`` (the default snapshot); AnalyticsError if empty."""
    if len(stamps) == 0:
        raise AnalyticsError("No transactions: a snapshot date cannot be derived.")
    return (pd.Timestamp(stamps.max()).normalize() + pd.Timedelta(days=1)).as_unit(TIME_UNIT)


def time_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone called ``name`` (``"Europe/London"``); AnalyticsError if unknown."""
    if not isinstance(name, str) or not name.strip():
        raise AnalyticsError(f"time zone must be an IANA name such as 'Europe/London', got {name!r}.")
    try:
        return zoneinfo.ZoneInfo(name.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise AnalyticsError(
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/London' or 'America/New_York'."
        ) from None


def to_shop_local(stamps: pd.DatetimeIndex, zone: str | zoneinfo.ZoneInfo) -> pd.DatetimeIndex:
    """Time zone-aware instants as naive wall times in ``zone`` (``datetime64[us]``).

    ``stamps`` must be aware (any zone or fixed offset; UTC for a mix).  The
    result is what a clock in the shop showed at each instant; in the hour a
    clock goes back two instants may share one wall time.
    """
    if stamps.tz is None:
        raise AnalyticsError("to_shop_local needs time zone-aware times; naive times are already shop-local.")
    tz = time_zone(zone) if isinstance(zone, str) else zone
    return stamps.tz_convert(tz).tz_localize(None).as_unit(TIME_UNIT)
