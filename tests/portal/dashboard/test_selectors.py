"""portal.dashboard.selectors: without a filter a view's named selections ARE the report's
tables (no recomputation); with filters they equal the analytics functions applied by hand
to the hand-filtered customers or lines."""
from __future__ import annotations

import numpy as np
import pytest
from dashboard_testlib import as_user, cleaned_log
from portal_testlib import ROOT

from analytics.cohorts import average_retention_curve, cohort_table, retention_matrix
from analytics.products import pareto_curve, product_summary
from analytics.rfm import (
    lorenz_curve,
    revenue_concentration,
    rfm_segment_grid,
    segment_summary,
    segmented_rfm,
)
from portal.dashboard.view import View
from portal.platform.tenancy import current_context

SEGMENT_FILTER = "?segment=Champions&segment=Hibernating&country=France"
COUNTRY_FILTER = "?country=France"


@pytest.fixture(scope="module")
def alpha(dashboard_logs):
    reference = cleaned_log(dashboard_logs["alpha"])
    return reference, segmented_rfm(reference.lines, reference.snapshot_date)


def test_without_filters_the_selections_are_the_report(dashboard_app):
    with as_user(dashboard_app, "viewer@alpha.test"):
        view = View(current_context(), "")
        report = view.report
        assert not view.is_filtered
        assert view.segment_summary() is report.segments
        assert view.segment_grid() is report.segment_grid
        assert view.segment_migration() is report.migration
        concentration, lorenz = view.revenue_concentration()
        assert concentration is report.concentration and lorenz is report.lorenz
        assert view.kpis() is report.kpis
        assert view.country_summary() is report.countries
        assert view.product_summary() is report.products
        assert view.product_pareto() is report.pareto
        assert view.cohort_table() is report.cohorts
        assert view.retention_matrix() is report.retention
        assert view.retention_curve() is report.retention_curve
        assert view.cluster_coordinates() is report.clusters.coordinates


def test_segment_selections_equal_analytics_on_the_hand_filtered_customers(dashboard_app, alpha):
    _, rfm = alpha
    hand = rfm[rfm["segment"].isin(["Champions", "Hibernating"]) & (rfm["country"] == "France")]
    assert 0 < len(hand) < len(rfm)
    with as_user(dashboard_app, "viewer@alpha.test"):
        view = View(current_context(), SEGMENT_FILTER)
        assert view.is_filtered
        summary = view.segment_summary()
        assert summary is view.segment_summary()  # computed once per view
        assert summary["customers"].tolist() == segment_summary(hand)["customers"].tolist()
        assert view.segment_grid().to_numpy().tolist() == rfm_segment_grid(hand).to_numpy().tolist()
        concentration, lorenz = view.revenue_concentration()
        assert concentration == pytest.approx(revenue_concentration(hand["monetary"]))
        assert lorenz.to_numpy() == pytest.approx(lorenz_curve(hand["monetary"]).to_numpy())
        assert sorted(view.segment_migration().customers.index) == sorted(hand.index)
        sizes = view.cluster_selected_sizes()
        assert int(sizes.sum()) == len(hand)
        assert sorted(view.cluster_coordinates().index) == sorted(hand.index)


def test_line_selections_equal_analytics_on_the_hand_filtered_lines(dashboard_app, alpha):
    reference, _ = alpha
    lines = reference.lines[reference.lines["country"] == "France"]
    snapshot = reference.snapshot_date
    expected_products = product_summary(lines, snapshot)
    with as_user(dashboard_app, "viewer@alpha.test"):
        view = View(current_context(), COUNTRY_FILTER)
        products = view.product_summary()
        assert sorted(products.index) == sorted(expected_products.index)
        assert products["revenue"].sort_index().to_numpy() == pytest.approx(
            expected_products["revenue"].sort_index().to_numpy())
        pareto = view.product_pareto()
        assert pareto.curve["revenue_share"].to_numpy() == pytest.approx(
            pareto_curve(expected_products).curve["revenue_share"].to_numpy())
        assert pareto.products_for_80 == pareto_curve(expected_products).products_for_80
        countries = view.country_summary()
        assert list(countries.index) == ["France"]
        assert countries.loc["France", "revenue"] == pytest.approx(float(lines["revenue"].sum()))
        cohorts = cohort_table(lines, snapshot)
        assert view.cohort_table()["active_customers"].tolist() == cohorts["active_customers"].tolist()
        assert view.cohort_table()["cohort_size"].tolist() == cohorts["cohort_size"].tolist()
        matrix, expected_matrix = view.retention_matrix(), retention_matrix(cohorts)
        assert matrix.shape == expected_matrix.shape and matrix.shape[0] > 1
        assert np.nan_to_num(matrix.to_numpy()).ravel() == pytest.approx(
            np.nan_to_num(expected_matrix.to_numpy()).ravel())
        assert view.retention_curve()["retention"].to_numpy() == pytest.approx(
            average_retention_curve(cohorts)["retention"].to_numpy())


def test_pages_are_layout_and_wiring():
    """No page chooses between report and recomputation or memoises its own callback:
    that is view.<selection>() and @page_callback."""
    pages = ROOT / "portal" / "dashboard" / "pages"
    offending = [f"{path.name}: {needle}" for path in sorted(pages.glob("*.py"))
                 for needle in ("is_empty", "memoised_view") if needle in path.read_text()]
    assert offending == []
