"""Cohorts page: the heatmap, the cohort sizes and the average curve called as a logged-in
user, checked against analytics.cohorts computed straight from the same log (by hand
filtered for the filters)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dashboard_testlib import as_user, cleaned_log, figure_dict, page_module, traces

from analytics.cohorts import average_retention_curve, cohort_table, retention_matrix
from analytics.rfm import segmented_rfm


@pytest.fixture
def cohorts(dashboard_app):
    return page_module("cohorts")


@pytest.fixture(scope="module")
def alpha(dashboard_logs):
    return cleaned_log(dashboard_logs["alpha"])


def _cells(trace) -> np.ndarray:
    return np.array(trace.z, dtype=float)


def _assert_matrix(trace, matrix: pd.DataFrame) -> None:
    assert list(trace.y) == [f"{c:%b %Y}" for c in matrix.index]
    assert list(trace.x) == list(matrix.columns)
    np.testing.assert_allclose(_cells(trace), matrix.to_numpy(dtype=float), rtol=1e-9, equal_nan=True)


def test_heatmap_sizes_and_curve_match_analytics(dashboard_app, alpha, cohorts):
    table = cohort_table(alpha.lines, alpha.snapshot_date)
    with as_user(dashboard_app, "viewer@alpha.test"):
        heatmap, curve = cohorts.update_cohorts("")
    found = traces(heatmap)
    _assert_matrix(found["cohorts"], retention_matrix(table))
    sizes = table[table["period"] == 0].set_index("cohort")["cohort_size"]
    assert list(found["Cohort size"].x) == sizes.tolist()
    expected = average_retention_curve(table)
    line = traces(curve)["average"]
    assert list(line.x) == expected["period"].tolist()
    assert list(line.y) == pytest.approx(expected["retention"].tolist())
    # hover data: cohort size and active customers of every cell
    custom = np.array(found["cohorts"].customdata, dtype=object)[..., :3].astype(float)  # then note and link
    active = retention_matrix(table, "active_customers").to_numpy(dtype=float)
    np.testing.assert_array_equal(custom[..., 1], active)
    assert np.nanmax(custom[..., 0]) == sizes.max()


def test_cells_not_reached_are_grey_not_zero(dashboard_app, alpha, cohorts):
    matrix = retention_matrix(cohort_table(alpha.lines, alpha.snapshot_date))
    with as_user(dashboard_app, "viewer@alpha.test"):
        found = traces(cohorts.update_cohorts("")[0])
    values, grey = _cells(found["cohorts"]), _cells(found["not reached yet"])
    missing = matrix.isna().to_numpy()
    assert missing.any() and np.isnan(values[missing]).all()  # the triangle: NaN, never 0
    assert (grey[missing] == 1).all() and np.isnan(grey[~missing]).all()
    text = np.array(found["cohorts"].text, dtype=object)
    assert (text[missing] == "").all()
    assert text[0][0] == "100%"


def test_revenue_metric(dashboard_app, alpha, cohorts):
    table = cohort_table(alpha.lines, alpha.snapshot_date)
    with as_user(dashboard_app, "viewer@alpha.test"):
        heatmap, curve = cohorts.update_cohorts("?metric=revenue")
        page = cohorts.layout(metric="revenue")
    _assert_matrix(traces(heatmap)["cohorts"], retention_matrix(table, "revenue_per_customer"))
    assert list(traces(curve)["average"].y) == pytest.approx(
        average_retention_curve(table)["revenue_per_customer"].tolist())
    assert "Revenue per original customer" in str(page)
    assert "metric=revenue" in str(page)  # the canonical query of the page keeps the option


def test_country_filter_uses_the_country_lines_whole_history(dashboard_app, alpha, cohorts):
    lines = alpha.lines[alpha.lines["country"] == "France"]
    table = cohort_table(lines, alpha.snapshot_date)
    with as_user(dashboard_app, "viewer@alpha.test"):
        heatmap, curve = cohorts.update_cohorts("?country=France")
    _assert_matrix(traces(heatmap)["cohorts"], retention_matrix(table))
    assert list(traces(curve)["average"].y) == pytest.approx(average_retention_curve(table)["retention"].tolist())


def test_segment_filter_keeps_those_customers(dashboard_app, alpha, cohorts):
    rfm = segmented_rfm(alpha.lines, alpha.snapshot_date)
    keep = rfm.index[rfm["segment"] == "Champions"]
    lines = alpha.lines[alpha.lines["customer_id"].astype("str").isin(keep)]
    with as_user(dashboard_app, "viewer@alpha.test"):
        heatmap, _ = cohorts.update_cohorts("?segment=Champions")
    _assert_matrix(traces(heatmap)["cohorts"], retention_matrix(cohort_table(lines, alpha.snapshot_date)))


def test_date_window_keeps_the_cohorts_acquired_in_it(dashboard_app, alpha, cohorts):
    full = retention_matrix(cohort_table(alpha.lines, alpha.snapshot_date))
    query = "?start=2022-03-10&end=2022-05-20"
    with as_user(dashboard_app, "viewer@alpha.test"):
        heatmap, curve = cohorts.update_cohorts(query)
        note = cohorts.window_note(cohorts.View(cohorts.current_context(), query))
    found = traces(heatmap)["cohorts"]
    kept = [pd.Timestamp("2022-03-01"), pd.Timestamp("2022-04-01"), pd.Timestamp("2022-05-01")]
    assert list(found.y) == ["Mar 2022", "Apr 2022", "May 2022"]
    # each cohort followed over its whole history, to the snapshot
    expected = full.loc[kept].dropna(axis=1, how="all")
    np.testing.assert_allclose(_cells(found), expected.to_numpy(dtype=float), equal_nan=True)
    table = cohort_table(alpha.lines, alpha.snapshot_date)
    table = table[table["cohort"].isin(kept)]
    assert list(traces(curve)["average"].y) == pytest.approx(average_retention_curve(table)["retention"].tolist())
    assert "cohorts ACQUIRED from Mar 2022 to May 2022" in note


def test_no_match_and_other_tenant(dashboard_app, dashboard_logs, cohorts):
    beta = cleaned_log(dashboard_logs["beta"])
    with as_user(dashboard_app, "manager@beta.test"):
        nobody = cohorts.update_cohorts("?country=United+Kingdom")  # alpha's country: nothing in beta
        own = traces(cohorts.update_cohorts("")[0])["cohorts"]
    for figure in nobody:
        assert "match nobody" in figure_dict(figure)["layout"]["annotations"][0]["text"]
    _assert_matrix(own, retention_matrix(cohort_table(beta.lines, beta.snapshot_date)))
    with as_user(dashboard_app, "viewer@alpha.test"):
        late = cohorts.update_cohorts("?start=2030-01-01")
    assert "match nobody" in figure_dict(late[0])["layout"]["annotations"][0]["text"]
