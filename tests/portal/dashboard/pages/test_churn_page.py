"""Churn risk page: the at-risk list, the summary cards and the model card, checked
against the churn model fitted straight from the same log (analytics.fit_models is
deterministic at a fixed seed, so the portal's stored model must equal it)."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from dashboard_testlib import as_user, cleaned_log, components_by_id, figure_dict, page_module, traces
from portal_testlib import login

from analytics import segmented_rfm
from analytics.churn import baseline_rule_point


@pytest.fixture
def churn(dashboard_app):
    return page_module("churn")




def _list(view_query: str):
    from portal.dashboard.customer_lists import EXPORTS, list_rows
    from portal.dashboard.view import View
    from portal.platform.tenancy import current_context

    return list_rows(EXPORTS["churn"], View(current_context(), view_query))


def _expected_order(scores: pd.DataFrame) -> list[str]:
    ordered = scores.sort_index().sort_values("net_revenue_at_risk", ascending=False, kind="stable",
                                              na_position="last")
    return ordered.index.astype(str).tolist()


def test_list_is_the_scores_sorted_by_revenue_at_risk(dashboard_app, alpha_reference, churn):
    _, models, rfm = alpha_reference
    scores = models.churn_scores
    with as_user(dashboard_app, "viewer@alpha.test"):
        rows = _list("")
        high = _list("?risk=high")
    assert rows["customer_id"].tolist() == _expected_order(scores)
    assert rows["churn_probability"].to_numpy() == pytest.approx(
        scores.loc[rows["customer_id"], "churn_probability"].to_numpy())
    assert rows["net_revenue_at_risk"].to_numpy() == pytest.approx(
        scores.loc[rows["customer_id"], "net_revenue_at_risk"].to_numpy())
    assert (rows["recency"].to_numpy() == rfm.loc[rows["customer_id"], "recency"].to_numpy()).all()
    # risk band filter -> exactly the high-risk customers, same order
    by_hand = scores[scores["risk_band"] == "high"]
    assert high["customer_id"].tolist() == _expected_order(by_hand)
    assert set(high["risk_band"].astype(str)) == {"high"}


def test_list_paging_sorting_and_export(dashboard_app, alpha_reference, churn):
    from portal.dashboard.gridquery import rows_block

    _, models, _ = alpha_reference
    scores = models.churn_scores
    medium = scores[scores["risk_band"] == "medium"]
    with as_user(dashboard_app, "viewer@alpha.test"):
        block = rows_block(_list("?risk=medium"), {"startRow": 0, "endRow": 10,
                                                   "sortModel": [{"colId": "churn_probability", "sort": "desc"}]})
    assert block["rowCount"] == len(medium)
    # calibrated probabilities can tie (isotonic steps): compare the sorted values, ids within ties may swap
    expected = medium.sort_values("churn_probability", ascending=False, kind="stable")["churn_probability"][:10]
    got = medium.loc[[r["customer_id"] for r in block["rowData"]], "churn_probability"]
    assert got.tolist() == pytest.approx(expected.tolist())
    client = dashboard_app.test_client()
    login(client, "manager@alpha.test")
    response = client.get("/export/churn.csv?risk=medium&raw=1")
    assert response.status_code == 200
    exported = pd.read_csv(io.BytesIO(response.data), dtype={"customer_id": str})
    assert exported["customer_id"].tolist() == _expected_order(medium)


def test_cards_follow_the_filters(dashboard_app, alpha_reference, churn):
    _, models, rfm = alpha_reference
    scores = models.churn_scores
    with as_user(dashboard_app, "viewer@alpha.test"):
        everyone = components_by_id(churn.update_cards(""))
        france = components_by_id(churn.update_cards("?country=France"))
    for band in ("high", "medium", "low"):
        in_band = scores[scores["risk_band"] == band]
        assert everyone[f"churn-card-{band}"].children == f"{len(in_band):,}"
        assert everyone[f"churn-card-{band}-revenue"].children == f"£{in_band['net_revenue_at_risk'].sum():,.0f}"
        french = in_band[in_band.index.isin(rfm.index[rfm["country"] == "France"])]
        assert france[f"churn-card-{band}"].children == f"{len(french):,}"
    assert everyone["churn-card-revenue-at-risk"].children == f"£{scores['net_revenue_at_risk'].sum():,.0f}"


def test_a_filter_that_matches_nobody_says_so(dashboard_app, churn):
    with as_user(dashboard_app, "viewer@alpha.test"):
        cards = components_by_id(churn.update_cards("?country=Atlantis"))
        rows = _list("?country=Atlantis")
    assert "match nobody" in cards["churn-no-match"].children
    assert rows.empty


def test_roc_curve_and_legend_are_the_stored_models(dashboard_app, alpha_reference, churn):
    _, models, _ = alpha_reference
    model = models.churn
    with as_user(dashboard_app, "viewer@alpha.test"):
        roc, pr, *_ = churn.update_model_card("?country=France")
    names = list(traces(roc))
    chosen = next(n for n in names if "(chosen)" in n)
    assert traces(roc)[chosen].x == pytest.approx(model.roc_curve["fpr"].to_numpy())
    assert traces(roc)[chosen].y == pytest.approx(model.roc_curve["tpr"].to_numpy())
    legend = " ".join(names)
    for name in ("logistic_regression", "gradient_boosting", "baseline_recency"):
        assert f"AUC {model.metrics[name]['roc_auc']:.3f}" in legend
    rule = next(t for n, t in traces(roc).items() if n.startswith("Baseline"))
    point = baseline_rule_point(model)
    assert (rule.x[0], rule.y[0]) == pytest.approx((point["fpr"], point["tpr"]))
    pr_names = " ".join(traces(pr))
    assert f"PR AUC {model.metrics[model.chosen]['pr_auc']:.3f}" in pr_names
    # the model card does not follow the filters: France gives the same figures as no filter
    with as_user(dashboard_app, "viewer@alpha.test"):
        unfiltered = churn.update_model_card("")[0]
    assert traces(unfiltered)[chosen].x == pytest.approx(traces(roc)[chosen].x)


def test_confusion_matrix_calibration_and_importance(dashboard_app, alpha_reference, churn):
    _, models, _ = alpha_reference
    model = models.churn
    with as_user(dashboard_app, "viewer@alpha.test"):
        _, _, confusion, calibration, importance, report = churn.update_model_card("")
    z = np.asarray(go.Figure(confusion).data[0].z)  # (a figure dict holds arrays as base64)
    assert z.sum() == model.n_eval
    assert (z == model.confusion_matrix.to_numpy()).all()
    assert f"Threshold {model.threshold:.3f}" in figure_dict(confusion)["layout"]["annotations"][0]["text"]
    curve = next(t for n, t in traces(calibration).items() if n != "Perfect calibration")
    assert curve.x == pytest.approx(model.calibration["mean_predicted"].to_numpy())
    assert curve.y == pytest.approx(model.calibration["fraction_churned"].to_numpy())
    bars = next(iter(traces(importance).values()))
    assert list(bars.y)[::-1] == model.feature_importance["feature"].tolist()
    assert bars.x[::-1] == pytest.approx(model.feature_importance["importance"].to_numpy())
    cells = [c.children for c in components_by_id(report)["churn-report-table-1"].children]
    assert cells[0] == "Churned"
    assert cells[2] == f"{model.classification_report['churned']['recall'] * 100:.1f}%"
    assert cells[4] == f"{model.confusion_matrix.loc['churned'].sum():,}"  # support = actual churners


def test_model_card_states_definition_threshold_and_bands(dashboard_app, alpha_reference, churn):
    _, models, _ = alpha_reference
    model = models.churn
    with as_user(dashboard_app, "viewer@alpha.test"):
        page = components_by_id(churn.layout())
    text = page["churn-model-definition"].children
    assert f"*H* = **{model.horizon_days} days**" in text
    assert f"{model.cutoff_train:%Y-%m-%d}" in text and f"{model.cutoff_eval:%Y-%m-%d}" in text
    assert f"Threshold** {model.threshold:.3f}" in text and "high >= 70%" in text
    assert "churn-list" in page and "churn-model-scope" in page
    name = "Logistic regression" if model.chosen == "logistic_regression" else "Gradient boosting"
    scored = [c.children for c in page["churn-metrics-0"].children]
    m = model.metrics["chosen"]
    assert scored == [f"{name} as scored", f"{m['roc_auc']:.3f}", f"{m['pr_auc']:.3f}", f"{m['brier']:.3f}",
                      f"chosen, calibration: {model.calibration_method}"]
    raw = [c.children for c in page["churn-metrics-1"].children]
    assert raw[:3] == [name, f"{model.metrics[model.chosen]['roc_auc']:.3f}",
                       f"{model.metrics[model.chosen]['pr_auc']:.3f}"]
    base = [c.children for c in page["churn-metrics-4"].children]
    assert base[3] == f"{model.metrics['baseline_base_rate']['brier']:.3f}"


def test_summary_brier_and_calibration_method(dashboard_app, alpha_reference, churn):
    """The plain summary (analytics.explain) at the top; the reliability curve beside ROC/PR says
    the Brier score and which calibration was done."""
    from analytics.explain import churn_model_summary

    _, models, _ = alpha_reference
    model = models.churn
    with as_user(dashboard_app, "viewer@alpha.test"):
        page = components_by_id(churn.layout())
    assert page["churn-summary"].children == churn_model_summary(model)["text"]
    reliability = str(page["churn-reliability"].to_plotly_json())
    assert f"Brier {model.metrics['chosen']['brier']:.3f}" in reliability
    assert f"calibration: {model.calibration_method}" in reliability
    assert "**Calibration**" in page["churn-model-definition"].children


def test_other_tenant_sees_only_its_own_customers(dashboard_app, dashboard_logs, churn):
    beta = cleaned_log(dashboard_logs["beta"])
    beta_customers = set(segmented_rfm(beta.lines, beta.snapshot_date).index)
    with as_user(dashboard_app, "manager@beta.test"):
        rows = _list("")
        alpha_country = _list("?country=United+Kingdom")
    assert set(rows["customer_id"]) <= beta_customers
    assert set(rows["country"]) <= {"Germany", "Netherlands"}
    assert alpha_country.empty


def test_models_pending_state(app, churn):
    """An app whose models were never fitted (the ``app`` fixture imports logs only)."""
    with as_user(app, "viewer@alpha.test"):
        page = components_by_id(page_module("churn").layout())
        rows = _list("")
    assert "models-pending" in page and "churn-list" not in page
    assert rows.empty
