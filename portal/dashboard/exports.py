"""CSV exports: ``GET /export/<name>.csv?<the page's query>[&grid=<AG Grid models>]``.

* Manager role and up (viewers get 403); the tenant comes from the session.
* The rows are exactly what the page's filters and the grid's column filters
  and sort select, all of them (not one page), with the columns the grid shows
  (:mod:`portal.dashboard.customer_lists`).
* Streamed in blocks, so a 100k-customer list starts downloading at once.
* Safe to open in a spreadsheet: a text cell that begins with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` so it is
  shown as text and never run as a formula.  Numbers are written as numbers (a
  negative amount stays a number).
* Every export is written to the audit log with its row count.
* Campaign exports: a customer list's CSV carries the customers' e-mail and name
  when the tenant keeps contacts (:func:`portal.dashboard.customer_lists.with_contacts`).
* Format (what a spreadsheet user expects): headers as on screen with their
  units and the tenant's currency (``Net revenue (£)``), money rounded to the
  currency's minor units, percentages as on screen (``12.3`` under
  ``Churn prob. (%)``), dates as days.  ``raw=1`` gives the analysts' version:
  field names as headers and unrounded values.  The file name carries the
  filters: ``alpha-segments-2011-01-01_2011-06-30-France-Champions-v3.csv``.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd
from flask import Flask, Response, abort, request

from analytics.orders import order_table

from ..platform.accounts import record
from ..platform.auth import client_ip
from .money import MoneyFormat, money_format
from .customer_lists import (CONTACT_COLUMNS, EXPORTS, Column, TableExport, display_header, list_rows,
                             register_export, with_contacts)
from .filters import file_slug
from .view import View
from .gridquery import parse_model, query_frame
from ..data.results import NoDataset, get_result
from ..data.storage import DatasetNotFound
from ..platform.tenancy import check_role

BLOCK_ROWS = 20_000
FORMULA_START = re.compile(r"^[=+\-@\t\r]")
_TEXT_KINDS = ("object", "string", "str", "category")


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula, prefixed with ``'``."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if column.dtype.name not in _TEXT_KINDS and column.dtype.kind not in "OUS":
            continue
        text = column.astype("str").where(column.notna())
        risky = text.str.match(FORMULA_START, na=False)
        if risky.any():
            out[name] = text.where(~risky, "'" + text)
    return out


def csv_blocks(frame: pd.DataFrame, block_rows: int = BLOCK_ROWS) -> Iterator[str]:
    """The CSV text of ``frame`` (neutralised), header first, in blocks."""
    yield ",".join(_quote(str(c)) for c in frame.columns) + "\r\n"
    for start in range(0, len(frame), block_rows):
        block = neutralise(frame.iloc[start:start + block_rows])
        yield block.to_csv(index=False, header=False, lineterminator="\r\n", date_format="%Y-%m-%d %H:%M:%S")


def export_rows(export: TableExport, view: View, grid_model: dict) -> pd.DataFrame:
    """The export's rows for a view, narrowed and sorted by the grid's models."""
    return query_frame(list_rows(export, view), grid_model)


#: Decimals of a percentage as the grid shows it (d3 ".1%").
PCT_DECIMALS = 1
FLOAT_DECIMALS = 3


def as_on_screen(frame: pd.DataFrame, export: TableExport, money: MoneyFormat) -> pd.DataFrame:
    """``frame`` (the export's fields) with the screen's headers and rounding."""
    out = {}
    for column in export.columns:
        values = frame[column.field]
        if column.kind == "money":
            values = pd.to_numeric(values, errors="coerce").round(money.decimals)
        elif column.kind == "pct":
            values = (pd.to_numeric(values, errors="coerce") * 100).round(PCT_DECIMALS)
        elif column.kind == "float":
            values = pd.to_numeric(values, errors="coerce").round(FLOAT_DECIMALS)
        elif column.kind == "int":
            values = pd.to_numeric(values, errors="coerce").round().astype("Int64")
        elif column.kind == "date":
            values = pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%d")
        out[display_header(column, money)] = values.to_numpy()
    return pd.DataFrame(out, index=frame.index)


def export_filename(ctx, export: TableExport, view: View, raw: bool) -> str:
    """``<tenant>-<list>-<filters>-v<version>[-raw].csv`` (ASCII letters, digits, - and _ only)."""
    name = export.name
    described = file_slug(view.filters)
    extra = export.file_part(view) if export.file_part else ""
    if extra:
        described = extra if described == "all" else f"{described}-{extra}"
    return f"{ctx.tenant_slug}-{name}-{described}-v{view.dataset.version}{'-raw' if raw else ''}.csv"


def init_exports(app: Flask) -> None:
    @app.get("/export/<name>.csv")
    def export_csv(name: str):
        ctx = check_role("manager")
        export = EXPORTS.get(name)
        if export is None:
            abort(404)
        query = {k: request.args.getlist(k) for k in request.args if k not in ("grid", "raw")}
        raw = request.args.get("raw") == "1"
        view = View(ctx, query)
        try:
            if export.needs_models and not view.models.ready:
                abort(409, description="The models of this dataset are not fitted yet.")
            frame = export_rows(export, view, parse_model(request.args.get("grid")))
            export, frame = with_contacts(export, ctx, frame)  # campaign exports: e-mail and name where kept
        except (NoDataset, DatasetNotFound):
            abort(404, description="No data yet.")
        record("export", tenant_id=ctx.tenant_id, user_id=ctx.user_id, ip=client_ip(),
               detail={"export": name, "rows": int(len(frame)), "dataset_id": ctx.dataset_id,
                       "filters": view.filters.describe(),
                       "contacts": [c.field for c in export.columns if c in CONTACT_COLUMNS]})
        filename = export_filename(ctx, export, view, raw)
        rows = len(frame)
        if not raw:
            frame = as_on_screen(frame, export, money_format(ctx))
        return Response(csv_blocks(frame), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "X-Export-Rows": str(rows), "Cache-Control": "no-store"})


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(ch in text for ch in ',"\r\n') else text


# data exports (not customer lists): the selected order and line tables
register_export(TableExport(
    name="orders", title="Orders",
    columns=(Column("invoice", "Invoice"), Column("customer_id", "Customer"), Column("invoice_date", "Date"),
             Column("country", "Country"), Column("revenue", "Net revenue", "money"),
             Column("quantity", "Items", "int"), Column("lines", "Lines", "int")),
    rows=lambda view: get_result(view.ctx, "orders") if view.filters.is_empty else order_table(view.selected_lines),
))
register_export(TableExport(
    name="transactions", title="Transaction lines",
    columns=(Column("invoice", "Invoice"), Column("stock_code", "Product code"),
             Column("description", "Product"), Column("quantity", "Quantity", "int"),
             Column("invoice_date", "Date and time"), Column("unit_price", "Unit price", "money"),
             Column("customer_id", "Customer"), Column("country", "Country"),
             Column("revenue", "Line revenue", "money")),
    rows=lambda view: view.selected_lines,
))
