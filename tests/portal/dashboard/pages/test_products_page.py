"""Products page: top products, Pareto curve, return rates and association rules called as a
logged-in user, checked against analytics computed straight from the same log."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dashboard_testlib import as_user, cleaned_log, figure_dict, page_module, traces

from analytics.products import (
    pareto_curve,
    product_summary,
    return_rate_leaders,
    returned_value,
    top_products,
)
from analytics.recommend import association_rules


@pytest.fixture
def products(dashboard_app):
    return page_module("products")


@pytest.fixture(scope="module")
def alpha(dashboard_logs):
    return cleaned_log(dashboard_logs["alpha"])


@pytest.fixture(scope="module")
def alpha_summary(alpha):
    return product_summary(alpha.lines, alpha.snapshot_date)


def _codes(trace) -> list[str]:
    return [row[0] for row in trace.customdata]


@pytest.mark.parametrize("by", ["revenue", "quantity", "customers"])
def test_top_products_match_analytics(dashboard_app, alpha_summary, products, by):
    expected = top_products(alpha_summary, by=by, n=10)
    with as_user(dashboard_app, "viewer@alpha.test"):
        top = traces(products.update_products(f"?by={by}")[0])["top"]
    assert _codes(top)[::-1] == expected.index.tolist()  # best at the top of the chart
    assert list(top.x)[::-1] == pytest.approx(expected[by].astype(float).tolist())
    descriptions = [row[1] for row in top.customdata][::-1]
    assert descriptions == expected["description"].tolist()


def test_pareto_marks_the_products_making_80_percent(dashboard_app, alpha_summary, products):
    expected = pareto_curve(alpha_summary)
    with as_user(dashboard_app, "viewer@alpha.test"):
        _, pareto, note, _, _ = products.update_products("")
    found = traces(pareto)
    assert list(found["80%"].customdata) == [expected.products_for_80]
    assert list(found["80%"].x) == pytest.approx([expected.product_share_for_80])
    assert list(found["pareto"].y)[1:] == pytest.approx(expected.curve["revenue_share"].tolist())
    assert note.startswith(f"{expected.products_for_80:,} of {len(alpha_summary):,} products")


def test_return_rates_with_threshold_and_returned_value(dashboard_app, alpha, alpha_summary, products):
    expected = return_rate_leaders(alpha_summary, min_units=50, n=10)
    values = returned_value(alpha.lines, alpha.snapshot_date)
    with as_user(dashboard_app, "viewer@alpha.test"):
        _, _, _, returns, note = products.update_products("")
        page = str(products.layout())
    trace = traces(returns)["returns"]
    assert _codes(trace)[::-1] == expected.index.tolist()
    assert list(trace.x)[::-1] == pytest.approx(expected["return_rate"].tolist())
    assert (alpha_summary.loc[_codes(trace), "quantity"] >= 50).all()
    returned = [float(row[4]) for row in trace.customdata][::-1]
    assert returned == pytest.approx(values.reindex(expected.index).fillna(0).tolist())
    assert f"£{values.sum():,.0f}" in note
    assert "at least 50 units sold" in page


def test_country_filter_narrows_the_products(dashboard_app, alpha, products):
    lines = alpha.lines[alpha.lines["country"] == "Germany"]
    summary = product_summary(lines, alpha.snapshot_date)
    with as_user(dashboard_app, "viewer@alpha.test"):
        top, pareto, _, returns, _ = products.update_products("?country=Germany&by=quantity")
    assert _codes(traces(top)["top"])[::-1] == top_products(summary, by="quantity", n=10).index.tolist()
    assert list(traces(pareto)["80%"].customdata) == [pareto_curve(summary).products_for_80]
    leaders = return_rate_leaders(summary)
    if leaders.empty:
        assert "units sold was returned" in figure_dict(returns)["layout"]["annotations"][0]["text"]
    else:
        assert _codes(traces(returns)["returns"])[::-1] == leaders.index.tolist()


def test_association_rules_are_the_stored_model_results(dashboard_app, alpha, products):
    from portal.dashboard.view import View
    from portal.platform.tenancy import current_context

    with as_user(dashboard_app, "viewer@alpha.test"):
        grid = products.update_rules("?country=Germany")  # filters do not change the rules
        stored = View(current_context(), "").models.results.association_rules
    assert grid.id == "products-rules"
    rows = pd.DataFrame.from_records(grid.rowData)
    independent = association_rules(alpha.lines)  # what the model fit mines, from the reference log
    for expected in (stored, independent):
        assert rows["antecedent"].tolist() == expected["antecedent"].tolist()
        assert rows["consequent"].tolist() == expected["consequent"].tolist()
        for column in ("support", "confidence", "lift"):
            assert rows[column].tolist() == pytest.approx(expected[column].tolist())
    first = stored.iloc[0]
    assert rows.loc[0, "antecedent_label"] == f"{first['antecedent_description']} ({first['antecedent']})"


def test_models_pending_leaves_the_rest_of_the_page_working(dashboard_app, alpha_summary, products, monkeypatch):
    from portal.dashboard.view import ModelsState, View

    pending = ModelsState(results=None, status="running", message="Fitting churn", progress=0.4, stamp="nomodels")
    monkeypatch.setattr(View, "models", property(lambda self: pending))
    with as_user(dashboard_app, "viewer@alpha.test"):
        box = products.update_rules("")
        top = traces(products.update_products("")[0])["top"]
    assert box.id == "models-pending" and "40%" in str(box.children)
    assert _codes(top)[::-1] == top_products(alpha_summary, n=10).index.tolist()


def test_other_tenant_and_no_match(dashboard_app, dashboard_logs, products):
    beta = cleaned_log(dashboard_logs["beta"])
    expected = top_products(product_summary(beta.lines, beta.snapshot_date), n=10)
    with as_user(dashboard_app, "manager@beta.test"):
        top = traces(products.update_products("")[0])["top"]
        nobody = products.update_products("?country=United+Kingdom")  # alpha's country
        rules = products.update_rules("")
    assert _codes(top)[::-1] == expected.index.tolist()
    assert list(top.x)[::-1] == pytest.approx(expected["revenue"].tolist())
    for figure in (nobody[0], nobody[1], nobody[3]):
        assert "match nobody" in figure_dict(figure)["layout"]["annotations"][0]["text"]
    beta_rules = association_rules(beta.lines)
    assert [row["antecedent"] for row in rules.rowData] == beta_rules["antecedent"].tolist()
    assert np.isfinite([row["lift"] for row in rules.rowData]).all()
