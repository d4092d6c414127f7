"""Data (admins only): import a file, see dataset versions and their cleaning
reports and model status, manage the tenant's users.

Every callback resolves the tenant and checks the admin role server-side with
:func:`portal.platform.tenancy.check_role`; values coming from the browser (a selected
version, an email) are only looked up inside the caller's own tenant.
"""
from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from flask import current_app, request

from portal.platform.accounts import AccountError
from portal.data import admin, storage, uploads
from portal.data.job_steps import StepClock
from portal.dashboard.components.datasets import (
    DATASET_COLUMNS,
    USER_COLUMNS,
    dataset_rows,
    grid,
    job_status,
    report_view,
)
from portal.dashboard.components.invitations import invite_controls
from portal.dashboard.components import mapping_panel
from portal.dashboard.layout import forbidden
from portal.platform.models import ROLES
from portal.platform.tenancy import RoleRequired, check_role, current_context

log = logging.getLogger(__name__)

dash.register_page(__name__, path="/data", name="Data", title="Data · Customer analytics", order=90,
                   min_role="admin")


mapping_panel.register_callbacks()  # shops (issue 15): the "Bring your own export" panel


def _settings():
    return current_app.extensions["portal"].settings


def layout(**_query):
    ctx = current_context()
    if not ctx.has_role("admin"):
        return forbidden("admin")
    # assets/upload.js streams the chosen or dropped file to POST /upload, shows the
    # upload's progress, then puts the returned reference into "upload-ref" (the import job's input).
    # dcc.Upload is only the drop zone and file picker here: assets/upload.js takes the
    # chosen or dropped file before dcc.Upload reads it, streams it to POST /upload and puts
    # the returned reference into "upload-ref", the import job's input.
    upload = dcc.Upload(
        id="upload", multiple=False,
        children=html.Div(["Drop a transaction file here or ", html.A("choose one", href="#")]),
        className="border border-2 border-secondary-subtle rounded p-4 text-center bg-white",
        style={"borderStyle": "dashed"},
    )
    return html.Div([
        html.H2("Data", className="h4 mb-3"),
        html.Section([
            html.H3("Import a file", className="h5"),
            html.P(f"CSV, XLSX or Parquet in the Online Retail layouts, up to {_settings().max_upload_mb} MB. "
                   "The current version stays in use until the new one is stored.",
                   className="text-secondary small"),
            upload,
            dcc.Store(id=uploads.REF_ID),
            dbc.Progress(id="import-progress", value=0, label="", className="mt-2", style={"height": "1.5rem"}),
            html.Div(id="import-steps", className="small text-muted mt-1", **{"aria-live": "polite"}),
            html.Div(id="import-status", className="mt-2"),
            html.Div(id="job-status", className="mt-2"),
        ], className="mb-4"),
        mapping_panel.section(ctx),  # shops (issue 15): any export, mapped once
        html.Section([
            html.Div([
                html.H3("Dataset versions", className="h5 mb-0"),
                dbc.Button("Retry / refit models", id="refit-models", size="sm",
                           color="secondary", outline=True),
            ], className="d-flex justify-content-between align-items-center mb-2"),
            grid("datasets-grid", DATASET_COLUMNS),
            html.Div(id="refit-status", className="small mt-1"),
            html.Div(id="dataset-report", className="mt-3"),
        ], className="mb-4"),
        html.Section([
            html.H3("Users", className="h5"),
            grid("users-grid", USER_COLUMNS),
            html.Div([
                dbc.Button("Deactivate selected user", id="deactivate-user", size="sm", color="danger",
                           outline=True),
                dbc.Button("Give selected user the role chosen below", id="change-role", size="sm",
                           color="secondary", outline=True),
            ], className="d-flex gap-2 mt-2 flex-wrap"),
            dbc.Row([
                dbc.Col(dbc.Input(id="new-user-email", type="email", placeholder="email"), md=4),
                dbc.Col(dbc.Select(id="new-user-role", options=[{"label": r, "value": r} for r in ROLES],
                                   value="viewer"), md=2),
                dbc.Col(dbc.Input(id="new-user-password", type="password", placeholder="initial password",
                                  autoComplete="new-password"), md=4),
                dbc.Col(dbc.Button("Add user", id="add-user", color="primary"), md=2),
            ], className="g-2 mt-3"),
            html.Div(id="users-status", className="mt-2"),
            invite_controls(),
        ]),
        dcc.Interval(id="data-refresh", interval=3000),
    ])


def _alert(message: str, color: str) -> dbc.Alert:
    return dbc.Alert(message, color=color, className="py-2 mb-0")


@callback(
    Output("import-status", "children"),
    Input(uploads.REF_ID, "data"),
    background=True,
    progress=[Output("import-progress", "value"), Output("import-progress", "label"),
              Output("import-steps", "children")],
    running=[(Output("upload", "disabled"), True, False)],
    prevent_initial_call=True,
)
def run_import(set_progress, ref):
    """Runs in a background process: :func:`portal.data.admin.import_upload`.  The role was
    already checked before the job was created (:func:`portal.data.uploads.init_import_gate`);
    checked again here, inside the job."""
    try:
        ctx = check_role("admin")
    except RoleRequired:
        return _alert("Importing needs the admin role.", "warning")
    token = ref.get("upload") if isinstance(ref, dict) else None
    if not token:
        return no_update
    steps = StepClock()

    def progress(fraction: float, message: str) -> None:
        # the bar names the running step; the line under it lists each step with its duration
        steps.step(message)
        set_progress((round(fraction * 100), steps.current or "", steps.text()))

    outcome = admin.import_upload(ctx, token, _settings().data_dir / "tmp", progress)
    steps.finish()
    set_progress((100, "done", "Steps: " + steps.text()) if outcome.color != "danger" else (0, "", ""))
    return _alert(outcome.message, outcome.color)


@callback(
    Output("datasets-grid", "rowData"),
    Input("data-refresh", "n_intervals"),
    Input("import-status", "children"),
    Input("refit-status", "children"),
)
def refresh_datasets(_n, _status, _refit):
    ctx = check_role("admin")
    return dataset_rows(storage.list_datasets(ctx), ctx.dataset_id, _settings().job_stale_minutes)


@callback(
    Output("job-status", "children"),
    Input("data-refresh", "n_intervals"),
    Input("import-status", "children"),
    Input("refit-status", "children"),
)
def refresh_job_status(_n, _status, _refit):
    """The newest version's import or fit while it is not done: progress, a stopped job
    (its worker was lost) with Retry, or a failed fit (descriptive-only)."""
    ctx = check_role("admin")
    state = job_status(storage.list_datasets(ctx), ctx.dataset_id, _settings().job_stale_minutes)
    if state is None:
        return ""
    return _alert(state[0] + (' Use "Retry / refit models" below.' if state[2] else ""), state[1])


@callback(Output("dataset-report", "children"), Input("datasets-grid", "selectedRows"),
          prevent_initial_call=True)
def show_report(selected):
    ctx = check_role("admin")
    if not selected:
        return ""
    try:
        dataset = storage.get_dataset_by_version(ctx, int(selected[0]["version"]))
        return html.Div([report_view(dataset), mapping_panel.quality_view(dataset)])
    except (storage.DatasetNotFound, KeyError, TypeError, ValueError):
        return _alert("That version does not exist.", "warning")


@callback(Output("refit-status", "children"), Input("refit-models", "n_clicks"), prevent_initial_call=True)
def refit(_clicks):
    """Retry the newest version whose models are not ready, else refit the current version
    (:func:`portal.data.admin.refit_models`; JobQueueUnavailable: answered at once with its message)."""
    return admin.refit_models(check_role("admin"), _settings().job_stale_minutes)


@callback(
    Output("users-grid", "rowData"),
    Output("users-status", "children"),
    Output("new-user-password", "value"),
    Input("add-user", "n_clicks"),
    Input("deactivate-user", "n_clicks"),
    Input("change-role", "n_clicks"),
    State("new-user-email", "value"),
    State("new-user-role", "value"),
    State("new-user-password", "value"),
    State("users-grid", "selectedRows"),
)
def manage_users(_add, _deactivate, _change_role, email, role, password, selected):
    ctx = check_role("admin")
    try:
        done = admin.manage_user(ctx, dash.ctx.triggered_id, email=email, role=role, password=password,
                                 selected=selected, ip=request.remote_addr)
        message = _alert(done, "success") if done else ""
    except AccountError as exc:
        message = _alert(str(exc), "danger")
    return admin.users(ctx), message, ""
