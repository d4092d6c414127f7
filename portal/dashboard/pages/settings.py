"""Settings (admins only): the tenant's currency, time zone, first day of the week, fiscal
year start, versions kept and personal data; erase one customer; export or delete the tenant.

Every callback checks the admin role server-side (:func:`check_role`); the values are
validated by :mod:`portal.data.tenant_settings`, the actions done and audited by
:mod:`portal.data.privacy`.
"""
from __future__ import annotations

import zoneinfo

import dash
import dash_bootstrap_components as dbc
from babel.numbers import get_currency_name, list_currencies
from dash import Input, Output, State, callback, dcc, html
from flask import request

from analytics.purchase_models import LABELS
from portal.dashboard.layout import forbidden
from portal.data import jobs, privacy, tenant_settings
from portal.platform.tenancy import check_role, current_context, system_context

dash.register_page(__name__, path="/settings", name="Settings", title="Settings · Customer analytics", order=95,
                   min_role="admin")

CURRENCIES = sorted(list_currencies())
CLV_MODEL_LABELS = {"auto": "Automatic (chosen on held-out time)", **{
    name: f"{label} (forced)" for name, label in LABELS.items()}}
TIME_ZONES = sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV")))


def _field(label: str, control, help_text: str = "") -> dbc.Row:
    return dbc.Row([
        dbc.Col(html.Label(label, className="fw-semibold small"), md=3),
        dbc.Col(control, md=4),
        dbc.Col(html.Span(help_text, className="small text-secondary"), md=5),
    ], className="g-2 mb-2 align-items-center")


def layout(**_query):
    ctx = current_context()
    if not ctx.has_role("admin"):
        return forbidden("admin")
    current = tenant_settings.get_settings(ctx)
    form = html.Section([
        html.H3("Shop settings", className="h5"),
        _field("Currency", dcc.Dropdown(id="settings-currency", clearable=False, value=current.currency,
                                        options=[{"label": f"{c} · {get_currency_name(c, locale='en')}", "value": c}
                                                 for c in CURRENCIES]),
               "ISO 4217 code of the amounts in your files; every money figure uses it. Nothing is converted."),
        _field("Time zone", dcc.Dropdown(id="settings-time-zone", clearable=False, value=current.time_zone,
                                         options=TIME_ZONES),
               "Times with a UTC offset are converted to it; times without one are taken as shop-local. "
               "Changing it re-derives the current data as a new version and refits the models."),
        _field("First day of the week", dbc.Select(id="settings-week-start", value=str(current.week_start), options=[
            {"label": d, "value": str(i)} for i, d in enumerate(tenant_settings.WEEKDAYS)])),
        _field("Fiscal year starts in", dbc.Select(
            id="settings-fiscal-month", value=str(current.fiscal_year_start_month),
            options=[{"label": m, "value": str(i + 1)} for i, m in enumerate(tenant_settings.MONTHS)]),
            "For period comparisons by fiscal year."),
        _field("Versions kept", dbc.Input(id="settings-keep-versions", type="number", min=1,
                                          max=tenant_settings.MAX_KEEP_VERSIONS, value=current.keep_versions),
               "Older dataset versions are deleted after each import."),
        _field("Store e-mails and names", dbc.Switch(id="settings-personal-data", value=current.store_personal_data,
                                                     label="keep customers' e-mails and names"),
               "Campaign exports need contacts kept: only then do the customer-list CSVs of managers carry "
               "e-mail and name columns (kept from the next import on). Otherwise customers identified by e-mail "
               "are kept under a salted hash, the e-mail is never stored and a search by e-mail still finds them. "
               "Turning this off deletes the stored e-mails and names."),
        _field("CLV purchase model", dbc.Select(id="settings-clv-model", value=current.clv_model, options=[
            {"label": CLV_MODEL_LABELS[m], "value": m} for m in tenant_settings.CLV_MODELS]),
            "Automatic: the candidate with the lowest error on held-out time. Forcing one is for comparing with "
            "published figures; the candidates are still scored on the Customer value page. Changing it refits "
            "the models."),
        dbc.Button("Save settings", id="settings-save", color="primary", size="sm"),
        dcc.Loading(html.Div(id="settings-status", className="mt-2")),
    ], className="mb-4")
    privacy_section = html.Section([
        html.H3("Personal data", className="h5"),
        html.P("Erasing a customer removes them from every stored version of the data and from the fitted models, "
               "drops cached results and reduces audit entries about them to counts. E-mails already sent to "
               "them cannot be recalled.", className="small text-secondary", id="erase-note"),
        dbc.Row([
            dbc.Col(dbc.Input(id="erase-customer", placeholder="customer id or e-mail", maxLength=254), md=5),
            dbc.Col(dbc.Button("Erase this customer", id="erase-button", color="danger", outline=True, size="sm"),
                    md=3),
        ], className="g-2"),
        html.Div(id="erase-status", className="mt-2"),
        html.H4("The whole tenant", className="h6 mt-4"),
        html.Div([
            dbc.Button("Export everything (zip)", id="export-tenant", color="secondary", outline=True, size="sm"),
            dcc.Download(id="export-download"),
        ]),
        dbc.Row([
            dbc.Col(dbc.Input(id="delete-confirm", placeholder=f"type {ctx.tenant_slug} to confirm", maxLength=64),
                    md=5),
            dbc.Col(dbc.Button("Delete the tenant and all its data", id="delete-tenant", color="danger", size="sm"),
                    md=4),
        ], className="g-2 mt-2"),
        html.Div(id="delete-status", className="mt-2"),
    ])
    return html.Div([html.H2("Settings", className="h4 mb-3"), form, privacy_section])


@callback(Output("settings-status", "children"), Input("settings-save", "n_clicks"),
          State("settings-currency", "value"), State("settings-time-zone", "value"),
          State("settings-week-start", "value"), State("settings-fiscal-month", "value"),
          State("settings-keep-versions", "value"), State("settings-personal-data", "value"),
          State("settings-clv-model", "value"), prevent_initial_call=True)
def save(_clicks, currency, zone, week_start, fiscal_month, keep_versions, personal, clv_model="auto"):
    ctx = check_role("admin")
    try:
        change = tenant_settings.update_settings(ctx, {
            "currency": currency, "time_zone": zone, "week_start": week_start,
            "fiscal_year_start_month": fiscal_month, "keep_versions": keep_versions,
            "store_personal_data": bool(personal), "clv_model": clv_model}, ip=request.remote_addr)
    except tenant_settings.SettingsError as exc:
        return dbc.Alert(str(exc), color="danger", className="small py-2")
    return dbc.Alert(change.message, color="success", className="small py-2", id="settings-saved")


@callback(Output("erase-status", "children"), Input("erase-button", "n_clicks"), State("erase-customer", "value"),
          prevent_initial_call=True)
def erase(_clicks, customer):
    ctx = check_role("admin")
    try:
        erasure = privacy.erase_customer(ctx, str(customer or "")[:254], ip=request.remote_addr)
    except privacy.PrivacyError as exc:
        return dbc.Alert(str(exc), color="warning", className="small py-2")
    dataset_id = system_context(ctx.tenant_slug).dataset_id  # the new current version
    if dataset_id is not None:
        jobs.spawn_fit(dataset_id)
    return dbc.Alert(erasure.message, color="success", className="small py-2")


@callback(Output("export-download", "data"), Input("export-tenant", "n_clicks"), prevent_initial_call=True)
def export(_clicks):
    ctx = check_role("admin")
    data = privacy.export_tenant(ctx, ip=request.remote_addr)
    return dcc.send_bytes(data, f"{ctx.tenant_slug}-export.zip")


@callback(Output("delete-status", "children"), Input("delete-tenant", "n_clicks"), State("delete-confirm", "value"),
          prevent_initial_call=True)
def delete(_clicks, confirm):
    ctx = check_role("admin")
    try:
        counts = privacy.delete_tenant(ctx, str(confirm or ""), ip=request.remote_addr)
    except privacy.PrivacyError as exc:
        return dbc.Alert(str(exc), color="warning", className="small py-2")
    return html.Div([dbc.Alert(f"Tenant deleted ({counts['users']} users, {counts['versions']} versions).",
                               color="success", className="small py-2"),
                     dcc.Location(id="after-delete", href="/login")])
