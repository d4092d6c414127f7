"""Tables: AG Grid everywhere (dash_table.DataTable is deprecated in Dash 4).

* :func:`data_grid` - a small table sent whole to the browser (segments,
  cohorts, countries): sorts, filters and pages in the browser.
* :func:`customer_grid` - a customer list of any length on AG Grid's infinite
  row model: the browser asks for blocks with its filter and sort models and
  :func:`portal.dashboard.gridquery.rows_block` answers on the server.
* :func:`small_table` - a few rows of figures (model metrics, a report) as a
  plain HTML table inside a card.

Columns are declared with :func:`column` so formats are the same everywhere.
Formatters are ``{"function": ...}`` strings, which dash-ag-grid evaluates with
its own parser (no ``eval``: the Content-Security-Policy forbids it).
"""
from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
from dash import html

_FORMATS: dict[str, dict[str, Any]] = {
    "text": {"filter": "agTextColumnFilter"},
    "int": {"filter": "agNumberColumnFilter", "type": "numericColumn",
            "valueFormatter": {"function": "d3.format(',.0f')(params.value)"}},
    "money": {"filter": "agNumberColumnFilter", "type": "numericColumn",
              "valueFormatter": {"function": "params.value == null ? '' : d3.format(',.2f')(params.value)"}},
    "float": {"filter": "agNumberColumnFilter", "type": "numericColumn",
              "valueFormatter": {"function": "params.value == null ? '' : d3.format(',.3f')(params.value)"}},
    "pct": {"filter": "agNumberColumnFilter", "type": "numericColumn",
            "valueFormatter": {"function": "params.value == null ? '' : d3.format('.1%')(params.value)"}},
    "date": {"filter": "agDateColumnFilter"},
}
#: Filter options of the infinite model (the server implements exactly these).
_SERVER_FILTER_PARAMS = {
    "agTextColumnFilter": {"filterOptions": ["contains", "notContains", "equals", "notEqual", "startsWith",
                                             "endsWith", "blank", "notBlank"], "maxNumConditions": 2},
    "agNumberColumnFilter": {"filterOptions": ["equals", "notEqual", "lessThan", "lessThanOrEqual", "greaterThan",
                                               "greaterThanOrEqual", "inRange", "blank", "notBlank"],
                             "maxNumConditions": 2},
    "agDateColumnFilter": {"filterOptions": ["equals", "lessThan", "greaterThan", "inRange", "blank", "notBlank"],
                           "maxNumConditions": 2},
}


def column(field: str, header: str, kind: str = "text", **extra: Any) -> dict[str, Any]:
    """An AG Grid column definition of one of the kinds text, int, money, float, pct, date.

    Its default minimum width fits the longest word of its header beside the sort
    and filter icons (headers wrap between words, never inside one), and text
    columns fit a segment name such as "Potential Loyalists"; the grid scrolls
    sideways when the columns do not fit.
    """
    longest = max((len(word) for word in header.split()), default=0)
    min_width = max(96, 9 * longest + 76, 150 if kind == "text" else 0)
    return {"field": field, "headerName": header, "minWidth": min_width, **_FORMATS[kind], **extra}


def data_grid(grid_id: str, columns: list[dict], rows: list[dict] | None = None, *,
              page_size: int = 20, height: int | None = None, selectable: bool = False) -> dag.AgGrid:
    """A client-side grid for tables of up to a few thousand rows."""
    options: dict[str, Any] = {"animateRows": False, "pagination": True, "paginationPageSize": page_size,
                               "paginationPageSizeSelector": [10, 20, 50, 100]}
    if selectable:
        options["rowSelection"] = {"mode": "singleRow", "checkboxes": True}
    if height is None:
        options["domLayout"] = "autoHeight"
    return dag.AgGrid(
        id=grid_id, columnDefs=columns, rowData=rows or [],
        defaultColDef={"sortable": True, "resizable": True, "filter": True, "flex": 1, "minWidth": 110,
                       "wrapHeaderText": True, "autoHeaderHeight": True},
        dashGridOptions=options, className="ag-theme-quartz",
        style={"width": "100%", **({"height": f"{height}px"} if height else {})},
    )


def customer_grid(grid_id: str, columns: list[dict], *, page_size: int = 50, height: int = 560) -> dag.AgGrid:
    """A server-side (infinite row model) grid; pair it with a callback on ``getRowsRequest``."""
    server_columns = [
        {**c, "filterParams": _SERVER_FILTER_PARAMS.get(c.get("filter"), {})} for c in columns
    ]
    return dag.AgGrid(
        id=grid_id, columnDefs=server_columns, rowModelType="infinite",
        defaultColDef={"sortable": True, "resizable": True, "filter": True, "flex": 1, "minWidth": 96,
                       "wrapHeaderText": True, "autoHeaderHeight": True},
        dashGridOptions={"pagination": True, "paginationPageSize": page_size,
                         "paginationPageSizeSelector": False, "cacheBlockSize": page_size,
                         "maxBlocksInCache": 20, "animateRows": False,
                         "rowClass": "portal-clickable-row"},
        getRowId="params.data.customer_id",
        className="ag-theme-quartz", style={"width": "100%", "height": f"{height}px"},
    )


def small_table(header, rows, *, table_id: str) -> html.Table:
    """A few rows as a compact HTML table: the first column is the label, the others right-aligned."""
    def line(values, tag, row_id=None):
        cells = [(html.Th if i == 0 else tag)(v, className="" if i == 0 else "text-end") for i, v in enumerate(values)]
        return html.Tr(cells, id=row_id) if row_id else html.Tr(cells)
    table = html.Table([html.Thead(line(header, html.Th)),
                        html.Tbody([line(row, html.Td, f"{table_id}-{j}") for j, row in enumerate(rows)])],
                       className="table table-sm small mb-0", id=table_id)
    return html.Div(table, className="table-responsive")  # scrolls inside itself on a phone
