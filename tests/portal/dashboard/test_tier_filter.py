"""Cumulative CLV tiers through the portal's filters (issue 10): "top 10%" keeps the top 1%,
counted by hand from the fit's net 12-month CLV ranks."""
from __future__ import annotations

import numpy as np
from dashboard_testlib import as_user


def test_tier_filter_counts_are_cumulative(dashboard_app, alpha_reference):
    from portal.dashboard.view import View
    from portal.platform.tenancy import current_context

    _, models, _ = alpha_reference
    clv = models.clv.customers["net_clv_12m"]
    share = clv.rank(ascending=False, method="min") / clv.notna().sum()  # by hand: rank / customers
    with as_user(dashboard_app, "manager@alpha.test"):
        counts = {tier: len(View(current_context(), f"?tier={tier.replace('%', '%25').replace(' ', '+')}")
                            .selected_customers) for tier in ("top 1%", "top 10%", "top 20%", "rest")}
        both = View(current_context(), "?tier=top+1%25&tier=top+10%25").selected_customers
    assert counts["top 1%"] == int((share <= 0.01).sum())
    assert counts["top 10%"] == int((share <= 0.10).sum())
    assert counts["top 20%"] == int((share <= 0.20).sum())
    assert counts["rest"] == int((share > 0.20).sum())
    assert counts["top 1%"] < counts["top 10%"] < counts["top 20%"]
    assert len(both) == counts["top 10%"]
    assert np.isclose(clv.loc[both.index].min(), clv.sort_values(ascending=False).iloc[counts["top 10%"] - 1])
