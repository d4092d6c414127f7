"""Cards: KPI tiles with their change against the previous period, and titled panels."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from ..layout import GRAPH_CONFIG
from .figures import percent


def kpi_card(title: str, value: str, *, change: float | None = None, previous: str | None = None,
             card_id: str, higher_is_better: bool = True, note: str | None = None) -> dbc.Card:
    """A KPI tile: title, value, and the change vs the previous period (arrow + %)."""
    footer: list[Any] = []
    if change is not None and change == change:
        good = (change >= 0) == higher_is_better
        arrow = "▲" if change > 0 else ("▼" if change < 0 else "■")
        footer.append(html.Span(f"{arrow} {percent(abs(change))}",
                                className=f"fw-semibold {'text-success' if good else 'text-danger'}"))
        if previous is not None:
            footer.append(html.Span(f" vs {previous}", className="text-secondary"))
    elif note:
        footer.append(html.Span(note, className="text-secondary"))
    return dbc.Card(
        dbc.CardBody([
            html.Div(title, className="text-secondary small text-uppercase fw-semibold"),
            html.Div(value, className="fs-4 fw-semibold text-nowrap", id=card_id),
            html.Div(footer, className="small", id=f"{card_id}-change"),
        ]),
        className="shadow-sm h-100",
    )


def panel(title: str, *children: Any, panel_id: str | None = None, actions: Any = None,
          subtitle: str | None = None) -> dbc.Card:
    """A titled white card holding a figure or a table; ``actions`` sit at the right of the title."""
    header = [html.H3(title, className="h6 mb-0")]
    if subtitle:
        header.append(html.Div(subtitle, className="text-secondary small"))
    head = html.Div([html.Div(header), html.Div(actions)] if actions is not None else [html.Div(header)],
                    className="d-flex justify-content-between align-items-start mb-2 gap-2")
    kwargs = {"id": panel_id} if panel_id else {}
    return dbc.Card(dbc.CardBody([head, *children]), className="shadow-sm mb-3", **kwargs)


def skeleton(height: int, skeleton_id: str | None = None) -> html.Div:
    """A grey pulsing block the size of what is loading (instead of a blank area)."""
    kwargs = {"id": skeleton_id} if skeleton_id else {}
    return html.Div(className="skeleton", style={"height": f"{height}px", "width": "100%"},
                    role="status", **{"aria-label": "Loading"}, **kwargs)


def graph(graph_id: str, *, height: int = 360) -> dcc.Loading:
    """A graph with a loading skeleton and the portal's Plotly config (offline world map)."""
    return dcc.Loading(
        dcc.Graph(id=graph_id, config=GRAPH_CONFIG, style={"height": f"{height}px"}),
        custom_spinner=skeleton(height), delay_show=150, overlay_style={"visibility": "visible"},
    )
