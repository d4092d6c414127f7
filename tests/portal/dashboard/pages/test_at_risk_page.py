"""Valuable customers at risk page: the list equals analytics.valuable_at_risk run straight on
the same log, the rule is analytics' text, the CSV has the grid's columns (tier and risk band),
and the Overview links to it."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from dashboard_testlib import as_user, components_by_id, page_module, texts_by_id

from analytics.risk import VALUABLE_AT_RISK_RULE, valuable_at_risk


@pytest.fixture
def at_risk(dashboard_app):
    return page_module("at_risk")


@pytest.fixture(scope="module")
def expected(alpha_reference):
    cleaned, models, _ = alpha_reference
    return valuable_at_risk(cleaned.lines, cleaned.snapshot_date, models.churn_scores,
                            base_rate=models.churn.churn_rate_eval)


def _rows(query: str) -> pd.DataFrame:
    from portal.dashboard.customer_lists import EXPORTS, list_rows
    from portal.dashboard.view import View
    from portal.platform.tenancy import current_context

    return list_rows(EXPORTS["valuable_at_risk"], View(current_context(), query))


def test_list_equals_analytics(dashboard_app, alpha_reference, expected, at_risk):
    _, models, _ = alpha_reference
    with as_user(dashboard_app, "manager@alpha.test"):
        rows = _rows("")
        france = _rows("?country=France")
    assert len(expected.customers) > 0, "the test log must select somebody"
    assert rows["customer_id"].tolist() == expected.customers.index.tolist()
    for field in ("net_revenue_at_risk", "net_revenue_last_365d", "churn_probability", "net_clv_12m"):
        assert rows[field].to_numpy(dtype=float) == pytest.approx(expected.customers[field].to_numpy(dtype=float),
                                                                  rel=1e-9, nan_ok=True), field
    assert rows["net_revenue_at_risk"].is_monotonic_decreasing
    # tier and risk band of each customer, from the same fit
    tiers = models.clv.customers["clv_tier"].astype(str)
    bands = models.churn_scores["risk_band"].astype(str)
    assert rows["clv_tier"].astype(str).tolist() == tiers.loc[rows["customer_id"]].tolist()
    assert rows["risk_band"].astype(str).tolist() == bands.loc[rows["customer_id"]].tolist()
    # filters narrow the list, never re-rank it
    assert set(france["customer_id"]) <= set(rows["customer_id"])
    assert france["customer_id"].tolist() == [c for c in rows["customer_id"] if c in set(france["customer_id"])]


def test_rule_and_cards_on_screen(dashboard_app, expected, at_risk):
    with as_user(dashboard_app, "manager@alpha.test"):
        page = at_risk.layout()
        cards = texts_by_id(at_risk.update_cards(""))
    found = components_by_id(page)
    assert VALUABLE_AT_RISK_RULE in str(found["at-risk-rule"].to_plotly_json())
    assert cards["at-risk-count"] == f"{len(expected.customers):,}"
    assert cards["at-risk-value"] == f"£{expected.customers['net_revenue_at_risk'].sum():,.0f}"
    assert "valuable_at_risk-list" in found and ("at-risk-empty" in found) == (expected.reason is not None)
    thresholds = str(found["at-risk-thresholds"].to_plotly_json())
    if expected.risk_threshold < 1:
        assert f"the risk threshold is {expected.risk_threshold * 100:.1f}%" in thresholds
    else:  # a base rate above 50%: twice it is no probability, so the page says who qualifies instead
        assert "only customers overdue against their own rhythm qualify" in thresholds
        assert "threshold is" not in thresholds


def test_empty_list_says_why(dashboard_app, alpha_reference, at_risk):
    """Nobody selected: the reason analytics gives is on the page."""
    from dataclasses import replace

    from portal.dashboard.view import View
    from portal.platform.tenancy import current_context

    cleaned, models, _ = alpha_reference
    lines = cleaned.lines
    day = lines["invoice_date"].dt.normalize()
    last_day = day.groupby(lines["customer_id"]).transform("max")
    one_day_each = lines.loc[day == last_day]  # one purchase day per customer: nobody is overdue
    nobody = valuable_at_risk(one_day_each, cleaned.snapshot_date,
                              models.churn_scores.assign(churn_probability=0.0), base_rate=0.3)
    assert nobody.customers.empty and nobody.reason
    with as_user(dashboard_app, "manager@alpha.test"):
        view = View(current_context(), "")
        view.__dict__["models"] = replace(view.models, results=replace(view.models.results, valuable_at_risk=nobody))
        found = components_by_id(at_risk._body(view))
    assert nobody.reason in str(found["at-risk-empty"].to_plotly_json())


def test_csv_has_the_grid_columns_and_viewers_cannot_export(dashboard_app, expected, at_risk):
    from portal_testlib import logged_in

    from portal.dashboard.customer_lists import EXPORTS

    response = logged_in(dashboard_app, "manager@alpha.test").get("/export/valuable_at_risk.csv?raw=1")  # raw: field names
    assert response.status_code == 200
    frame = pd.read_csv(io.StringIO(response.get_data(as_text=True)), dtype={"customer_id": str})
    assert list(frame.columns) == EXPORTS["valuable_at_risk"].fields
    assert {"clv_tier", "risk_band"} <= set(frame.columns)
    assert frame["customer_id"].tolist() == expected.customers.index.tolist()
    assert logged_in(dashboard_app, "viewer@alpha.test").get("/export/valuable_at_risk.csv").status_code == 403


def test_overview_card_links_to_the_list(dashboard_app, expected):
    overview = page_module("overview")
    with as_user(dashboard_app, "manager@alpha.test"):
        kpis = overview.update_kpis("?country=France")
    found = components_by_id(kpis)
    assert found["overview-at-risk-link"].href == "/at-risk?country=France"
    assert "net 12-month CLV" in str(found["kpi-revenue-at-risk-change"].to_plotly_json())
