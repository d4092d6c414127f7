"""Data (admins only): import a file, see dataset versions and their cleaning
reports and model status, manage the tenant's users.

Every callback resolves the tenant and checks the admin role server-side with
:func:`portal.platform.tenancy.check_role`; values coming from the browser (a selected
version, an email) are only looked up inside the caller's own tenant.
"""
from __future__ import annotations

import hashlib
import logging
import os

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from flask import current_app, request

from portal.platform import accounts
from portal.data import jobs, storage, uploads
from portal.data.job_steps import StepClock
from portal.dashboard.components.datasets import (
    DATASET_COLUMNS,
    USER_COLUMNS,
    dataset_rows,
    grid,
    job_status,
    report_view,
)
from portal.data.imports import import_dataset
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
    """Runs in a background process: fetch the staged upload, validate, store, then fit
    the models.  The role was already checked before the job was created
    (:func:`portal.data.uploads.init_import_gate`); checked again here, inside the job."""
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

    # The same staged upload is one job: a re-delivered job (its worker was lost) finds
    # the version it stored instead of importing the file twice.
    job_key = hashlib.sha256(f"{ctx.tenant_id}:{ctx.user_id}:{token}".encode()).hexdigest()[:32]
    try:
        path, filename = uploads.materialise(ctx, token, _settings().data_dir / "tmp")
    except uploads.UploadNotFound as exc:
        return _alert(str(exc), "warning")
    try:
        outcome = import_dataset(ctx, path, filename, progress=lambda f, m: progress(f * 0.5, m),
                                 activate=False, job_key=job_key)
    finally:
        os.unlink(path)
        uploads.discard(token)
    if not outcome.ok:
        set_progress((0, "", ""))
        return _alert(outcome.message, "danger")
    dataset = storage.get_dataset(ctx, outcome.dataset_id)
    status = jobs.fit_dataset_models(outcome.dataset_id, progress=lambda f, m: progress(0.5 + f * 0.5, m),
                                     job_id=job_key, fitted_since=dataset.created_at, takeover=outcome.repeated)
    steps.finish()
    set_progress((100, "done", "Steps: " + steps.text()))
    models = {"ready": "Models fitted: it is now the current version.",
              "failed": "Model fitting failed: the version is in use for the descriptive pages only "
                        "(see the versions table).",
              "running": "Its models are being fitted by another job: it becomes current when they are ready."}
    return _alert(f"{outcome.message} {models.get(status, status)}", "success" if status == "ready" else "warning")


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
    """Retry the newest version whose models are not ready (a stopped or failed fit), else
    refit the current version."""
    ctx = check_role("admin")
    stale = _settings().job_stale_minutes
    waiting = [d for d in storage.list_datasets(ctx) if d.status == "ready" and d.models_status != "ready"]
    dataset = waiting[0] if waiting and (ctx.dataset_id is None or waiting[0].id >= ctx.dataset_id) else None
    if dataset is None:
        if ctx.dataset_id is None:
            return "No dataset yet."
        dataset = storage.get_dataset(ctx)
    if dataset.models_status == "running" and not jobs.is_stale(dataset, stale):
        return "Model fitting is already running."
    jobs.spawn_fit(dataset.id)  # JobQueueUnavailable: answered at once with its message
    accounts.record("models_refit", tenant_id=ctx.tenant_id, user_id=ctx.user_id,
                    detail={"dataset_id": dataset.id, "version": dataset.version})
    return f"Model fitting restarted for version {dataset.version}."


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
    trigger = dash.ctx.triggered_id
    message = ""
    try:
        if trigger == "add-user":
            accounts.create_user(ctx.tenant_id, email or "", password or "", role or "",
                                 actor_id=ctx.user_id, ip=request.remote_addr)
            message = _alert(f"User {accounts.normalize_email(email)} added.", "success")
        elif trigger == "deactivate-user":
            if not selected:
                raise accounts.AccountError("Select a user first.")
            accounts.set_active(ctx.tenant_id, str(selected[0].get("email", "")), False,
                                actor_id=ctx.user_id, ip=request.remote_addr)
            message = _alert(f"User {selected[0].get('email')} deactivated.", "success")
        elif trigger == "change-role":
            if not selected:
                raise accounts.AccountError("Select a user first.")
            target = str(selected[0].get("email", ""))
            accounts.set_role(ctx.tenant_id, target, str(role or ""), actor_id=ctx.user_id, ip=request.remote_addr)
            message = _alert(f"User {target} is now {role}; their sessions have ended.", "success")
    except accounts.AccountError as exc:
        message = _alert(str(exc), "danger")
    return accounts.list_users(ctx.tenant_id), message, ""
