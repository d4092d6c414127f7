"""Customer value page, issue 10: the candidates' holdout figures and the choice from the fit,
the plain summary, the P(alive) verdict, the agreement with churn and the 80% intervals,
checked against analytics fitted straight from the same log."""
from __future__ import annotations

from dataclasses import replace

import plotly.graph_objects as go
import pytest
from dashboard_testlib import as_user, components_by_id, page_module

from analytics.explain import purchase_model_summary
from analytics.model_choice import CHOICE_RULE, pick
from analytics.purchase_models import LABELS
from analytics.risk import p_alive_churn_agreement


@pytest.fixture
def value(dashboard_app):
    return page_module("value")


def _table(found, table_id: str) -> dict[str, list[str]]:
    body = found[table_id].children[1].children
    return {row.children[0].children: [c.children for c in row.children[1:]] for row in body}


def _view_with(models):
    """A View of the logged-in user whose stored fit is replaced by ``models`` (a ModelResults)."""
    from portal.dashboard.view import View
    from portal.platform.tenancy import current_context

    view = View(current_context(), "")
    view.__dict__["models"] = replace(view.models, results=models)
    return view


def test_candidates_figures_and_choice_from_the_fit(dashboard_app, alpha_reference, value):
    _, models, _ = alpha_reference
    choice = models.clv.choice
    assert choice.insufficient is None and len(choice.candidates) == 3
    with as_user(dashboard_app, "viewer@alpha.test"):
        found = components_by_id(value.layout())
    rows = _table(found, "value-candidates")
    assert rows["Actual"][1] == f"{choice.total_actual:,.0f}"
    for name, score in choice.candidates.items():
        label = LABELS[name] + (" (chosen)" if name == choice.chosen else "")
        assert rows[label][:3] == [f"{score.mae:.3f}", f"{score.total_predicted:,.0f}",
                                   "no" if score.no_dropout else "yes"], name
    # the choice follows the stated rule (analytics.model_choice.pick, tested there)
    assert choice.chosen == pick(choice.candidates) == models.clv.purchase_model
    assert CHOICE_RULE in str(found["value-choice-rule"].to_plotly_json())
    assert LABELS[choice.chosen] in str(found["value-choice-chosen"].to_plotly_json())
    buckets = _table(found, "value-candidate-buckets")
    some = next(iter(choice.candidates.values())).buckets
    for bucket in some.index:
        expected = [f"{choice.candidates[n].buckets.loc[bucket, 'predicted']:.2f}" for n in choice.candidates]
        assert buckets[bucket][1] == f"{some.loc[bucket, 'actual']:.2f}"
        assert buckets[bucket][2:] == expected
    # raw parameters in a closed fold, the plain summary at the top
    assert found["value-params-fold"].__class__.__name__ == "Details"
    assert "value-params" in components_by_id(found["value-params-fold"])
    assert found["value-summary"].children == purchase_model_summary(models.clv)["text"]


def test_agreement_with_churn_is_shown(dashboard_app, alpha_reference, value):
    _, models, _ = alpha_reference
    clv = models.clv
    expected = p_alive_churn_agreement(clv.customers["p_alive"], models.churn_scores["churn_probability"],
                                       clv.p_alive_informative, repeat=clv.customers["repeat_purchase_days"] > 0)
    with as_user(dashboard_app, "viewer@alpha.test"):
        found = components_by_id(value.layout())
    text = str(found["value-agreement"].to_plotly_json())
    assert expected["note"] in text
    assert ("disagree" in text) == bool(expected["disagree"])


def test_uninformative_p_alive_shows_the_message_not_the_map(dashboard_app, alpha_reference, value):
    _, models, _ = alpha_reference
    flat = replace(models, clv=replace(models.clv, p_alive_informative=False))
    render = value.update_palive.__wrapped__.__wrapped__  # the page's render(view), unmemoised
    with as_user(dashboard_app, "viewer@alpha.test"):
        view = _view_with(flat)
        body = components_by_id(value._body(view))
        figure = go.Figure(render(_view_with(flat)))
        informative = go.Figure(render(_view_with(models)))
    assert "value-palive-uninformative" in body
    assert "href='/churn'" in repr(body["value-palive-uninformative"])
    assert not any(isinstance(t, go.Heatmap) for t in figure.data)
    assert any(isinstance(t, go.Heatmap) for t in informative.data)


def test_list_carries_the_fits_intervals(dashboard_app, alpha_reference, value):
    from portal.dashboard.customer_lists import EXPORTS, list_rows
    from portal.dashboard.view import View
    from portal.platform.tenancy import current_context

    _, models, _ = alpha_reference
    table = models.clv_intervals.table
    with as_user(dashboard_app, "viewer@alpha.test"):
        rows = list_rows(EXPORTS["value"], View(current_context(), "")).set_index("customer_id")
    for column in ("net_clv_12m_low", "net_clv_12m_high", "purchase_days_12m_low", "purchase_days_12m_high"):
        assert rows[column].to_numpy(dtype=float) == pytest.approx(
            table.loc[rows.index, column].to_numpy(dtype=float), rel=1e-9), column
    assert (rows["net_clv_12m_low"] <= rows["net_clv_12m_high"]).all()


def test_too_little_data_for_a_holdout_is_said(dashboard_app, value):
    """beta (150 customers) has too few repeat customers for a holdout: analytics' message shows."""
    with as_user(dashboard_app, "viewer@beta.test"):
        found = components_by_id(value.layout())
    text = str(found["value-choice-insufficient"].to_plotly_json())
    assert "needs at least 200" in text
    assert "value-list" in found  # the rest of the page keeps working
