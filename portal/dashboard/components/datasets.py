"""Building blocks of the Data page: grids of dataset versions and users, the
cleaning report of one version."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import html

from portal.data.jobs import IMPORT_HEARTBEAT_TIMEOUT_S, is_stale
from portal.platform.models import utcnow
from portal.data.storage import DatasetInfo

DATASET_COLUMNS = [
    {"field": "version", "headerName": "Version", "maxWidth": 110},
    {"field": "filename", "headerName": "File"},
    {"field": "created_at", "headerName": "Imported (UTC)"},
    {"field": "status", "headerName": "Status", "maxWidth": 120},
    {"field": "current", "headerName": "Current", "maxWidth": 110},
    {"field": "rows_in", "headerName": "Rows", "type": "numericColumn"},
    {"field": "rows_clean", "headerName": "Clean rows", "type": "numericColumn"},
    {"field": "customers", "headerName": "Customers", "type": "numericColumn"},
    {"field": "models", "headerName": "Models"},
    {"field": "message", "headerName": "Message", "flex": 2},
]
USER_COLUMNS = [
    {"field": "email", "headerName": "Email", "flex": 2},
    {"field": "role", "headerName": "Role"},
    {"field": "active", "headerName": "Active"},
    {"field": "created_at", "headerName": "Created (UTC)"},
    {"field": "last_login_at", "headerName": "Last login (UTC)"},
]


def grid(grid_id: str, columns: list[dict], rows: list[dict] | None = None) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id, columnDefs=columns, rowData=rows or [],
        defaultColDef={"sortable": True, "resizable": True, "filter": True, "flex": 1, "minWidth": 100},
        dashGridOptions={"rowSelection": {"mode": "singleRow", "checkboxes": True}, "animateRows": False,
                         "domLayout": "autoHeight"},
        className="ag-theme-quartz", style={"width": "100%"},
    )


INTERRUPTED = "The import stopped before it finished (the process was stopped or the machine restarted); " \
              "nothing of it is in use. Import the file again."


def import_status(dataset: DatasetInfo, stale_minutes: int, now=None) -> str:
    """``importing`` for longer than ``stale_minutes``, or without a heartbeat for a minute,
    means the import was killed: "interrupted"."""
    if dataset.status == "importing" and dataset.created_at is not None:
        now = now or utcnow()
        if now - dataset.created_at > timedelta(minutes=stale_minutes):
            return "interrupted"
        beat = dataset.models_updated_at or dataset.created_at
        if now - beat > timedelta(seconds=IMPORT_HEARTBEAT_TIMEOUT_S):
            return "interrupted"
    return dataset.status


def job_status(datasets: list[DatasetInfo], current_id: int | None, stale_minutes: int,
               now=None) -> tuple[str, str, bool] | None:
    """What the Data page says about the newest version while it is not (yet) current, or
    its models are not ready: ``(message, colour, offer retry)``, or None when all is done."""
    newest = next((d for d in datasets if d.status != "failed"), None)
    if newest is None:
        return None
    label = f"Version {newest.version} ({newest.filename})"
    waits = "" if newest.id == current_id else "; it becomes the current version when its models are ready"
    status = import_status(newest, stale_minutes, now)
    if status == "interrupted":
        return (f"{label}: the import stopped before it finished (its worker was lost). A queued import "
                "is retried automatically when a worker is back; otherwise import the file again.", "danger", False)
    if status == "importing":
        return f"{label}: importing{waits}.", "info", False
    models = newest.models_status
    if models == "running" and is_stale(newest, stale_minutes):
        return (f"{label}: model fitting stopped at {newest.models_progress:.0%} (its worker was lost){waits}. "
                "Retry to fit again.", "danger", True)
    if models == "running":
        return (f"{label}: fitting models, {newest.models_progress:.0%} ({newest.models_message or ''}){waits}.",
                "info", False)
    if models == "pending":
        return f"{label}: {newest.models_message or 'waiting for model fitting'}{waits}.", "info", True
    if models == "failed":
        return (f"{label}: {newest.models_message or 'model fitting failed'}. The version is in use for the "
                "descriptive pages only; the model pages say the models are not available. Retry to fit again.",
                "warning", True)
    return None


def dataset_rows(datasets: list[DatasetInfo], current_id: int | None, stale_minutes: int, now=None) -> list[dict]:
    rows = []
    for d in datasets:
        models = d.models_status
        if models == "running":
            models = "stalled" if is_stale(d, stale_minutes) else f"running {d.models_progress:.0%}"
        status = import_status(d, stale_minutes, now)
        message = {"failed": d.error, "interrupted": INTERRUPTED}.get(status, d.models_message or "")
        rows.append({
            "version": d.version, "filename": d.filename,
            "created_at": d.created_at.strftime("%Y-%m-%d %H:%M") if d.created_at else "",
            "status": status, "current": "yes" if d.id == current_id else "",
            "rows_in": d.rows_in, "rows_clean": d.rows_clean, "customers": d.customers,
            "models": models if status in ("ready", "importing") else "–",
            "message": message,
        })
    return rows


def report_view(dataset: DatasetInfo) -> Any:
    """The cleaning report of one version (or the error of a failed import)."""
    title = html.H3(f"Version {dataset.version}: {dataset.filename}", className="h6")
    if dataset.status == "failed":
        return html.Div([title, dbc.Alert(dataset.error or "The import failed.", color="danger")])
    report = dataset.cleaning_report or {}
    removed = report.get("removed", {})
    rules = report.get("rules", {})
    table = dbc.Table(
        [html.Thead(html.Tr([html.Th("Rule"), html.Th("Lines"), html.Th("Definition")]))]
        + [html.Tbody([
            html.Tr([html.Td(rule), html.Td(f"{count:,}"), html.Td(rules.get(rule, ""))])
            for rule, count in removed.items()
        ])],
        size="sm", striped=True, className="small",
    )
    facts = html.Ul([
        html.Li(f"{report.get('rows_in', 0):,} rows read, {report.get('rows_out', 0):,} kept"),
        html.Li(f"{report.get('rows_without_customer', 0):,} lines without customer id (guests)"),
        html.Li(f"{report.get('return_lines', 0):,} return lines"),
        html.Li(f"{report.get('customers', 0):,} customers, {report.get('orders', 0):,} orders"),
        html.Li(f"Dates {str(report.get('first_date'))[:10]} to {str(report.get('last_date'))[:10]}, "
                f"snapshot {str(report.get('snapshot_date'))[:10]}"),
        html.Li(f"Models: {dataset.models_status}"
                + (f" ({dataset.models_message})" if dataset.models_message else "")),
    ], className="small")
    return html.Div([title, facts, table], id="report-view")
