"""Settings page: admins change the tenant's settings, erase a customer, export or delete
the tenant; every callback checks the role on the server."""
from __future__ import annotations

import base64
import io
import zipfile

import pytest
from portal_testlib import build_app, callback_outputs, dash_post, logged_in, make_settings

from portal.data import storage
from portal.platform.tenancy import system_context


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def settings_app(tmp_path, alpha_csv):
    return build_app(make_settings(tmp_path), logs={"alpha": alpha_csv})


def _save(client, **values):
    defaults = {"currency": "GBP", "time-zone": "Europe/London", "week-start": "0", "fiscal-month": "1",
                "keep-versions": 10, "personal-data": False, "clv-model": "auto"}
    defaults.update(values)
    state = [{"id": f"settings-{k}", "property": "value", "value": v} for k, v in defaults.items()]
    return dash_post(client, "settings-status.children",
                     [{"id": "settings-save", "property": "n_clicks", "value": 1}], state)


def test_admin_changes_currency_and_time_zone(settings_app):
    client = logged_in(settings_app, "admin@alpha.test")
    response = _save(client, **{"currency": "USD", "time-zone": "America/New_York", "week-start": "6",
                                "fiscal-month": "4", "keep-versions": 3})
    assert response.status_code == 200
    text = _text(response)
    assert "Saved: " in text and "currency = USD" in text and "re-derived in the new time zone as version 2" in text
    with settings_app.app_context():
        ctx = system_context("alpha")
        assert (ctx.currency, ctx.time_zone) == ("USD", "America/New_York")
        assert storage.get_dataset(ctx).import_mode == "rezone"
    refused = _save(client, **{"keep-versions": 0})
    assert "keep_versions must be from 1 to 100" in _text(refused)


def test_clv_model_setting_is_passed_to_the_next_fit(settings_app):
    """Issue 10: the tenant's CLV model setting is validated, stored and used by the next fit."""
    from portal.data import tenant_settings
    from portal.data.jobs import fit_dataset_models, load_model_results

    client = logged_in(settings_app, "admin@alpha.test")
    refused = _save(client, **{"clv-model": "weibull"})
    assert "clv_model must be one of auto, bgnbd, mbgnbd, pnbd" in _text(refused)
    with settings_app.app_context():
        ctx = system_context("alpha")
        assert tenant_settings.get_settings(ctx).clv_model == "auto"
        change = tenant_settings.update_settings(ctx, {"clv_model": "PNBD"}, refit=False)
        assert change.changed == {"clv_model": "pnbd"}
        assert tenant_settings.get_settings(ctx).clv_model == "pnbd"
        assert fit_dataset_models(ctx.dataset_id) == "ready"
        fitted = load_model_results(ctx, ctx.dataset_id)
    assert fitted.settings["clv_model"] == "pnbd"
    if fitted.clv is not None:  # 40 customers over 3 months: the CLV part may be refused, never silently auto
        assert fitted.clv.forced and fitted.clv.purchase_model == "pnbd"


def test_viewers_and_managers_cannot_change_settings(settings_app):
    client = logged_in(settings_app, "manager@alpha.test")
    response = _save(client, currency="JPY")
    assert response.status_code == 403
    with settings_app.app_context():
        assert system_context("alpha").currency == "GBP"


def test_erase_export_and_delete_from_the_page(settings_app):
    client = logged_in(settings_app, "admin@alpha.test")
    with settings_app.app_context():
        lines = storage.load_transactions(system_context("alpha"))
    customer = str(lines["customer_id"].dropna().iloc[0])
    erased = dash_post(client, "erase-status.children", [{"id": "erase-button", "property": "n_clicks", "value": 1}],
                       [{"id": "erase-customer", "property": "value", "value": customer}])
    assert "Customer erased" in _text(erased) and "cannot be recalled" in _text(erased)
    exported = dash_post(client, "export-download.data", [{"id": "export-tenant", "property": "n_clicks", "value": 1}])
    payload = exported.json["response"]["export-download"]["data"]
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(payload["content"])))
    assert payload["filename"] == "alpha-export.zip" and "tenant.json" in archive.namelist()
    wrong = dash_post(client, "delete-status.children", [{"id": "delete-tenant", "property": "n_clicks", "value": 1}],
                      [{"id": "delete-confirm", "property": "value", "value": "beta"}])
    assert "Type the tenant's slug (alpha)" in _text(wrong)
    assert any("delete-status" in o for o in callback_outputs(client))
    deleted = dash_post(client, "delete-status.children",
                        [{"id": "delete-tenant", "property": "n_clicks", "value": 1}],
                        [{"id": "delete-confirm", "property": "value", "value": "alpha"}])
    assert "Tenant deleted (3 users, 2 versions)" in _text(deleted)
    assert client.get("/settings").status_code in (302, 401)


def test_week_start_and_fiscal_year_reach_the_date_presets(settings_app):
    """alpha's log ends on Thursday 2022-03-31: with weeks from Sunday and a fiscal year from April,
    "This week" is 03-27..03-31 and "Last fiscal year" 2020-04-01..2021-03-31."""
    from dashboard_testlib import as_user, components_by_id, page_module

    def presets(email: str) -> dict[str, str]:
        with as_user(settings_app, email):
            page = page_module("overview").layout()
        links = components_by_id(page)["date-presets"].children[1:]
        return {link.children: link.href for link in links}

    before = presets("viewer@alpha.test")
    assert before["This week"] == "/?start=2022-03-28&end=2022-03-31"  # Monday
    assert "This fiscal year" not in before
    saved = _save(logged_in(settings_app, "admin@alpha.test"), **{"week-start": "6", "fiscal-month": "4"})
    assert "week_start = 6, fiscal_year_start_month = 4" in _text(saved)
    after = presets("viewer@alpha.test")
    assert after["This week"] == "/?start=2022-03-27&end=2022-03-31"
    assert after["Last week"] == "/?start=2022-03-20&end=2022-03-26"
    assert after["This fiscal year"] == "/?start=2021-04-01&end=2022-03-31"
    assert after["Last fiscal year"] == "/?start=2020-04-01&end=2021-03-31"
    with as_user(settings_app, "viewer@alpha.test"):
        page = str(page_module("overview").layout())
    assert "Same period last fiscal year" in page and "FY 2020/21: 2020-04-01 to 2021-03-31" in page
