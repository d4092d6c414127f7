"""Clusters page: layout and callbacks called as a logged-in user, values checked
against the clustering computed straight from the same log."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from dashboard_testlib import as_user, cleaned_log, figure_dict, page_module, traces

from analytics.clusters import cluster_customers
from analytics.rfm import segmented_rfm


@pytest.fixture
def clusters(dashboard_app):
    return page_module("clusters")


@pytest.fixture(scope="module")
def alpha(dashboard_logs):
    reference = cleaned_log(dashboard_logs["alpha"])
    rfm = segmented_rfm(reference.lines, reference.snapshot_date)
    return rfm, cluster_customers(rfm, seed=0)


def _points(figure) -> dict[str, list[str]]:
    """Cluster label -> customer ids of its points."""
    return {name: [str(c[0]) for c in trace.customdata] for name, trace in traces(figure).items()}


def _message(figure) -> str:
    return " ".join(a["text"] for a in figure_dict(figure)["layout"].get("annotations", []))


def _rows(view_query: str):
    from portal.dashboard.customer_lists import EXPORTS, list_rows
    from portal.dashboard.view import View
    from portal.platform.tenancy import current_context

    return list_rows(EXPORTS["clusters"], View(current_context(), view_query))


def test_chosen_k_curves_and_profiles_equal_the_clustering(dashboard_app, alpha, clusters):
    _, expected = alpha
    with as_user(dashboard_app, "viewer@alpha.test"):
        curves, rows = clusters.update_model("")
        page = clusters.layout()
    got = traces(curves)
    assert list(got["Inertia"].x) == expected.curves["k"].tolist()
    assert list(got["Inertia"].y) == pytest.approx(expected.curves["inertia"].tolist())
    assert list(got["Silhouette"].y) == pytest.approx(expected.curves["silhouette"].tolist())
    assert list(got["Chosen k (silhouette)"].x) == [expected.k]
    assert list(got["Chosen k (silhouette)"].y) == pytest.approx([expected.silhouette])
    table = pd.DataFrame(rows)
    assert table["label"].tolist() == expected.profiles["label"].tolist()
    assert table["size"].tolist() == expected.profiles["size"].tolist()
    assert table["selected"].tolist() == expected.profiles["size"].tolist()
    assert table["monetary"].astype(float).tolist() == pytest.approx(expected.profiles["monetary"].tolist())
    assert f"k = {expected.k} clusters" in str(page)


def test_scatter_shows_every_customer_in_its_cluster(dashboard_app, alpha, clusters):
    rfm, expected = alpha
    with as_user(dashboard_app, "viewer@alpha.test"):
        flat, note = clusters.update_scatter("")
        pca, _ = clusters.update_scatter("?axes=pca")
        cube, _ = clusters.update_scatter("?view=3d")
    labels = expected.cluster_labels
    for figure in (flat, pca, cube):
        points = _points(figure)
        assert sum(len(ids) for ids in points.values()) == len(rfm)
        for label, ids in points.items():
            assert set(labels.loc[ids]) == {label}
    assert f"All {len(rfm):,} customers" in note
    assert figure_dict(cube)["data"][0]["type"] == "scatter3d"
    some = traces(pca)[labels.iloc[0]]
    first = str(some.customdata[0][0])
    assert some.x[0] == pytest.approx(expected.coordinates.loc[first, "pc1"])
    flat_trace = traces(flat)[labels.loc[first]]
    position = [str(c[0]) for c in flat_trace.customdata].index(first)
    assert flat_trace.y[position] == pytest.approx(np.log1p(max(rfm.loc[first, "monetary"], 0)))


def test_scatter_is_sampled_for_the_browser(dashboard_app, alpha, clusters, monkeypatch):
    rfm, _ = alpha
    monkeypatch.setattr(clusters, "MAX_POINTS", 100)
    with as_user(dashboard_app, "viewer@alpha.test"):
        # the unmemoised renders: MAX_POINTS is patched, and the sample must repeat when drawn again
        figure, note = clusters.update_scatter.__wrapped__("")
        again, _ = clusters.update_scatter.__wrapped__("")
    points = _points(figure)
    drawn = [c for ids in points.values() for c in ids]
    assert len(drawn) == 100 and len(set(drawn)) == 100 and set(drawn) <= set(rfm.index)
    assert points == _points(again)  # the same sample every time
    assert f"sample of 100 of the {len(rfm):,} customers" in note


def test_filters_show_only_the_selected_customers(dashboard_app, alpha, clusters):
    rfm, expected = alpha
    query = "?country=France&segment=Champions&segment=Lost&segment=Hibernating"
    hand = rfm[(rfm["country"] == "France") & rfm["segment"].isin(["Champions", "Lost", "Hibernating"])]
    assert 0 < len(hand) < len(rfm)
    with as_user(dashboard_app, "manager@alpha.test"):
        figure, note = clusters.update_scatter(query)
        _, rows = clusters.update_model(query)
        listed = _rows(query)
    drawn = sorted(c for ids in _points(figure).values() for c in ids)
    assert drawn == sorted(hand.index)
    assert f"All {len(hand):,} selected customers" in note
    selected = pd.DataFrame(rows).set_index("cluster")["selected"]
    by_hand = expected.labels.loc[hand.index].value_counts().reindex(selected.index, fill_value=0)
    assert selected.tolist() == by_hand.tolist()
    assert sorted(listed["customer_id"]) == sorted(hand.index)
    assert list(listed.columns) == ["customer_id", "cluster_label", "recency", "frequency", "monetary", "tenure",
                                    "segment", "country", "clv_tier", "risk_band"]
    assert (listed.set_index("customer_id")["cluster_label"] == expected.cluster_labels.loc[
        listed["customer_id"]]).all()


def test_beta_never_sees_alpha(dashboard_app, dashboard_logs, clusters):
    beta = cleaned_log(dashboard_logs["beta"])
    rfm = segmented_rfm(beta.lines, beta.snapshot_date)
    expected = cluster_customers(rfm, seed=0)
    with as_user(dashboard_app, "manager@beta.test"):
        figure, _ = clusters.update_scatter("")
        curves, rows = clusters.update_model("")
        listed = _rows("")
        nobody, _ = clusters.update_scatter("?country=United+Kingdom")  # alpha's country
    drawn = sorted(c for ids in _points(figure).values() for c in ids)
    assert drawn == sorted(rfm.index)
    assert sorted(listed["customer_id"]) == sorted(rfm.index)
    assert pd.DataFrame(rows)["label"].tolist() == expected.profiles["label"].tolist()
    assert list(traces(curves)["Inertia"].y) == pytest.approx(expected.curves["inertia"].tolist())
    assert "match nobody" in _message(nobody)


def test_a_filter_that_matches_nobody_says_so(dashboard_app, clusters):
    with as_user(dashboard_app, "viewer@alpha.test"):
        figure, note = clusters.update_scatter("?country=Atlantis")
        _, rows = clusters.update_model("?country=Atlantis")
        listed = _rows("?country=Atlantis")
    assert "match nobody" in _message(figure) and note == ""
    assert all(r["selected"] == 0 for r in rows)
    assert listed.empty


def test_forged_callback_inputs_answer_alpha_only(dashboard_app, alpha, clusters):
    rfm, _ = alpha
    with as_user(dashboard_app, "viewer@alpha.test"):
        for forged in (2, ["BETA", "Netherlands"], {"tenant_id": 2, "dataset_id": 2}, None):
            figure, _ = clusters.update_scatter(forged)
            drawn = sorted(c for ids in _points(figure).values() for c in ids)
            assert drawn == sorted(rfm.index)
            clusters.update_model(forged)


def test_skipped_clustering_shows_the_reason(dashboard_app, clusters, monkeypatch):
    from portal.dashboard import view as dashboard
    from portal.platform.tenancy import current_context

    with as_user(dashboard_app, "viewer@alpha.test"):
        real = dashboard.View(current_context()).report
    skipped = dataclasses.replace(real, clusters=None,
                                  notes=["clustering skipped: 8 customers: clustering needs at least 10."])
    monkeypatch.setattr(dashboard.View, "report", property(lambda self: skipped))
    with as_user(dashboard_app, "viewer@alpha.test"):
        page = clusters.layout()
        figure, _ = clusters.update_scatter.__wrapped__("")  # unmemoised: the report is patched
        curves, rows = clusters.update_model.__wrapped__("")
    assert "clustering needs at least 10" in str(page)
    assert "clustering needs at least 10" in _message(figure)
    assert "clustering needs at least 10" in _message(curves) and rows == []
