"""Bad input (issue 10): a log too short for a holdout. The Value and Churn pages show analytics'
own message; the descriptive pages keep working."""
from __future__ import annotations

from dashboard_testlib import as_user, components_by_id, page_module


def test_short_log_says_why_on_the_model_pages(app):
    from portal.data.jobs import fit_dataset_models, load_model_results
    from portal.platform.tenancy import system_context

    with app.app_context():
        ctx = system_context("alpha")  # 40 customers over 3 months
        assert fit_dataset_models(ctx.dataset_id) == "ready"
        fitted = load_model_results(ctx, ctx.dataset_id)
    value, churn, overview = page_module("value"), page_module("churn"), page_module("overview")
    with as_user(app, "viewer@alpha.test"):
        value_page = components_by_id(value.layout())
        churn_page = components_by_id(churn.layout())
        overview_page = components_by_id(overview.layout())
        kpis = components_by_id(overview.update_kpis(""))
    # the CLV part: either fitted without a holdout choice (analytics says why) or refused with its message
    if fitted.clv is not None:
        assert fitted.clv.choice.insufficient
        assert fitted.clv.choice.insufficient in str(value_page["value-choice-insufficient"].to_plotly_json())
    else:
        assert fitted.errors["clv"] in str(value_page["value-models-missing"].to_plotly_json())
    if fitted.churn is None:
        assert fitted.errors["churn"] in str(churn_page["churn-model-missing"].to_plotly_json())
    else:
        assert "churn-model-card" in churn_page
    # descriptive pages keep working
    assert "models-pending" not in overview_page and "overview-trend" in str(overview_page)
    assert "kpi-revenue" in kpis
