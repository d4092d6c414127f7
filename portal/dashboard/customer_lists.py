"""Exportable tables: one declaration gives a page its grid and the CSV export its
columns, so an export holds exactly what the screen shows.

A :class:`TableExport` names the columns (field, header, kind) and how to get
the rows from a :class:`portal.dashboard.view.View` (the caller's context plus the
URL's filters).  Customer lists are exports whose rows are customers, indexed
by ``customer_id``; the customer id is always the first column.

Register with :func:`register_export`; pages use :func:`grid_columns` for their
``customer_grid`` and :func:`grid_rows` for its ``getRowsRequest`` callback.

Who sees which rows (the ONE place it is decided, :func:`grid_rows`; the CSV
route requires the manager role, :mod:`portal.dashboard.exports`):

* managers and admins page through every row of every list and export them;
* viewers see the aggregated pages and, of each customer list, only the first
  ``VIEWER_LIST_ROWS`` (default 100) customers in the list's default order
  (after the page's filters); the grid's column filters and sorts act within
  those rows, and asking for rows beyond them returns nothing;
* viewers get no grid of the raw record lists (``orders``, ``transactions``);
* **campaign exports**: where the tenant's admin chose to keep contacts, the CSV of a
  customer list (managers and up) carries the customers' e-mail (and name, where
  names are stored) after the customer id (:func:`with_contacts`).  No grid shows
  them, so viewers never get them; without kept contacts the CSV has no such columns.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd
from flask import current_app

from ..data.contacts import contacts_table
from ..platform.tenancy import PortalContext
from .money import MoneyFormat, money_format
from .components.tables import column
from .gridquery import rows_block
from .view import View

#: Lists of raw records rather than customers: managers and up only, grid and export alike.
RECORD_LISTS = frozenset({"orders", "transactions"})


class ListForbidden(PermissionError):
    """The caller's role does not see this list."""


@dataclass(frozen=True)
class Column:
    """One column of a list.  ``header`` is written without its unit: money columns get
    the tenant's currency and percentages "(%)" from :func:`display_header`."""

    field: str
    header: str
    kind: str = "text"  # text | int | money | float | pct | date
    width: int | None = None  # minimum width in px (default: the grid's)


def display_header(column: Column, money: MoneyFormat) -> str:
    """The header as the grid and the CSV show it: ``Net revenue (£)``, ``Churn prob. (%)``."""
    if column.kind == "money":
        return money.label(column.header)
    if column.kind == "pct":
        return f"{column.header} (%)"
    return column.header


@dataclass(frozen=True)
class TableExport:
    name: str  # in the URL: /export/<name>.csv
    title: str
    columns: tuple[Column, ...]
    rows: Callable[[View], pd.DataFrame]
    #: The grid's initial sort, e.g. (("monetary", "desc"),).
    default_sort: tuple[tuple[str, str], ...] = ()
    #: The rows need the fitted models (churn, CLV).
    needs_models: bool = False
    #: What else selects the rows, for the CSV's file name (e.g. a drill-down's mark).
    file_part: Callable[[View], str] | None = None

    @property
    def fields(self) -> list[str]:
        return [c.field for c in self.columns]


EXPORTS: dict[str, TableExport] = {}

CUSTOMER_ID = Column("customer_id", "Customer", "text")


def register_export(export: TableExport) -> TableExport:
    """Add (or replace) an export; returns it so modules can keep a handle."""
    EXPORTS[export.name] = export
    return export


#: Every customer list (grid and CSV) carries the customer's CLV tier (the narrowest, cumulative
#: tiers of analytics.tiers) and churn risk band; a list that does not name them gets them last.
MODEL_COLUMNS = (Column("clv_tier", "CLV tier"), Column("risk_band", "Risk band"))


def customer_list(name: str, title: str, columns: tuple[Column, ...], *,
                  rows: Callable[[View], pd.DataFrame] | None = None,
                  default_sort: tuple[tuple[str, str], ...] = (), needs_models: bool = False,
                  file_part: Callable[[View], str] | None = None) -> TableExport:
    """Register a customer list: ``rows(view)`` (default: the filtered customers) must be
    indexed by customer id and hold every column's field (the tier and risk band of
    :data:`MODEL_COLUMNS` are joined from the customer table when missing)."""
    named = {c.field for c in columns}
    extra = tuple(c for c in MODEL_COLUMNS if c.field not in named)
    return register_export(TableExport(
        name=name, title=title, columns=(CUSTOMER_ID, *columns, *extra),
        rows=_with_model_columns(rows or (lambda view: view.selected_customers)), default_sort=default_sort,
        needs_models=needs_models, file_part=file_part,
    ))


def _with_model_columns(rows: Callable[[View], pd.DataFrame]) -> Callable[[View], pd.DataFrame]:
    def with_columns(view: View) -> pd.DataFrame:
        frame = rows(view)
        missing = [c.field for c in MODEL_COLUMNS if c.field not in frame.columns]
        if missing and frame.index.name == "customer_id":
            known = [c for c in missing if c in view.customers.columns]
            if known:
                frame = frame.join(view.customers[known], how="left")
        return frame

    return with_columns


def list_rows(export: TableExport, view: View) -> pd.DataFrame:
    """The export's rows with exactly its columns, in its default order."""
    frame = export.rows(view)
    if frame.index.name == "customer_id":
        frame = frame.reset_index()
    for field in export.fields:
        if field not in frame.columns:
            frame = frame.assign(**{field: pd.NA})
    frame = frame[export.fields]
    if export.default_sort:
        fields, directions = zip(*export.default_sort)
        frame = frame.sort_values(list(fields), ascending=[d == "asc" for d in directions], kind="stable",
                                  na_position="last")
    return frame


def grid_columns(export: TableExport, money: MoneyFormat | None = None) -> list[dict]:
    """AG Grid column definitions of an export (customer id pinned left), headers with units."""
    money = money or money_format(None)
    sort = dict(export.default_sort)
    columns = []
    for c in export.columns:
        extra = {"sort": sort[c.field]} if c.field in sort else {}
        if c.width:
            extra["minWidth"] = c.width
        if c.field == "customer_id":
            extra.update(pinned="left", minWidth=c.width or 110)
        columns.append(column(c.field, display_header(c, money), c.kind, **extra))
    return columns


def viewer_may_see(export: TableExport) -> bool:
    return export.name not in RECORD_LISTS and export.columns[0].field == "customer_id"


#: The contact columns of a campaign export, after the customer id.
CONTACT_COLUMNS = (Column("email", "E-mail"), Column("name", "Name"))


def with_contacts(export: TableExport, ctx: PortalContext, frame: pd.DataFrame) -> tuple[TableExport, pd.DataFrame]:
    """A customer list's export and rows with the customers' contacts (campaign export).

    Only for managers and up, only for customer lists and only when the tenant keeps
    contacts; a column is added only when some contact holds it (no empty "Name").
    Otherwise ``(export, frame)`` unchanged."""
    if not (ctx.has_role("manager") and viewer_may_see(export)):
        return export, frame
    contacts = contacts_table(ctx)
    if contacts is None:
        return export, frame
    columns = tuple(c for c in CONTACT_COLUMNS if contacts[c.field].notna().any())
    ids = frame["customer_id"].astype("str")
    extra = {c.field: ids.map(contacts[c.field]).to_numpy() for c in columns}
    frame = frame.assign(**extra)[[export.fields[0], *extra, *export.fields[1:]]]
    return replace(export, columns=(export.columns[0], *columns, *export.columns[1:])), frame


def grid_rows(export: TableExport, view: View, request: dict) -> dict:
    """Answer a grid's ``getRowsRequest`` under the role policy of the module docstring:
    ``{"rowData", "rowCount", "totalCount", "capped"}``.  Raises :class:`ListForbidden`."""
    frame = list_rows(export, view)
    total = int(len(frame))
    if view.ctx.has_role("manager"):
        return {**rows_block(frame, request), "totalCount": total, "capped": False}
    if not viewer_may_see(export):
        raise ListForbidden(f"The {export.title} list needs the manager role.")

    cap = current_app.extensions["portal"].settings.viewer_list_rows
    block = rows_block(frame.head(cap), request)  # only these rows exist for a viewer
    return {**block, "totalCount": total, "capped": total > cap}
