"""Segments page: layout and callbacks called as a logged-in user, values checked
against analytics computed straight from the same log."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dashboard_testlib import as_user, cleaned_log, components_by_id, figure_dict, page_module, traces

from analytics.distributions import histogram, iqr_outliers
from analytics.migration import PREVIOUS_ORDER, segment_migration
from analytics.rfm import (
    SEGMENT_ORDER,
    lorenz_curve,
    revenue_concentration,
    rfm_segment_grid,
    segment_summary,
    segmented_rfm,
)

QUERY_FILTER = "?segment=Champions&segment=Hibernating&country=France"


@pytest.fixture
def segments(dashboard_app):
    return page_module("segments")


@pytest.fixture(scope="module")
def alpha(dashboard_logs):
    """The reference: RFM segments and migration straight from alpha's log."""
    reference = cleaned_log(dashboard_logs["alpha"])
    rfm = segmented_rfm(reference.lines, reference.snapshot_date)
    migration = segment_migration(reference.lines, reference.snapshot_date, 90)
    return reference, rfm, migration


def _hand_filtered(rfm: pd.DataFrame) -> pd.DataFrame:
    return rfm[rfm["segment"].isin(["Champions", "Hibernating"]) & (rfm["country"] == "France")]


def _treemap_counts(figure) -> dict[str, int]:
    trace = traces(figure)["Segments"]
    return dict(zip(trace.labels, (int(v) for v in trace.values)))


def _expected_counts(summary: pd.DataFrame) -> dict[str, int]:
    return {s: int(n) for s, n in summary["customers"].items() if n > 0}


def _message(figure) -> str:
    return " ".join(a["text"] for a in figure_dict(figure)["layout"].get("annotations", []))




def test_layout_has_every_component(dashboard_app, segments):
    with as_user(dashboard_app, "manager@alpha.test"):
        page = segments.layout(migration="matrix")
    ids = set(components_by_id(page))
    for component in ("segments-treemap", "segments-grid", "segments-table", "segments-migration",
                      "segments-histograms", "segments-boxes", "segments-lorenz", "segments-list",
                      "segments-query", "segments-help"):
        assert component in ids, component


def test_treemap_table_and_grid_match_segment_summary(dashboard_app, alpha, segments):
    _, rfm, _ = alpha
    expected = segment_summary(rfm)
    with as_user(dashboard_app, "viewer@alpha.test"):
        treemap, rows, grid = segments.update_segments("")
    assert _treemap_counts(treemap) == _expected_counts(expected)
    assert [r["segment"] for r in rows] == list(SEGMENT_ORDER)
    table = pd.DataFrame(rows).set_index("segment")
    assert table["customers"].tolist() == expected["customers"].tolist()
    assert table["revenue_share"].astype(float).tolist() == pytest.approx(
        expected["revenue_share"].tolist(), nan_ok=True)
    assert table["mean_recency"].astype(float).tolist() == pytest.approx(expected["mean_recency"].tolist(),
                                                                         nan_ok=True)
    assert table.loc["Champions", "description"] == expected.loc["Champions", "description"]
    heat = figure_dict(grid)["data"][0]
    assert np.asarray(traces(grid)["Customers"].z).tolist() == rfm_segment_grid(rfm).to_numpy().tolist()
    assert heat["customdata"][4][4] == "Champions" and heat["customdata"][0][0] == "Lost"


def test_segment_and_country_filter_counts_exactly_the_hand_filtered_customers(dashboard_app, alpha, segments):
    from portal.dashboard.customer_lists import EXPORTS, list_rows
    from portal.dashboard.view import View
    from portal.platform.tenancy import current_context

    _, rfm, _ = alpha
    hand = _hand_filtered(rfm)
    assert 0 < len(hand) < len(rfm)
    expected = segment_summary(hand)
    with as_user(dashboard_app, "manager@alpha.test"):
        treemap, rows, grid = segments.update_segments(QUERY_FILTER)
        listed = list_rows(EXPORTS["segments"], View(current_context(), QUERY_FILTER))
    assert _treemap_counts(treemap) == _expected_counts(expected)
    assert set(_treemap_counts(treemap)) <= {"Champions", "Hibernating"}
    assert pd.DataFrame(rows)["customers"].tolist() == expected["customers"].tolist()
    assert np.asarray(traces(grid)["Customers"].z).tolist() == rfm_segment_grid(hand).to_numpy().tolist()
    assert sorted(listed["customer_id"]) == sorted(hand.index)
    assert listed["monetary"].is_monotonic_decreasing
    assert list(listed.columns) == ["customer_id", "segment", "previous_segment", "recency", "frequency",
                                    "monetary", "tenure", "r_score", "f_score", "m_score", "country", "last_order",
                                    "clv_tier", "risk_band"]  # every customer list carries tier and band


def test_migration_matrix_equals_segment_migration(dashboard_app, alpha, segments):
    _, rfm, migration = alpha
    with as_user(dashboard_app, "viewer@alpha.test"):
        counts, note = segments.update_migration("?migration=matrix")
        revenue, _ = segments.update_migration("?migration=matrix&migration_value=revenue")
        filtered, _ = segments.update_migration("?migration=matrix&country=Germany")
    counts = traces(counts)["Customers"]
    assert list(counts.y) == list(PREVIOUS_ORDER) and list(counts.x) == list(SEGMENT_ORDER)
    assert np.nan_to_num(np.asarray(counts.z, dtype=float)).tolist() == migration.counts.to_numpy().tolist()
    # cells nobody moved through are blank (NaN); the others hold the window revenue
    assert np.nan_to_num(np.asarray(traces(revenue)["Net revenue (£)"].z, dtype=float)) == pytest.approx(
        migration.revenue.where(migration.counts > 0, 0.0).to_numpy())
    assert f"{len(rfm):,} customers" in note
    # under a filter: the selected customers' rows of the same migration, counted by hand
    germans = rfm.index[rfm["country"] == "Germany"]
    moves = migration.customers.loc[germans]
    by_hand = pd.crosstab(moves["previous"], moves["current"], dropna=False).reindex(
        index=list(PREVIOUS_ORDER), columns=list(SEGMENT_ORDER), fill_value=0)
    filtered_z = np.nan_to_num(np.asarray(traces(filtered)["Customers"].z, dtype=float))
    assert filtered_z.tolist() == by_hand.to_numpy().tolist()


def test_migration_sankey_flows_and_dates(dashboard_app, alpha, segments):
    _, _, migration = alpha
    with as_user(dashboard_app, "manager@alpha.test"):
        sankey, _ = segments.update_migration("")
        page = segments.layout()
    link = figure_dict(sankey)["data"][0]
    trace = sankey.data[0]
    labels = list(trace.node.label)
    flows = {(labels[s], labels[t]): v for s, t, v in zip(trace.link.source, trace.link.target, trace.link.value)}
    long = migration.to_long()
    expected = {(p, c): n for p, c, n in long[long["customers"] > 0][["previous", "current", "customers"]]
                .itertuples(index=False)}
    assert flows == pytest.approx(expected)
    assert link["type"] == "sankey"
    assert f"{migration.previous_date:%Y-%m-%d}" in str(page) and f"{migration.snapshot_date:%Y-%m-%d}" in str(page)


def test_lorenz_and_gini_equal_revenue_concentration(dashboard_app, alpha, segments):
    _, rfm, _ = alpha
    with as_user(dashboard_app, "viewer@alpha.test"):
        everyone = segments.update_concentration("")
        france = segments.update_concentration("?country=France")
    for figure, monetary in ((everyone, rfm["monetary"]), (france, rfm.loc[rfm["country"] == "France", "monetary"])):
        stats, curve = revenue_concentration(monetary), lorenz_curve(monetary)
        lorenz = traces(figure)["Lorenz curve"]
        assert list(lorenz.y) == pytest.approx(curve["revenue_share"].tolist())
        text = _message(figure)
        assert f"Gini {stats['gini']:.2f}" in text
        assert f"Top 10% of customers: {stats['top_10pct_share'] * 100:.1f}% of revenue" in text
        top = traces(figure)["Top customers"]
        assert list(top.y) == pytest.approx([1 - stats[k] for k in ("top_1pct_share", "top_10pct_share",
                                                                    "top_20pct_share")])


def test_outlier_toggle_hides_exactly_the_iqr_outliers(dashboard_app, alpha, segments):
    _, rfm, _ = alpha
    with as_user(dashboard_app, "viewer@alpha.test"):
        _, shown, shown_note = segments.update_distributions("")
        _, hidden, hidden_note = segments.update_distributions("?outliers=hide")
    shown, hidden = traces(shown), traces(hidden)
    for feature, title in (("recency", "Recency"), ("frequency", "Frequency"), ("monetary", "Monetary")):
        flags = iqr_outliers(rfm[feature])
        assert f"{flags.count:,} {feature}" in hidden_note and f"{flags.count:,} {feature}" in shown_note
        assert f"{title} outliers" not in hidden
        if flags.count:
            assert sorted(shown[f"{title} outliers"].y) == pytest.approx(sorted(rfm.loc[flags.flags, feature]))
        box = hidden[title]
        inside = rfm.loc[~flags.flags, feature]
        assert (box.q1[0], box.q3[0]) == pytest.approx((flags.q1, flags.q3))
        assert (box.lowerfence[0], box.upperfence[0]) == pytest.approx((inside.min(), inside.max()))
    assert iqr_outliers(rfm["monetary"]).count > 0
    assert "Hidden" in hidden_note


def test_histograms_on_both_scales(dashboard_app, alpha, segments):
    _, rfm, _ = alpha
    with as_user(dashboard_app, "viewer@alpha.test"):
        log, _, _ = segments.update_distributions("")
        linear, _, _ = segments.update_distributions("?scale=linear")
    for figure, is_log in ((log, True), (linear, False)):
        for feature, title in (("frequency", "Frequency"), ("monetary", "Monetary")):
            expected = histogram(rfm[feature], bins=30, log=is_log)
            trace = traces(figure)[title]
            assert list(trace.y)[:-1] == expected["count"].tolist()
            assert list(trace.x)[:-1] == pytest.approx(expected["left"].tolist())
    assert figure_dict(log)["layout"]["xaxis3"]["type"] == "log"
    assert figure_dict(linear)["layout"]["xaxis3"]["type"] == "linear"


def test_beta_never_sees_alpha(dashboard_app, dashboard_logs, alpha, segments):
    from portal.dashboard.customer_lists import EXPORTS, list_rows
    from portal.dashboard.view import View
    from portal.platform.tenancy import current_context

    beta = cleaned_log(dashboard_logs["beta"])
    rfm = segmented_rfm(beta.lines, beta.snapshot_date)
    with as_user(dashboard_app, "manager@beta.test"):
        treemap, rows, _ = segments.update_segments("")
        nothing, empty_rows, _ = segments.update_segments("?country=United+Kingdom")  # alpha's country
        listed = list_rows(EXPORTS["segments"], View(current_context(), ""))
        hover = traces(segments.update_distributions("")[1])
    assert _treemap_counts(treemap) == _expected_counts(segment_summary(rfm))
    assert sum(r["customers"] for r in rows) == len(rfm)
    assert sorted(listed["customer_id"]) == sorted(rfm.index)
    outlier_ids = {c for name, t in hover.items() if name.endswith("outliers") for c in t.customdata}
    assert outlier_ids <= set(rfm.index)
    assert "match nobody" in _message(nothing) and empty_rows == []


def test_a_filter_that_matches_nobody_says_so(dashboard_app, segments):
    query = "?country=Atlantis"
    with as_user(dashboard_app, "viewer@alpha.test"):
        treemap, rows, grid = segments.update_segments(query)
        migration, note = segments.update_migration(query)
        histograms, boxes, outlier_note = segments.update_distributions(query)
        lorenz = segments.update_concentration(query)
    for figure in (treemap, grid, migration, histograms, boxes, lorenz):
        assert "match nobody" in _message(figure)
    assert rows == [] and note == "" and outlier_note == ""


def test_clicking_a_segment_sets_the_segment_filter(segments):
    query = "?country=France&segment=Lost&migration=matrix"
    assert segments.segment_query(query, "Champions") == "?country=France&segment=Champions&migration=matrix"
    assert segments.segment_query(query, "<script>") is None
    assert segments.segment_query("", "At Risk") == "?segment=At+Risk"
    tile = {"points": [{"label": "At Risk", "id": "At Risk", "value": 12}]}
    assert segments.clicked_segment("segments-treemap", tile, None) == "At Risk"
    assert segments.clicked_segment("segments-table", None, {"rowId": "Lost", "colId": "share"}) == "Lost"
    for trigger, click, cell in (("segments-treemap", 3, None), ("segments-treemap", {"points": "x"}, None),
                                 ("segments-table", None, ["Lost"]), ("segments-table", None, {"rowId": 7}),
                                 ("elsewhere", tile, None), ("segments-treemap", {"points": [{"label": "Nope"}]},
                                                             None)):
        assert segments.clicked_segment(trigger, click, cell) is None


def test_forged_callback_inputs_answer_alpha_only(dashboard_app, alpha, segments):
    _, rfm, _ = alpha
    everyone = _expected_counts(segment_summary(rfm))
    with as_user(dashboard_app, "viewer@alpha.test"):
        for forged in (2, ["BETA", "Netherlands"], {"tenant_id": 2, "dataset_id": 2}, None):
            treemap, _, _ = segments.update_segments(forged)
            assert _treemap_counts(treemap) == everyone  # no filter: alpha's own customers
            segments.update_migration(forged)
            segments.update_distributions(forged)
            segments.update_concentration(forged)
        treemap, _, _ = segments.update_segments("?tenant=beta&dataset_id=2&customer=BETAC1")
    assert _treemap_counts(treemap) == everyone  # unknown keys are ignored
