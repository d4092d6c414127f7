"""Weeks, fiscal years, presets and the same period a year earlier, by hand on a calendar."""
from __future__ import annotations

from datetime import date

import pytest

from analytics.errors import AnalyticsError
from analytics.periods import (
    date_presets,
    fiscal_year_label,
    fiscal_year_of,
    fiscal_year_window,
    shift_years,
    week_of,
    week_start_of,
    year_before,
)

# 2011-12-09, the last day of the UCI log, was a Friday; 2011-12-04 a Sunday.
FRIDAY = date(2011, 12, 9)


def test_weeks_start_on_the_shops_first_day():
    assert week_start_of(date(2011, 12, 7), 0) == date(2011, 12, 5)  # Wednesday -> Monday
    assert week_start_of(date(2011, 12, 7), 6) == date(2011, 12, 4)  # Sunday-start week
    assert week_start_of(date(2011, 12, 4), 6) == date(2011, 12, 4)  # a Sunday starts its own week
    assert week_start_of(date(2011, 12, 4), 0) == date(2011, 11, 28)  # ... but ends a Monday week
    assert week_start_of(date(2011, 12, 3), 5) == date(2011, 12, 3)  # Saturday start
    assert week_of(date(2012, 1, 1), 0) == (date(2011, 12, 26), date(2012, 1, 1))  # across a new year


def test_fiscal_years_by_hand():
    assert fiscal_year_of(date(2011, 5, 10), 4) == 2011
    assert fiscal_year_window(2011, 4) == (date(2011, 4, 1), date(2012, 3, 31))
    assert fiscal_year_of(date(2012, 2, 10), 4) == 2011  # still FY 2011
    assert fiscal_year_of(date(2011, 3, 31), 4) == 2010 and fiscal_year_of(date(2011, 4, 1), 4) == 2011
    assert fiscal_year_window(2011, 3) == (date(2011, 3, 1), date(2012, 2, 29))  # 2012 is a leap year
    assert fiscal_year_window(2011, 1) == (date(2011, 1, 1), date(2011, 12, 31))
    assert fiscal_year_window(2011, 12) == (date(2011, 12, 1), date(2012, 11, 30))
    assert fiscal_year_label(2011, 4) == "FY 2011/12" and fiscal_year_label(1999, 7) == "FY 1999/00"
    assert fiscal_year_label(2011, 1) == "FY 2011"


def test_the_same_period_a_year_earlier():
    assert year_before(date(2011, 4, 1), date(2011, 12, 10)) == (date(2010, 4, 1), date(2010, 12, 10))
    assert year_before(date(2012, 2, 29), date(2012, 3, 1)) == (date(2011, 2, 28), date(2011, 3, 1))
    # half-open: 1-28 Feb 2024 (end 29 Feb excluded) -> 1-28 Feb 2023, which ends before 1 March
    assert year_before(date(2024, 2, 1), date(2024, 2, 29)) == (date(2023, 2, 1), date(2023, 3, 1))
    assert year_before(date(2024, 2, 1), date(2024, 3, 1)) == (date(2023, 2, 1), date(2023, 3, 1))
    assert shift_years(date(2011, 2, 28), 1) == date(2012, 2, 28)


def test_presets_use_the_week_start_and_the_fiscal_year():
    presets = {label: (a, b) for label, a, b in date_presets(FRIDAY, week_start=6, fiscal_year_start_month=4)}
    assert presets["This week"] == (date(2011, 12, 4), FRIDAY)
    assert presets["Last week"] == (date(2011, 11, 27), date(2011, 12, 3))
    assert presets["This fiscal year"] == (date(2011, 4, 1), FRIDAY)
    assert presets["Last fiscal year"] == (date(2010, 4, 1), date(2011, 3, 31))
    assert presets["Last 30 days"] == (date(2011, 11, 10), FRIDAY)
    assert presets["This quarter"] == (date(2011, 10, 1), FRIDAY)
    assert presets["All time"] == (None, None)
    monday = {label: (a, b) for label, a, b in date_presets(FRIDAY)}
    assert monday["This week"] == (date(2011, 12, 5), FRIDAY)
    assert monday["Last week"] == (date(2011, 11, 28), date(2011, 12, 4))
    assert "This fiscal year" not in monday  # a January fiscal year is the calendar year ("Year to date")
    january = {label: (a, b) for label, a, b in date_presets(date(2012, 2, 10), fiscal_year_start_month=4)}
    assert january["This fiscal year"] == (date(2011, 4, 1), date(2012, 2, 10))
    assert january["Year to date"] == (date(2012, 1, 1), date(2012, 2, 10))
    assert date_presets(None, week_start=6) == []


@pytest.mark.parametrize("kwargs", [{"week_start": 7}, {"week_start": -1}, {"fiscal_year_start_month": 0},
                                    {"fiscal_year_start_month": 13}, {"week_start": True}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(AnalyticsError, match="must be"):
        date_presets(FRIDAY, **kwargs)
