"""Customer value page: the CLV list, distribution, P(alive) map, holdout check and
parameters, checked against the CLV models fitted straight from the same log."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from dashboard_testlib import as_user, cleaned_log, components_by_id, figure_dict, page_module, traces

from analytics import segmented_rfm
from analytics.btyd_models import _lifetimes
from analytics.purchase_models import LABELS


@pytest.fixture
def value(dashboard_app):
    return page_module("value")




def _list(query: str) -> pd.DataFrame:
    from portal.dashboard.customer_lists import EXPORTS, list_rows
    from portal.dashboard.view import View
    from portal.platform.tenancy import current_context

    return list_rows(EXPORTS["value"], View(current_context(), query))


def test_list_equals_the_clv_table(dashboard_app, alpha_reference, value):
    _, models, rfm = alpha_reference
    clv = models.clv.customers
    with as_user(dashboard_app, "viewer@alpha.test"):
        rows = _list("")
        top = _list("?tier=top+10%25")
    expected = clv.sort_index().sort_values("net_clv_12m", ascending=False, kind="stable")
    assert rows["customer_id"].tolist() == expected.index.tolist()
    for field in ("net_clv_12m", "p_alive", "expected_purchase_days_90d", "expected_purchase_value_gross"):
        assert rows[field].to_numpy(dtype=float) == pytest.approx(expected[field].to_numpy(), rel=1e-9), field
    assert rows["clv_tier"].astype(str).tolist() == expected["clv_tier"].astype(str).tolist()
    assert (rows["frequency"].to_numpy() == rfm.loc[rows["customer_id"], "frequency"].to_numpy()).all()
    # cumulative tiers (issue 10): the "top 10%" filter keeps the top 1% too
    assert top["customer_id"].tolist() == expected.index[expected["clv_tier"].isin(["top 1%", "top 10%"])].tolist()


def test_distribution_counts_the_filtered_customers(dashboard_app, alpha_reference, value):
    _, models, rfm = alpha_reference
    clv = models.clv.customers
    with as_user(dashboard_app, "viewer@alpha.test"):
        log = value.update_distribution("")
        clipped = value.update_distribution("?scale=clip&country=Germany")
    assert sum(traces(log)["Customers"].y) == len(clv)
    german = clv.loc[clv.index.isin(rfm.index[rfm["country"] == "Germany"]), "net_clv_12m"]
    assert sum(traces(clipped)["Customers"].y) == len(german)
    cap = np.quantile(german, 0.99)
    above = int((german > cap).sum())
    title = figure_dict(clipped)["layout"]["xaxis"]["title"]["text"]
    assert f"{above:,} customers above £{cap:,.0f}" in title
    # the tier markers: where top 10% and top 1% start (lowest CLV in the tier, over all customers)
    for tier in ("top 1%", "top 10%"):
        start = clv.loc[clv["clv_tier"] == tier, "net_clv_12m"].min()
        marker = next(t for n, t in traces(log).items() if n.startswith(tier))
        assert marker.x[0] == pytest.approx(np.log10(start))
        assert (clv["net_clv_12m"] >= start).sum() == (clv["clv_tier"].isin(["top 1%", "top 10%"]) if tier == "top 10%"
                                                   else clv["clv_tier"] == "top 1%").sum()


def test_no_match(dashboard_app, value):
    with as_user(dashboard_app, "viewer@alpha.test"):
        figure = figure_dict(value.update_distribution("?country=Atlantis"))
        rows = _list("?country=Atlantis")
    assert "match nobody" in figure["layout"]["annotations"][0]["text"]
    assert rows.empty


def test_p_alive_map_against_lifetimes(dashboard_app, alpha_reference, value):
    _, models, _ = alpha_reference
    clv = models.clv
    with as_user(dashboard_app, "viewer@alpha.test"):
        heatmap = go.Figure(value.update_palive("?country=France")).data[0]
    T = float(np.round(clv.customers["btyd_age_days"].median()))
    fitter = {"bgnbd": _lifetimes().BetaGeoFitter, "mbgnbd": _lifetimes().ModifiedBetaGeoFitter,
              "pnbd": _lifetimes().ParetoNBDFitter}[clv.purchase_model]()
    fitter.params_ = pd.Series(clv.purchase_params)
    z, xs, ys = np.asarray(heatmap.z, dtype=float), list(heatmap.x), list(heatmap.y)
    assert ys[0] == 0 and xs[0] == 0 and xs[-1] == T
    checked = 0
    for i in (1, 2, len(ys) - 1):
        for j in (len(xs) // 2, len(xs) - 1):
            if xs[j] < ys[i]:
                continue
            expected = float(np.asarray(fitter.conditional_probability_alive(ys[i], xs[j], T)).ravel()[0])
            assert z[i, j] == pytest.approx(expected, rel=1e-9)
            checked += 1
    assert checked >= 4
    if clv.purchase_model == "bgnbd":  # BG/NBD: nobody drops out before a repeat purchase
        assert z[0, 0] == 1.0
    assert np.isnan(z[0, -1])  # no repeat purchase: recency must be 0


def test_holdout_buckets_equal_the_validation(dashboard_app, alpha_reference, value):
    _, models, _ = alpha_reference
    val = models.clv_validation
    with as_user(dashboard_app, "viewer@alpha.test"):
        figure, table = value.update_holdout("")
    bars = traces(figure)
    buckets = val.buckets
    assert list(bars["Actual"].x) == list(buckets.index)
    assert bars["Actual"].y == pytest.approx(buckets["actual"].to_numpy())
    bg = next(t for n, t in bars.items() if n.startswith(LABELS[val.model]))
    naive = next(t for n, t in bars.items() if n.startswith("Naive"))
    assert bg.y == pytest.approx(buckets["predicted"].to_numpy())
    assert naive.y == pytest.approx(buckets["baseline"].to_numpy())
    assert f"MAE {val.metrics[val.model]['mae']:.2f}" in bg.name
    assert f"MAE {val.metrics['naive']['mae']:.2f}" in naive.name
    rows = {row.children[0].children: [c.children for c in row.children[1:]]
            for row in components_by_id(table)["value-holdout-table"].children[1].children}
    bg_metrics = val.metrics[val.model]
    assert rows[LABELS[val.model]] == [f"{bg_metrics['mae']:.3f}", f"{bg_metrics['rmse']:.3f}",
                              f"{bg_metrics['correlation']:.3f}", f"{bg_metrics['total_predicted']:,.0f}"]
    assert rows["Naive baseline"][0] == f"{val.metrics['naive']['mae']:.3f}"
    assert rows["Actual"][-1] == f"{val.total_actual:,.0f}"


def test_parameters_card(dashboard_app, alpha_reference, value):
    _, models, _ = alpha_reference
    clv = models.clv
    with as_user(dashboard_app, "viewer@alpha.test"):
        page = value.layout()
    text = str(components_by_id(page)["value-params"].to_plotly_json())
    for name in ("r", "alpha", "a", "b"):
        assert f"{clv.bgnbd_params[name]:.4g}" in text
    for name in ("p", "q"):
        assert f"{clv.gg_params[name]:.4g}" in text
    assert f"£{clv.gg_params['v']:,.2f}" in text or f"£{clv.gg_params['v']:,.0f}" in text
    assert "value-list" in components_by_id(page) and "value-palive" in str(page.to_plotly_json())


def test_other_tenant_sees_only_its_own_customers(dashboard_app, dashboard_logs, value):
    beta = cleaned_log(dashboard_logs["beta"])
    beta_customers = set(segmented_rfm(beta.lines, beta.snapshot_date).index)
    with as_user(dashboard_app, "viewer@beta.test"):
        rows = _list("")
        alpha_country = _list("?country=France")
    assert len(rows) == len(beta_customers) and set(rows["customer_id"]) == beta_customers
    assert alpha_country.empty


def test_models_pending_state(app, value):
    with as_user(app, "viewer@alpha.test"):
        page = components_by_id(page_module("value").layout())
        rows = _list("")
    assert "models-pending" in page and "value-list" not in page
    assert rows.empty
