"""The frame every analytic page shares, so no page copies its header, filters
or empty states.

A page's ``layout(**query)`` builds a :class:`portal.dashboard.view.View` and calls
:func:`page_frame`; its figures are drawn by :func:`page_callback` functions: they
read ``Input(query_store_id(page_id), "data")`` (the canonical query string the
layout was rendered with), so they run once per URL, after the router has rendered
the page, and receive the view of that query.  The renders of one page are ONE
Dash callback (:func:`register_page_callbacks`): a filter change costs the router's
request and one request for all the page's figures, each render memoised on its own.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate

from portal.dashboard.view import View, memoised_view
from portal.platform.tenancy import current_context
from portal.dashboard.filters import build_query, page_options, parse_query
from portal.data.results import NoDataset
from portal.data.storage import DatasetNotFound

from .customerlist import FIRST_BLOCK_OUTPUT, FIRST_BLOCK_STATES, first_blocks
from .filterbar import URL_TARGET, filter_bar
from .help import how_to_read
from .states import models_pending, no_data


log = logging.getLogger(__name__)


def query_store_id(page_id: str) -> str:
    return f"{page_id}-query"


#: page id -> render name -> (its outputs, the memoised render), collected while Dash
#: executes the page modules and registered by :func:`register_page_callbacks`.
_PENDING: dict[str, dict[str, tuple[tuple[Output, ...], Callable[[str], Any]]]] = {}


def page_callback(page_id: str, *outputs: Output) -> Callable:
    """Decorator: ``render(view)`` draws ``outputs`` of page ``page_id``.

    Its input is the page's query store; it is memoised (:func:`portal.dashboard.view.memoised_view`:
    tenant, dataset, model fit and query, in the worker and in the shared cache) and
    ``render`` gets ``View(current_context(), query)``.  The decorated name is the
    memoised render: ``update_x(query)`` returns the value of ``outputs`` (one value for one
    output, a tuple for several).  :func:`register_page_callbacks` joins a page's renders
    into one Dash callback.
    """
    def decorate(render: Callable[[View], Any]) -> Callable[[str], Any]:
        @functools.wraps(render)
        def from_query(query):
            return render(View(current_context(), query))

        memoised = memoised_view(from_query)
        # keyed by name: a page module executed again (a new app) replaces its entries
        _PENDING.setdefault(page_id, {})[f"{render.__module__}.{render.__qualname__}"] = (outputs, memoised)
        return memoised

    return decorate


def register_page_callbacks(dash_app) -> None:
    """Register the collected renders of each page as ONE callback of ``dash_app`` whose
    outputs are all theirs, in order, plus the first rows of the page's customer lists
    (:func:`portal.dashboard.components.customerlist.first_blocks`, per user: not memoised);
    then forget them (the next app collects its own)."""
    for page_id, renders in _PENDING.items():
        parts = list(renders.values())
        outputs = [output for part_outputs, _ in parts for output in part_outputs]
        dash_app.callback([*outputs, FIRST_BLOCK_OUTPUT], Input(query_store_id(page_id), "data"),
                          *FIRST_BLOCK_STATES)(_joined(page_id, parts))
    _PENDING.clear()


def _joined(page_id: str, parts: list[tuple[tuple[Output, ...], Callable[[str], Any]]]) -> Callable[..., list]:
    def render_page(query, firsts, list_queries):
        lists = dash_ctx.outputs_list[-1]
        if not all(isinstance(v, list) and len(v) == len(lists) for v in (lists, firsts, list_queries)):
            raise PreventUpdate  # not what dash-renderer sends: one entry per list of the page
        values: list[Any] = []
        for outputs, render in parts:
            try:
                value = render(query)
            except PreventUpdate:
                value = [no_update] * len(outputs) if len(outputs) > 1 else no_update
            except Exception:  # noqa: BLE001 - one figure's error must not blank the whole page
                log.exception("a render of page %s failed", page_id, extra={"event": "render_failed"})
                value = [no_update] * len(outputs) if len(outputs) > 1 else no_update
            values.extend(value if len(outputs) > 1 else [value])
        values.append(first_blocks(lists, firsts, list_queries))
        return values

    render_page.__name__ = f"render_{page_id.replace('-', '_')}"
    return render_page


def canonical_query(view: View, options: dict[str, tuple[str, ...]] | None = None) -> str:
    """The page's query string: filters plus its options, in a fixed order."""
    return build_query(view.filters, page_options(view.query, options or {}))


def page_option(key: str, value: str, choices: Iterable[tuple[str, str]], *, label: str | None = None) -> html.Div:
    """A radio switch whose value travels in the URL as ``key`` (see filterbar)."""
    control = dbc.RadioItems(
        id={"type": "page-option", "key": key}, value=value, inline=True,
        options=[{"label": text, "value": choice} for choice, text in choices],
        className="small", inputClassName="me-1",
    )
    caption = [html.Span(label, className="small text-secondary me-2")] if label else []
    return html.Div([*caption, control], className="d-flex align-items-center")


def freshness(view: View) -> html.P:
    """Snapshot date, data range, version and import time of the current dataset."""
    info, report = view.dataset, view.report.cleaning
    imported = info.created_at.strftime("%Y-%m-%d %H:%M UTC") if info.created_at else "?"
    last = report.last_date.strftime("%Y-%m-%d") if report.last_date is not None else "?"
    first = report.first_date.strftime("%Y-%m-%d") if report.first_date is not None else "?"
    return html.P(
        [html.Strong(f"Snapshot {view.snapshot:%Y-%m-%d}"), f" · data {first} to {last} · version {info.version} "
         f"({info.filename}) imported {imported} · models: {view.models.status}"],
        className="text-secondary small mb-2", id="freshness",
    )


def page_frame(
    view_or_none: View | None,
    *,
    title: str,
    page_id: str,
    path: str,
    how_to: list[str],
    body: Callable[[View], Any],
    options: dict[str, tuple[str, ...]] | None = None,
    needs_models: bool = False,
    filters: bool = True,
) -> html.Div:
    """Heading, freshness line, "how to read this", filter bar, the query store and ``body(view)``.

    ``view_or_none`` is None when the tenant has no dataset: the page shows the
    guiding empty state instead of its body.
    """
    heading = html.H2(title, className="h4 mb-1")
    if view_or_none is None:
        return html.Div([heading, no_data(role_is_admin=False)])
    view = view_or_none
    parts: list[Any] = [heading, freshness(view),
                        how_to_read(how_to, snapshot=f"{view.snapshot:%Y-%m-%d}", box_id=f"{page_id}-help")]
    if filters:
        parts.append(filter_bar(view.filters, view.options, path=path,
                                page_query={k: v for k, v in page_options(view.query, options or {}).items()
                                            if k in parse_query(view.query)}))
    parts.append(dcc.Store(id=query_store_id(page_id), data=canonical_query(view, options)))
    parts.append(dcc.Store(id=URL_TARGET))
    if needs_models and not view.models.ready:
        message = None
        if view.models.status == "running":
            message = (f"The models are being fitted ({view.models.progress:.0%}: {view.models.message}). "
                       "Reload in a minute.")
        elif view.models.status == "failed":
            message = f"The models could not be fitted: {view.models.message}"
        parts.append(models_pending(message))
        return html.Div(parts)
    parts.append(body(view))
    return html.Div(parts)


def open_view(ctx, query) -> View | None:
    """A View for the layout, or None when the tenant has no dataset yet."""
    try:
        view = View(ctx, query)
        view.report  # noqa: B018 - raises when there is no dataset
        return view
    except (NoDataset, DatasetNotFound):
        return None
