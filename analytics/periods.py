"""Calendar periods of a shop: weeks that start on the shop's first day of the week,
fiscal years that start in the shop's fiscal month, the date presets of a filter
bar and the same period one year earlier.

Pure date arithmetic over calendar days (``datetime.date``): no data, no time of
day.  Conventions:

* ``week_start`` is the first day of the week, ``0`` = Monday ... ``6`` = Sunday
  (Python's ``date.weekday()`` numbering).
* ``fiscal_year_start_month`` is the month a fiscal year starts in, ``1`` =
  January (the calendar year) ... ``12``.  A fiscal year is named by the
  calendar year it starts in: with an April start, FY 2011 runs from
  2011-04-01 to 2012-03-31.
* Windows returned as ``(start, end)`` pairs of days are **inclusive** at both
  ends (what a date filter shows); the KPIs' half-open ``[start, end)``
  windows are shifted by :func:`year_before` the same way.
"""
from __future__ import annotations

from datetime import date, timedelta

from .errors import AnalyticsError

#: A preset: (label, first day, last day), both inclusive; ``None`` for an open side.
Preset = tuple[str, date | None, date | None]


def _check(week_start: int | None = None, fiscal_year_start_month: int | None = None) -> None:
    if week_start is not None and (isinstance(week_start, bool) or week_start not in range(7)):
        raise AnalyticsError(f"week_start must be 0 (Monday) to 6 (Sunday), got {week_start!r}.")
    if fiscal_year_start_month is not None and (isinstance(fiscal_year_start_month, bool)
                                                or fiscal_year_start_month not in range(1, 13)):
        raise AnalyticsError(f"fiscal_year_start_month must be 1 (January) to 12, got {fiscal_year_start_month!r}.")


def week_start_of(day: date, week_start: int = 0) -> date:
    """The first day of the week holding ``day``, weeks starting on ``week_start``.

    2011-12-07 is a Wednesday: its Monday-start week begins 2011-12-05, its
    Sunday-start week (``week_start=6``) 2011-12-04.
    """
    _check(week_start=week_start)
    return day - timedelta(days=(day.weekday() - week_start) % 7)


def week_of(day: date, week_start: int = 0) -> tuple[date, date]:
    """The whole week holding ``day``: (first day, last day), inclusive."""
    first = week_start_of(day, week_start)
    return first, first + timedelta(days=6)


def fiscal_year_of(day: date, fiscal_year_start_month: int = 1) -> int:
    """The fiscal year holding ``day``, named by the calendar year it starts in.

    With an April start, 2011-05-10 is in FY 2011 and 2012-02-10 too.
    """
    _check(fiscal_year_start_month=fiscal_year_start_month)
    return day.year if day.month >= fiscal_year_start_month else day.year - 1


def fiscal_year_window(year: int, fiscal_year_start_month: int = 1) -> tuple[date, date]:
    """Fiscal year ``year``: (first day, last day), inclusive.

    ``fiscal_year_window(2011, 4)`` is 2011-04-01 to 2012-03-31; with a January
    start it is the calendar year.
    """
    _check(fiscal_year_start_month=fiscal_year_start_month)
    first = date(year, fiscal_year_start_month, 1)
    following = date(year + 1, fiscal_year_start_month, 1)
    return first, following - timedelta(days=1)


def fiscal_year_label(year: int, fiscal_year_start_month: int = 1) -> str:
    """``"FY 2011/12"`` for a fiscal year that spans two calendar years, ``"FY 2011"`` otherwise."""
    _check(fiscal_year_start_month=fiscal_year_start_month)
    return f"FY {year}" if fiscal_year_start_month == 1 else f"FY {year}/{(year + 1) % 100:02d}"


def shift_years(day: date, years: int) -> date:
    """``day`` moved by whole calendar years; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def year_before(start: date, end: date) -> tuple[date, date]:
    """The same period one year earlier, for a half-open window ``[start, end)`` (days).

    The first day and the last included day (``end`` - 1 day) move back one
    calendar year (29 February becomes 28 February), so 1-28 February 2024 maps
    to 1-28 February 2023: ``(2023-02-01, 2023-03-01)``.  For a
    fiscal-year-to-date window this is the same span of the previous fiscal
    year, so a comparison is like for like (same months, same seasons).
    """
    return shift_years(start, -1), shift_years(end - timedelta(days=1), -1) + timedelta(days=1)


def date_presets(last_day: date | None, *, week_start: int = 0, fiscal_year_start_month: int = 1) -> list[Preset]:
    """The date filter's presets, relative to the data's last day (a shop's log may end months ago).

    (label, first day, last day), inclusive.  "This week" and "Last week" use
    weeks starting on ``week_start``; "This fiscal year" (its start to
    ``last_day``) and "Last fiscal year" are added when the fiscal year does
    not start in January (with a January start they are "Year to date" and
    "Last year").  Empty when there is no data (``last_day`` None).
    """
    _check(week_start, fiscal_year_start_month)
    if last_day is None:
        return []
    this_week = week_start_of(last_day, week_start)
    quarter_start = date(last_day.year, 3 * ((last_day.month - 1) // 3) + 1, 1)
    presets: list[Preset] = [
        ("Last 30 days", last_day - timedelta(days=29), last_day),
        ("Last 90 days", last_day - timedelta(days=89), last_day),
        ("This week", this_week, last_day),
        ("Last week", this_week - timedelta(days=7), this_week - timedelta(days=1)),
        ("This quarter", quarter_start, last_day),
        ("Year to date", date(last_day.year, 1, 1), last_day),
        ("Last year", date(last_day.year - 1, 1, 1), date(last_day.year - 1, 12, 31)),
    ]
    if fiscal_year_start_month != 1:
        year = fiscal_year_of(last_day, fiscal_year_start_month)
        presets += [
            ("This fiscal year", fiscal_year_window(year, fiscal_year_start_month)[0], last_day),
            ("Last fiscal year", *fiscal_year_window(year - 1, fiscal_year_start_month)),
        ]
    presets.append(("All time", None, None))
    return presets
