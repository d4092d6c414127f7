"""Geography page: the map, the ranking, the country table, the click-to-filter callbacks
and the drill-down customer list, called as a logged-in user and checked against
analytics.geography computed straight from the same log."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dash import no_update
from dashboard_testlib import as_user, cleaned_log, figure_dict, page_module, traces

from analytics.geography import country_summary, country_summary_between
from analytics.rfm import rfm_table, segmented_rfm

METRIC_COLUMNS = {"revenue": "revenue", "customers": "customers", "aov": "average_order_value",
                  "new_customers": "new_customers"}


@pytest.fixture
def geography(dashboard_app):
    return page_module("geography")


@pytest.fixture(scope="module")
def alpha(dashboard_logs):
    return cleaned_log(dashboard_logs["alpha"])


def _map(figure):
    return traces(figure)["map"]


@pytest.mark.parametrize("metric", list(METRIC_COLUMNS))
def test_map_values_and_codes_match_country_summary(dashboard_app, alpha, geography, metric):
    expected = country_summary(alpha.lines, alpha.snapshot_date, new_customer_days=90)
    with as_user(dashboard_app, "viewer@alpha.test"):
        figure, bars, _, _, rows = geography.update_geography(f"?metric={metric}&scale=linear")
    trace = _map(figure)
    got = pd.Series(np.array(trace.z, dtype=float), index=list(trace.locations)).sort_index()
    want = expected.set_index("iso3")[METRIC_COLUMNS[metric]].astype(float).sort_index()
    assert list(got.index) == list(want.index) == ["DEU", "FRA", "GBR", "IRL"]
    assert got.tolist() == pytest.approx(want.tolist())
    assert figure_dict(figure)["data"][-1]["locationmode"] == "ISO-3"
    # the ranking holds the same values by country name, largest first
    ranking = traces(bars)["bars"]
    names = [row[0] for row in ranking.customdata]
    assert list(ranking.x)[::-1] == pytest.approx(
        expected[METRIC_COLUMNS[metric]].sort_values(ascending=False, kind="stable").tolist())
    assert set(names) == set(expected.index)
    # the table: every country with its figures
    table = pd.DataFrame.from_records(rows).set_index("country")
    assert table["revenue"].to_dict() == pytest.approx(expected["revenue"].to_dict())
    assert table["new_customers"].to_dict() == expected["new_customers"].to_dict()
    assert (table["map"] == "yes").all()


def test_log_scale_colours_by_log10(dashboard_app, alpha, geography):
    expected = country_summary(alpha.lines, alpha.snapshot_date).set_index("iso3")["revenue"]
    with as_user(dashboard_app, "viewer@alpha.test"):
        figure, *_ = geography.update_geography("?scale=log")
    trace = _map(figure)
    got = dict(zip(trace.locations, np.array(trace.z, dtype=float)))
    assert got == pytest.approx(np.log10(expected).to_dict())
    hover_values = {row[0]: float(row[1]) for row in trace.customdata}  # the hover shows the real £
    assert hover_values["France"] == pytest.approx(expected["FRA"])


def test_uk_dominance_is_said(dashboard_app, geography):
    with as_user(dashboard_app, "viewer@alpha.test"):
        _, _, linear, _, _ = geography.update_geography("?metric=customers&scale=linear")
        _, _, log, _, _ = geography.update_geography("?metric=customers&scale=log")
    assert linear.startswith("United Kingdom holds") and "Log" in linear
    assert log == ""


def test_unmappable_countries_are_listed_not_dropped(alpha, geography):
    lines = alpha.lines.copy()
    lines["country"] = lines["country"].cat.rename_categories({"EIRE": "Channel Islands", "Germany": "Unspecified"})
    summary = country_summary(lines, alpha.snapshot_date)
    figure = geography.map_figure(summary, "revenue", "linear", set())
    assert sorted(_map(figure).locations) == ["FRA", "GBR"]
    listed = str(geography.unmapped_list(summary))
    for name in ("Channel Islands", "Unspecified"):
        revenue = summary.loc[name, "revenue"]
        assert name in listed and f"£{revenue:,.0f}" in listed
    rows = {row["country"]: row for row in geography.table_rows(summary, set())}
    assert rows["Channel Islands"]["map"] == "no" and rows["France"]["map"] == "yes"
    ranking = traces(geography.bars_figure(summary, "revenue", "linear", set()))["bars"]
    assert "Unspecified *" in list(ranking.y)


def test_clicks_set_and_clear_the_country_filter(dashboard_app, geography):
    point = {"points": [{"location": "FRA", "customdata": ["France", 1.0]}]}
    with as_user(dashboard_app, "viewer@alpha.test"):
        assert geography.map_click(point, "?metric=customers&scale=linear") == \
            "?country=France&metric=customers&scale=linear"
        # the other filters are kept
        assert geography.map_click(point, "?start=2023-01-01&segment=Champions&metric=aov") == \
            "?start=2023-01-01&country=France&segment=Champions&metric=aov&scale=log"
        # clicking the selected country again clears it
        assert geography.map_click(point, "?country=France&metric=customers") == "?metric=customers&scale=log"
        # another country replaces the selection; a row click does the same
        assert geography.table_click({"rowId": "Germany", "colId": "orders"}, "?country=France") == \
            "?country=Germany&metric=revenue&scale=log"
        assert geography.bars_click({"points": [{"customdata": ["EIRE", 0.1]}]}, "") == \
            "?country=EIRE&metric=revenue&scale=log"
        # anything that is not a country of the caller's data changes nothing
        assert geography.table_click({"rowId": "Atlantis"}, "") is no_update
        assert geography.map_click({"points": [{}]}, "") is no_update
        assert geography.map_click(None, "") is no_update
        # forged inputs (any JSON) change nothing and never raise
        for forged in (5, "France", ["France"], {"points": "France"}, {"points": [5]}, {"rowId": 7}):
            assert geography.map_click(forged, forged) is no_update
            assert geography.bars_click(forged, [1]) is no_update
            assert geography.table_click(forged, {"country": "x"}) is no_update
        assert geography.table_click({"rowId": "France"}, 12) == "?country=France&metric=revenue&scale=log"
    with as_user(dashboard_app, "viewer@beta.test"):
        assert geography.table_click({"rowId": "France"}, "") is no_update  # alpha's country, not beta's


def test_drill_down_lists_exactly_the_customers_of_the_country(dashboard_app, alpha, geography):
    from portal.dashboard.customer_lists import EXPORTS, list_rows
    from portal.dashboard.view import View
    from portal.platform.tenancy import current_context

    export = EXPORTS["geography"]
    assert export.fields == ["customer_id", "country", "segment", "recency", "frequency", "monetary", "net_clv_12m",
                             "risk_band", "clv_tier"]
    rfm = rfm_table(alpha.lines, alpha.snapshot_date)
    with as_user(dashboard_app, "manager@alpha.test"):
        rows = list_rows(export, View(current_context(), "?country=France"))
        page = geography.layout(country="France")
    assert sorted(rows["customer_id"]) == sorted(rfm.index[rfm["country"] == "France"])
    assert (rows["country"] == "France").all() and rows["net_clv_12m"].notna().all()
    assert rows["monetary"].tolist() == pytest.approx(rfm.loc[rows["customer_id"], "monetary"].tolist())
    assert "/export/geography.csv?country=France" in str(page)


def test_filters_other_than_country_apply_to_the_map(dashboard_app, alpha, geography):
    with as_user(dashboard_app, "viewer@alpha.test"):
        dated, *_ = geography.update_geography("?start=2023-01-01&end=2023-03-31&country=France&scale=linear")
        segment, *_ = geography.update_geography("?segment=Champions&country=France&scale=linear")
    # the map keeps every country (the selected one outlined) and counts the date window only
    window = country_summary_between(alpha.lines, "2023-01-01", "2023-04-01").set_index("iso3")["revenue"]
    trace = _map(dated)
    assert dict(zip(trace.locations, trace.z)) == pytest.approx(window.to_dict())
    widths = dict(zip(trace.locations, trace.marker.line.width))
    assert widths["FRA"] > widths["GBR"]
    rfm = segmented_rfm(alpha.lines, alpha.snapshot_date)
    champions = alpha.lines[alpha.lines["customer_id"].astype("str").isin(rfm.index[rfm["segment"] == "Champions"])]
    expected = country_summary(champions, alpha.snapshot_date).set_index("iso3")["revenue"]
    trace = _map(segment)
    assert dict(zip(trace.locations, trace.z)) == pytest.approx(expected.to_dict())


def test_other_tenant_and_no_match(dashboard_app, dashboard_logs, geography):
    beta = cleaned_log(dashboard_logs["beta"])
    expected = country_summary(beta.lines, beta.snapshot_date).set_index("iso3")["revenue"]
    with as_user(dashboard_app, "manager@beta.test"):
        figure, *_ = geography.update_geography("?scale=linear")
        late = geography.update_geography("?start=2030-01-01")
        nobody = geography.update_geography("?segment=Nobody")
    trace = _map(figure)
    assert dict(zip(trace.locations, trace.z)) == pytest.approx(expected.to_dict())
    assert sorted(trace.locations) == ["DEU", "NLD"]
    for result in (late, nobody):
        assert "match nobody" in figure_dict(result[0])["layout"]["annotations"][0]["text"]
        assert result[4] == []
