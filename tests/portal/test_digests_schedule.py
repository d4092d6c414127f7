"""Schedule slots in the tenant's time zone (pure functions: no app, no database)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from portal.data.digest_schedule import check_schedule, describe, latest_slot, next_slot

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def test_weekly_slot_is_the_last_monday_at_the_local_hour():
    # Monday 7 Dec 2026, 08:00 London = 08:00 UTC (winter)
    assert latest_slot("weekly", 8, 0, None, LONDON, datetime(2026, 12, 7, 8, 0)) == datetime(2026, 12, 7, 8, 0)
    assert latest_slot("weekly", 8, 0, None, LONDON, datetime(2026, 12, 7, 7, 59)) == datetime(2026, 11, 30, 8, 0)
    assert latest_slot("weekly", 8, 0, None, LONDON, datetime(2026, 12, 13, 23, 0)) == datetime(2026, 12, 7, 8, 0)
    assert next_slot("weekly", 8, 0, None, LONDON, datetime(2026, 12, 7, 8, 0)) == datetime(2026, 12, 14, 8, 0)


def test_summer_time_keeps_the_local_hour():
    # 08:00 in London during British Summer Time is 07:00 UTC; in New York (EDT) 12:00 UTC
    assert latest_slot("daily", 8, None, None, LONDON, datetime(2026, 7, 1, 7, 30)) == datetime(2026, 7, 1, 7, 0)
    assert latest_slot("daily", 8, None, None, NEW_YORK, datetime(2026, 7, 1, 11, 59)) == datetime(2026, 6, 30, 12, 0)
    # across the change on Sunday 29 March 2026 (01:00 UTC): Saturday 08:00 GMT, Sunday 08:00 BST
    assert latest_slot("daily", 8, None, None, LONDON, datetime(2026, 3, 29, 7, 30)) == datetime(2026, 3, 29, 7, 0)
    assert latest_slot("daily", 8, None, None, LONDON, datetime(2026, 3, 29, 6, 59)) == datetime(2026, 3, 28, 8, 0)


def test_monthly_day_31_sends_on_the_last_day_of_short_months():
    assert latest_slot("monthly", 6, None, 31, LONDON, datetime(2026, 3, 5)) == datetime(2026, 2, 28, 6, 0)
    assert next_slot("monthly", 6, None, 31, LONDON, datetime(2026, 3, 5)) == datetime(2026, 3, 31, 5, 0)  # BST
    assert latest_slot("monthly", 9, None, 1, LONDON, datetime(2026, 1, 1, 8, 0)) == datetime(2025, 12, 1, 9, 0)
    assert next_slot("monthly", 9, None, 1, LONDON, datetime(2026, 1, 1, 8, 0)) == datetime(2026, 1, 1, 9, 0)


def test_schedules_are_checked():
    assert check_schedule("weekly", 8, 4, 9) == ("weekly", 8, 4, None)
    assert check_schedule("monthly", 23, 2, 15) == ("monthly", 23, None, 15)
    for bad in (("hourly", 8, None, None), ("daily", 24, None, None), ("weekly", 8, 7, None),
                ("monthly", 8, None, 0), ("daily", True, None, None)):
        with pytest.raises(ValueError):
            check_schedule(*bad)
    assert describe("weekly", 8, 4, None, "Europe/London") == "Weekly on Friday at 08:00 (Europe/London)"
