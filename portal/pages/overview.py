"""Overview (home page): the tenant's current dataset at a glance."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from portal.components.geo import customers_by_country, world_map
from portal.layout import GRAPH_CONFIG, empty_state
from portal.results import get_result
from portal.storage import DatasetNotFound, get_dataset
from portal.tenancy import current_context

dash.register_page(__name__, path="/", name="Overview", title="Overview · Customer analytics", order=0)


def _card(title: str, value: str, card_id: str) -> dbc.Col:
    return dbc.Col(dbc.Card(dbc.CardBody([
        html.Div(title, className="text-secondary small"),
        html.Div(value, className="fs-5 fw-semibold text-nowrap", id=card_id),
    ]), className="shadow-sm h-100"), xs=12, sm=6, lg=4, xl=2, className="mb-3")


def _day(value: str | None) -> str:
    return value[:10] if value else "–"


def layout(**_query):
    ctx = current_context()
    heading = html.H2("Overview", className="h4 mb-3")
    try:
        dataset = get_dataset(ctx)
    except DatasetNotFound:
        return html.Div([heading, empty_state()])
    report = dataset.cleaning_report or {}
    cards = dbc.Row([
        _card("Rows", f"{dataset.rows_in or 0:,}", "kpi-rows"),
        _card("Customers", f"{dataset.customers or 0:,}", "kpi-customers"),
        _card("Orders", f"{dataset.orders or 0:,}", "kpi-orders"),
        _card("First day", _day(report.get("first_date")), "kpi-first-date"),
        _card("Last day", _day(report.get("last_date")), "kpi-last-date"),
        _card("Snapshot date", _day(report.get("snapshot_date")), "kpi-snapshot"),
    ])
    imported = dataset.created_at.strftime("%Y-%m-%d %H:%M") if dataset.created_at else ""
    caption = html.P(
        [f"Version {dataset.version} · {dataset.filename} · imported {imported} UTC · ",
         f"{dataset.rows_clean or 0:,} rows after cleaning · models: {dataset.models_status}"],
        className="text-secondary small", id="dataset-caption",
    )
    counts = customers_by_country(get_result(ctx, "orders"))
    geography = dbc.Card(dbc.CardBody([
        html.H3("Customers by country", className="h6"),
        dcc.Graph(id="overview-map", figure=world_map(counts), config=GRAPH_CONFIG),
    ]), className="shadow-sm")
    return html.Div([heading, caption, cards, geography])
