"""Bring your own export (Data page): propose a column mapping, preview the first rows as
the portal will read them, let the admin correct each field, save it for the header and
import (replace or append).  Also the quality report and returns rule of a version.

Every callback checks the admin role server-side; the column names coming back from the
browser are only used as keys of a :class:`analytics.mapping.ColumnMapping`, which
refuses unknown fields and columns that are not in the file.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, html, no_update
from dash import ctx as dash_ctx
from flask import current_app, request

import analytics
from analytics.layouts import FIELDS, LAYOUTS
from analytics.mapping import ColumnMapping
from portal.data import jobs, storage
from portal.data.imports import import_dataset
from portal.data.mappings import preview, quality_lines, save_mapping
from portal.data.storage import DatasetInfo
from portal.platform.tenancy import RoleRequired, check_role

PREVIEW_COLUMNS = ("invoice", "stock_code", "description", "quantity", "invoice_date", "unit_price",
                   "customer_id", "country")


def current_rule(ctx) -> str:
    """The returns rule of the tenant's current version, in words."""
    try:
        quality = storage.get_dataset(ctx).quality_report or {}
    except storage.DatasetNotFound:
        return "No data yet."
    return quality.get("returns_rule") or LAYOUTS["Online Retail"].returns_rule()


def section(ctx) -> html.Section:
    """The panel, placed on the Data page."""
    upload = dcc.Upload(
        id="mapping-upload", multiple=False,
        children=html.Div(["Drop a shop's order export (Shopify, WooCommerce, any CSV/XLSX/Parquet) or ",
                           html.A("choose one", href="#")]),
        className="border border-2 border-secondary-subtle rounded p-3 text-center bg-white",
        style={"borderStyle": "dashed"},
    )
    known = ", ".join(name for name in LAYOUTS if name != "canonical")
    return html.Section([
        html.H3("Bring your own export", className="h5"),
        html.P(f"Known layouts are recognised by their header ({known}); any other file gets a proposed "
               "mapping you can correct below. The mapping is saved for that header and reused next time. "
               "Times are read in the tenant's time zone and amounts in its currency (Settings).",
               className="text-secondary small"),
        dbc.Alert([html.Strong("Returns in the current data: "), current_rule(ctx)], color="light",
                  className="small py-2", id="current-returns-rule"),
        upload,
        dcc.Loading(html.Div(id="mapping-editor", className="mt-3",
                             children=html.P("No file yet: drop an export above to see how it will be read.",
                                             className="text-secondary small")), type="default"),
        dcc.Store(id="mapping-state"),
    ], className="mb-4", id="mapping-section")


def _decode(contents: str | None) -> bytes | None:
    if not contents:
        return None
    if not isinstance(contents, str):
        raise ValueError("The upload could not be read.")  # noqa: TRY004 - a message for the admin
    settings = current_app.extensions["portal"].settings
    _, _, encoded = contents.partition(",")
    if len(encoded) * 3 // 4 > settings.max_upload_bytes:
        raise ValueError(f"The file is larger than {settings.max_upload_mb} MB (MAX_UPLOAD_MB).")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("The upload could not be read (bad encoding).") from None


def _mapping_from(values: list, ids: list, layout: str) -> ColumnMapping:
    """The mapping the drop-downs show; ValueError/LoadError for anything a browser should not send."""
    if not isinstance(values, list) or not isinstance(ids, list):
        raise ValueError("The mapping could not be read; drop the file again.")
    fields = {}
    for i, v in zip(ids, values):
        if not isinstance(i, dict) or not isinstance(i.get("field"), str) or not (v is None or isinstance(v, str)):
            raise ValueError("The mapping could not be read; drop the file again.")
        if v:
            fields[i["field"]] = v
    excluded = LAYOUTS[layout].excluded_statuses if layout in LAYOUTS else ()
    return ColumnMapping.from_json({"layout": layout, "fields": fields, "excluded_statuses": sorted(excluded)})


def editor(result: dict[str, Any]) -> html.Div:
    """Drop-downs per field, the returns rule and the preview of ``mappings.preview``."""
    options = [{"label": h, "value": h} for h in result["header"]]
    chosen = result["mapping"]["fields"]
    rows = []
    for name, (label, meaning) in FIELDS.items():
        rows.append(dbc.Row([
            dbc.Col(html.Label(label, htmlFor=f"map-{name}", className="small fw-semibold"), md=3),
            dbc.Col(dcc.Dropdown(id={"type": "map-field", "field": name}, options=options,
                                 value=chosen.get(name), placeholder="not in this file", clearable=True), md=4),
            dbc.Col(html.Span(meaning, className="small text-secondary"), md=5),
        ], className="g-2 mb-1 align-items-center"))
    origin = {"saved": "your saved mapping for this header", "known layout": f"the {result['mapping']['layout']} "
              "layout, recognised by its header", "proposed": "a proposal from the column names",
              "given": "the mapping below"}.get(result["origin"], result["origin"])
    return html.Div([
        html.P(["Read with ", html.Strong(origin), "."], className="small mb-2", id="mapping-origin"),
        html.Div(rows, id="mapping-fields"),
        html.Div(id="mapping-preview", children=preview_view(result), className="mt-3"),
        dbc.RadioItems(id="mapping-mode", value="replace", inline=True, className="small mt-2", options=[
            {"label": "Replace the current data", "value": "replace"},
            {"label": "Append new orders to the current data (lines already loaded are skipped)",
             "value": "append"}]),
        html.Div([
            dbc.Button("Save mapping for this header", id="mapping-save", size="sm", color="secondary",
                       outline=True),
            dbc.Button("Import with this mapping", id="mapping-import", size="sm", color="primary"),
        ], className="d-flex gap-2 mt-2"),
        html.Div(id="mapping-status", className="mt-2"),
    ])


def preview_view(result: dict[str, Any]) -> html.Div:
    parts: list[Any] = [dbc.Alert(["Returns: ", result["returns_rule"]], color="light", className="small py-2",
                                  id="mapping-returns-rule")]
    if result.get("missing"):
        parts.append(dbc.Alert("Map a column to: " + "; ".join(result["missing"]) + ".", color="warning",
                               className="small py-2"))
    if result.get("error"):
        parts.append(dbc.Alert(result["error"], color="danger", className="small py-2"))
    if result.get("rows"):
        head = html.Thead(html.Tr([html.Th(c) for c in PREVIEW_COLUMNS]))
        body = html.Tbody([html.Tr([html.Td("" if row.get(c) is None else str(row.get(c))) for c in PREVIEW_COLUMNS])
                           for row in result["rows"]])
        parts += [html.H4("First rows as the portal will read them", className="h6"),
                  dbc.Table([head, body], size="sm", striped=True, className="small", id="mapping-preview-table")]
    for example in result.get("refused", []) or []:
        parts.append(html.Div(f"Row {example['row']} would be refused: {example['reason']} ({example['value']!r}).",
                              className="small text-danger"))
    return html.Div(parts)


def quality_view(dataset: DatasetInfo) -> html.Div | str:
    """Quality report and returns rule kept with a version."""
    quality = getattr(dataset, "quality_report", None)
    if dataset.status != "ready" or not quality:
        return ""
    return html.Div([
        html.H4("Data quality of this import", className="h6 mt-3"),
        html.P(["Returns: ", quality.get("returns_rule", "")], className="small"),
        html.Ul([html.Li(line) for line in quality_lines(quality)], className="small"),
    ], id="quality-view")


def register_callbacks() -> None:
    """Define the panel's callbacks; called by the Data page module, which Dash executes for each app
    (so the callbacks belong to every app built in one process, as page callbacks do)."""

    @callback(Output("mapping-editor", "children"), Output("mapping-state", "data"),
              Input("mapping-upload", "contents"), State("mapping-upload", "filename"), prevent_initial_call=True)
    def propose(contents, filename):
        try:
            ctx = check_role("admin")
        except RoleRequired:
            return dbc.Alert("Mapping needs the admin role.", color="warning"), None
        try:
            data = _decode(contents)
            if data is None:
                return no_update, no_update
            result = preview(ctx, data, str(filename or "upload")[:255])
        except (ValueError, analytics.AnalyticsError) as exc:
            return dbc.Alert(str(exc), color="danger", className="small"), None
        return editor(result), {"header": result["header"], "layout": result["mapping"]["layout"]}


    @callback(Output("mapping-preview", "children"), Input({"type": "map-field", "field": ALL}, "value"),
              State({"type": "map-field", "field": ALL}, "id"), State("mapping-upload", "contents"),
              State("mapping-upload", "filename"), State("mapping-state", "data"), prevent_initial_call=True)
    def correct(values, ids, contents, filename, state):
        ctx = check_role("admin")
        try:
            data = _decode(contents)
            if data is None or not isinstance(state, dict):
                return no_update
            mapping = _mapping_from(values, ids, str(state.get("layout") or "custom"))
            return preview_view(preview(ctx, data, str(filename or "upload")[:255], given=mapping))
        except (ValueError, analytics.AnalyticsError) as exc:
            return dbc.Alert(str(exc), color="danger", className="small")


    @callback(Output("mapping-status", "children"), Input("mapping-save", "n_clicks"), Input("mapping-import", "n_clicks"),
              State({"type": "map-field", "field": ALL}, "value"), State({"type": "map-field", "field": ALL}, "id"),
              State("mapping-upload", "contents"), State("mapping-upload", "filename"), State("mapping-state", "data"),
              State("mapping-mode", "value"), prevent_initial_call=True)
    def save_or_import(_save, _import, values, ids, contents, filename, state, mode):
        ctx = check_role("admin")
        try:
            data = _decode(contents)
            if data is None or not isinstance(state, dict) or not isinstance(state.get("header"), list):
                return dbc.Alert("Drop a file first.", color="warning", className="small")
            header = [str(h) for h in state["header"]]
            mapping = _mapping_from(values, ids, str(state.get("layout") or "custom"))
            save_mapping(ctx, header, mapping, ip=request.remote_addr)
        except (ValueError, analytics.AnalyticsError) as exc:
            return dbc.Alert(str(exc), color="danger", className="small")
        if dash_ctx.triggered_id == "mapping-save":
            return dbc.Alert("Mapping saved: the next file with this header is read the same way.", color="success",
                             className="small")
        outcome = import_dataset(ctx, data, str(filename or "upload")[:255], ip=request.remote_addr, mapping=mapping,
                                 mode="append" if mode == "append" else "replace")
        if not outcome.ok:
            return dbc.Alert(outcome.message, color="danger", className="small")
        jobs.spawn_fit(outcome.dataset_id)
        return dbc.Alert([html.Div(outcome.message + " Models are being fitted in the background.")]
                         + [html.Div(line, className="small") for line in quality_lines(outcome.quality or {})],
                         color="success", className="small", id="mapping-import-done")
