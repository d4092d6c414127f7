"""Customer profile, issue 10: the 80% intervals of 12-month purchase days and net CLV equal
the background fit's (analytics.intervals run straight on the same log)."""
from __future__ import annotations

import pytest
from dashboard_testlib import as_user, components_by_id, page_module

from analytics.intervals import clv_intervals
from portal.dashboard.components.figures import money


@pytest.fixture
def profile(dashboard_app):
    return page_module("profile")


def test_intervals_on_the_profile_equal_the_fit(dashboard_app, alpha_reference, profile):
    _, models, _ = alpha_reference
    expected = clv_intervals(models.clv, seed=0).table  # a second run from the same fit and seed
    repeaters = models.clv.customers.index[models.clv.customers["repeat_purchase_days"] >= 3]
    checked = 0
    for cid in list(repeaters[:2]) + [models.clv.customers.index[-1]]:
        with as_user(dashboard_app, "viewer@alpha.test"):
            page = components_by_id(profile.update_profile(f"?customer={cid}"))
        row = expected.loc[cid]
        assert page["profile-kpi-purchase-range"].children == \
            f"{row['purchase_days_12m_low']:.0f} – {row['purchase_days_12m_high']:.0f}"
        assert page["profile-kpi-clv-range"].children == \
            f"{money(row['net_clv_12m_low'])} – {money(row['net_clv_12m_high'])}"
        assert row["purchase_days_12m_low"] <= row["purchase_days_12m_high"]
        assert row["net_clv_12m_low"] <= row["net_clv_12m_high"]
        checked += 1
    assert checked == 3
