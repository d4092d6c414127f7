"""Overview page: layout and callbacks called as a logged-in user, values checked
against analytics computed straight from the same log."""
from __future__ import annotations

import pandas as pd
import pytest
from dashboard_testlib import as_user, cleaned_log, components_by_id, figure_dict, page_module, texts_by_id, traces

from analytics.trends import kpi_change, monthly_summary


@pytest.fixture
def overview(dashboard_app):
    return page_module("overview")




def test_kpis_match_analytics(dashboard_app, dashboard_logs, overview):
    reference = cleaned_log(dashboard_logs["alpha"])
    snapshot = reference.snapshot_date
    expected = kpi_change(reference.lines, snapshot - pd.Timedelta(days=90), snapshot)
    with as_user(dashboard_app, "viewer@alpha.test"):
        texts = texts_by_id(overview.update_kpis(""))
        heading = str(overview.layout())
    assert texts["kpi-revenue"] == f"£{expected.loc['revenue', 'value']:,.0f}"
    assert texts["kpi-orders"] == f"{expected.loc['orders', 'value']:,.0f}"
    assert texts["kpi-customers"] == f"{expected.loc['customers', 'value']:,.0f}"
    start, last = snapshot - pd.Timedelta(days=90), snapshot - pd.Timedelta(days=1)
    assert "KPIs · Last 90 days: " in heading and f"{start:%d %b %Y} to {last:%d %b %Y}" in heading


def test_customers_only_switch_leaves_guests_out_of_every_money_figure(dashboard_app, dashboard_logs, overview):
    reference = cleaned_log(dashboard_logs["alpha"])
    snapshot = reference.snapshot_date
    customers_only = reference.lines[reference.lines["customer_id"].notna()]
    assert len(customers_only) < len(reference.lines)  # the log has guests
    expected = kpi_change(customers_only, snapshot - pd.Timedelta(days=90), snapshot)
    with as_user(dashboard_app, "viewer@alpha.test"):
        texts = texts_by_id(overview.update_kpis("?revenue=customers"))
        trend = traces(overview.update_trend("?revenue=customers"))
        countries, _ = overview.update_tops("?revenue=customers")
    assert texts["kpi-revenue"] == f"£{expected.loc['revenue', 'value']:,.0f}"
    assert texts["kpi-average-order-value"] == f"£{expected.loc['average_order_value', 'value']:,.2f}" or \
        texts["kpi-average-order-value"] == f"£{expected.loc['average_order_value', 'value']:,.0f}"
    assert "Guests (no customer id)" not in trend
    by_country = customers_only.groupby("country", observed=True)["revenue"].sum()
    bars = traces(countries)[None] if None in traces(countries) else next(iter(traces(countries).values()))
    top = by_country.sort_values(ascending=False).head(10)
    assert sorted(bars.x) == pytest.approx(sorted(top.tolist()))


def test_country_filter_narrows_kpis_and_trend(dashboard_app, dashboard_logs, overview):
    reference = cleaned_log(dashboard_logs["alpha"])
    lines = reference.lines[reference.lines["country"] == "France"]
    with as_user(dashboard_app, "viewer@alpha.test"):
        texts = texts_by_id(overview.update_kpis("?country=France&start=2023-01-01&end=2023-03-31"))
        trend = traces(overview.update_trend("?country=France"))
    expected = kpi_change(lines, pd.Timestamp("2023-01-01"), pd.Timestamp("2023-04-01"))
    assert texts["kpi-revenue"] == f"£{expected.loc['revenue', 'value']:,.0f}"
    monthly = monthly_summary(lines, reference.snapshot_date)
    assert list(trend["New customers"].y) == pytest.approx(monthly["revenue_new"].tolist())
    assert list(trend["Returning customers"].y) == pytest.approx(monthly["revenue_returning"].tolist())


def test_a_filter_that_matches_nobody_says_so(dashboard_app, overview):
    with as_user(dashboard_app, "viewer@alpha.test"):
        figure = figure_dict(overview.update_trend("?country=Atlantis"))
    assert "match nobody" in figure["layout"]["annotations"][0]["text"]


def test_other_tenant_sees_its_own_numbers(dashboard_app, dashboard_logs, overview):
    reference = cleaned_log(dashboard_logs["beta"])
    snapshot = reference.snapshot_date
    expected = kpi_change(reference.lines, snapshot - pd.Timedelta(days=90), snapshot)
    with as_user(dashboard_app, "manager@beta.test"):
        texts = texts_by_id(overview.update_kpis("?country=United+Kingdom"))  # alpha's country: nothing
        beta = texts_by_id(overview.update_kpis(""))
    assert texts["kpi-revenue"] == "£0.00"
    assert beta["kpi-revenue"] == f"£{expected.loc['revenue', 'value']:,.0f}"


def test_kpis_compare_with_the_same_period_a_year_earlier(dashboard_app, dashboard_logs, overview):
    """``compare=year``: Q2 2023 (data ends 2023-06-30) against Q2 2022, the same fiscal quarter."""
    from analytics.trends import business_kpis

    reference = cleaned_log(dashboard_logs["alpha"])
    now = business_kpis(reference.lines, "2023-04-01", "2023-07-01")
    then = business_kpis(reference.lines, "2022-04-01", "2022-07-01")
    with as_user(dashboard_app, "viewer@alpha.test"):
        kpis = overview.update_kpis("?start=2023-04-01&end=2023-06-30&compare=year")
        default = overview.update_kpis("?start=2023-04-01&end=2023-06-30")
    texts = texts_by_id(kpis)
    assert texts["kpi-revenue"] == f"£{now['revenue']:,.0f}"
    change = abs(100 * (now["orders"] - then["orders"]) / then["orders"])
    footer = str(components_by_id(kpis)["kpi-orders-change"].children)
    assert f"{change:.1f}%" in footer and "vs 2022-04-01 to 2022-06-30" in footer
    assert "vs 2022-12-31 to 2023-03-31" in str(components_by_id(default)["kpi-orders-change"].children)
