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
"""
from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd
from flask import Flask, Response, abort, request

from analytics.orders import order_table

from ..platform.accounts import record
from ..platform.auth import client_ip
from .customer_lists import EXPORTS, Column, TableExport, list_rows, register_export
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


def init_exports(app: Flask) -> None:
    @app.get("/export/<name>.csv")
    def export_csv(name: str):
        ctx = check_role("manager")
        export = EXPORTS.get(name)
        if export is None:
            abort(404)
        query = {k: request.args.getlist(k) for k in request.args if k != "grid"}
        view = View(ctx, query)
        try:
            if export.needs_models and not view.models.ready:
                abort(409, description="The models of this dataset are not fitted yet.")
            frame = export_rows(export, view, parse_model(request.args.get("grid")))
        except (NoDataset, DatasetNotFound):
            abort(404, description="No data yet.")
        record("export", tenant_id=ctx.tenant_id, user_id=ctx.user_id, ip=client_ip(),
               detail={"export": name, "rows": int(len(frame)), "dataset_id": ctx.dataset_id,
                       "filters": view.filters.describe()})
        filename = f"{ctx.tenant_slug}-{name}-v{view.dataset.version}.csv"
        return Response(csv_blocks(frame), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "X-Export-Rows": str(len(frame)), "Cache-Control": "no-store"})


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(ch in text for ch in ',"\r\n') else text


# data exports (not customer lists): the selected order and line tables
register_export(TableExport(
    name="orders", title="Orders",
    columns=tuple(Column(f, f) for f in ("invoice", "customer_id", "invoice_date", "country", "revenue",
                                         "quantity", "lines")),
    rows=lambda view: get_result(view.ctx, "orders") if view.filters.is_empty else order_table(view.selected_lines),
))
register_export(TableExport(
    name="transactions", title="Transaction lines",
    columns=tuple(Column(f, f) for f in ("invoice", "stock_code", "description", "quantity", "invoice_date",
                                         "unit_price", "customer_id", "country", "revenue")),
    rows=lambda view: view.selected_lines,
))
