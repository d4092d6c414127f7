"""Schedule slots: when a subscription's digest is due, in the tenant's time zone.

A slot is the scheduled local time (``hour`` o'clock on the day the frequency
names) converted to UTC.  :func:`latest_slot` is the most recent slot at or
before a moment; a scheduler sends that slot once (see :mod:`portal.digests.delivery`).
Daylight-saving changes are handled by ``zoneinfo``: 08:00 stays 08:00 local time.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from portal.platform.db import session_scope
from portal.platform.mail_models import FREQUENCIES
from portal.platform.mail_settings import mail_settings
from portal.platform.models import Tenant

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def tenant_time_zone(tenant_id: int | None = None) -> ZoneInfo:
    """The time zone of a tenant's digest hours: the tenant's ``time_zone`` column once
    tenants have one, else the ``TIME_ZONE`` setting (default Europe/London).  The one
    place that answers it."""
    name = None
    if tenant_id is not None:

        with session_scope() as session:
            tenant = session.get(Tenant, tenant_id)
            name = getattr(tenant, "time_zone", None) if tenant is not None else None
    if not name:

        name = mail_settings().time_zone
    return ZoneInfo(name)


def check_schedule(frequency: str, hour: int, weekday: int | None, monthday: int | None) -> tuple:
    """``(frequency, hour, weekday, monthday)`` normalised, or ValueError saying what is wrong."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"Choose how often: {', '.join(FREQUENCIES)}.")
    if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
        raise ValueError("The hour must be a whole number from 0 to 23.")
    if frequency == "weekly":
        if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
            raise ValueError("A weekly digest needs a day of the week.")
        return frequency, hour, weekday, None
    if frequency == "monthly":
        if not isinstance(monthday, int) or isinstance(monthday, bool) or not 1 <= monthday <= 31:
            raise ValueError("A monthly digest needs a day of the month from 1 to 31.")
        return frequency, hour, None, monthday
    return frequency, hour, None, None


def _local(day: date, hour: int, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=tz)


def _to_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _month_day(year: int, month: int, monthday: int) -> date:
    return date(year, month, min(monthday, calendar.monthrange(year, month)[1]))


def _slot_on_or_before(frequency: str, hour: int, weekday: int | None, monthday: int | None,
                       tz: ZoneInfo, day: date) -> date:
    """The latest day ``<= day`` on which the schedule fires."""
    if frequency == "daily":
        return day
    if frequency == "weekly":
        return day - timedelta(days=(day.weekday() - weekday) % 7)
    candidate = _month_day(day.year, day.month, monthday)
    if candidate <= day:
        return candidate
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return _month_day(year, month, monthday)


def latest_slot(frequency: str, hour: int, weekday: int | None, monthday: int | None, tz: ZoneInfo,
                now: datetime) -> datetime:
    """The most recent slot at or before ``now`` (naive UTC in, naive UTC out)."""
    local_now = now.replace(tzinfo=timezone.utc).astimezone(tz)
    day = _slot_on_or_before(frequency, hour, weekday, monthday, tz, local_now.date())
    if _local(day, hour, tz) > local_now:
        day = _slot_on_or_before(frequency, hour, weekday, monthday, tz, day - timedelta(days=1))
    return _to_utc(_local(day, hour, tz))


def next_slot(frequency: str, hour: int, weekday: int | None, monthday: int | None, tz: ZoneInfo,
              now: datetime) -> datetime:
    """The first slot after ``now`` (naive UTC)."""
    local_now = now.replace(tzinfo=timezone.utc).astimezone(tz)
    probe = local_now.date() + timedelta(days=32 if frequency == "monthly" else 8)
    day = _slot_on_or_before(frequency, hour, weekday, monthday, tz, probe)
    best = day
    while True:  # walk back to the earliest slot still after now
        earlier = _slot_on_or_before(frequency, hour, weekday, monthday, tz, best - timedelta(days=1))
        if _local(earlier, hour, tz) <= local_now:
            return _to_utc(_local(best, hour, tz))
        best = earlier


def describe(frequency: str, hour: int, weekday: int | None, monthday: int | None, tz_name: str = "") -> str:
    """"Weekly on Monday at 08:00 (Europe/London)"."""
    when = {"daily": "Daily", "weekly": f"Weekly on {WEEKDAYS[weekday or 0]}",
            "monthly": f"Monthly on day {monthday}"}[frequency]
    suffix = f" ({tz_name})" if tz_name else ""
    return f"{when} at {hour:02d}:00{suffix}"
