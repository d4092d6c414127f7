"""Overview (home): KPIs with their change, the monthly revenue trend split by new
and returning customers, top countries and top products.

Every number comes from the cached results of the tenant's current dataset:
with no filter the precomputed tables of the descriptive report, with filters
the same analytics functions over the selected lines.
"""
from __future__ import annotations

from dataclasses import replace

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Output, dcc, html

from analytics.geography import country_summary
from analytics.periods import fiscal_year_label, fiscal_year_of, year_before
from analytics.products import product_summary, top_products
from analytics.trends import kpi_change, monthly_summary
from portal.dashboard.components.cards import graph, kpi_card, panel, skeleton
from portal.dashboard.components.drill import drill_on
from portal.dashboard.components.figures import count, percent
from portal.dashboard.components.help import help_points
from portal.dashboard.components.overview_figures import bar_figure, partial_months, trend_figure
from portal.dashboard.components.page import open_view, page_callback, page_frame, page_option
from portal.dashboard.drilldown import drill_link
from portal.dashboard.filters import build_query, date_presets, page_options, parse_query
from portal.dashboard.components.risk_cards import at_risk_card
from portal.dashboard.view import View
from portal.platform.tenancy import current_context

PAGE_ID = "overview"
PATH = "/"

dash.register_page(__name__, path=PATH, name="Overview", title="Overview · Customer analytics", order=0)

#: "How to read this": the points of overview.md beside this module.
HOW_TO = help_points(__file__)


#: Page options (first = default): which revenue every money figure counts, and what the KPIs
#: compare with (the period of equal length just before, or the same period a year earlier).
OPTIONS = {"revenue": ("all", "customers"), "compare": ("previous", "year")}
REVENUE_CHOICES = (("all", "All revenue (guests included)"), ("customers", "Customers only"))


def layout(**query):
    view = open_view(current_context(), query)
    return page_frame(view, title="Overview", page_id=PAGE_ID, path=PATH, how_to=HOW_TO, body=_body,
                      options=OPTIONS)


def _scope(view: View) -> str:
    return page_options(view.query, OPTIONS)["revenue"]


def _compare(view: View) -> str:
    return page_options(view.query, OPTIONS)["compare"]


def compare_choices(view: View) -> tuple[tuple[str, str], ...]:
    """The KPI comparisons; with a fiscal year start set, the year earlier is named as the same
    fiscal period (with the "This fiscal year" window: last fiscal year's same months)."""
    month = view.ctx.fiscal_year_start_month
    year = "Same period last fiscal year" if month != 1 else "Same period last year"
    return (("previous", "The period just before"), ("year", year))


def _body(view: View) -> html.Div:
    scope = _scope(view)
    return html.Div([
        window_heading(view),
        page_option("revenue", scope, REVENUE_CHOICES, label="Money figures count:"),
        page_option("compare", _compare(view), compare_choices(view), label="KPIs compare with:"),
        html.Div(dbc.Row([dbc.Col(skeleton(96), xs=12, sm=6, lg=3, className="mb-3") for _ in range(8)]),
                 id="overview-kpis", className="mb-2 mt-2"),
        panel("Monthly net revenue: new vs returning customers", graph("overview-trend", height=340),
              subtitle=_charts_window(view)),
        dbc.Row([
            dbc.Col(panel("Top countries by net revenue", graph("overview-countries", height=340),
                          subtitle=_charts_window(view, tops=True) + " · click a bar for its customers"),
                    lg=6, className="drillable"),
            dbc.Col(panel("Top products by net revenue", graph("overview-products", height=340),
                          subtitle=_charts_window(view, tops=True) + " · click a bar for its customers"),
                    lg=6, className="drillable"),
        ]),
    ])


def window_heading(view: View) -> html.Div:
    """The KPI window as the page's heading, with the windows one click away."""
    start, end = view.window
    last = end - pd.Timedelta(days=1)
    if view.filters.start or view.filters.end:
        what = "Date filter"
    else:
        what = f"Last {(end - start).days} days"
    options = {k: v for k, v in page_options(view.query, OPTIONS).items() if k in parse_query(view.query)}
    last_day = view.options.get("date_max")
    month = view.ctx.fiscal_year_start_month
    choices = [dcc.Link(label, href=PATH + build_query(replace(view.filters, start=a, end=b), options),
                        className="btn btn-outline-secondary btn-sm py-0",
                        title=f"{fiscal_year_label(fiscal_year_of(a, month), month)}: {a} to {b}"
                        if "fiscal" in label else f"{a} to {b}")
               for label, a, b in date_presets(last_day, week_start=view.ctx.week_start,
                                               fiscal_year_start_month=month) if label != "All time"]
    return html.Div([
        html.H3([f"KPIs · {what}: ", html.Span(f"{start:%d %b %Y} to {last:%d %b %Y}", className="text-nowrap")],
                className="h5 mb-1", id="kpi-window"),
        html.Div([html.Span("Window:", className="small text-secondary me-1"), *choices],
                 className="d-flex flex-wrap gap-1 align-items-center", id="kpi-window-choices"),
    ], className="mb-2")


def _charts_window(view: View, tops: bool = False) -> str:
    if view.filters.start or view.filters.end:
        return "Same window as the KPIs (the date filter)"
    return ("Whole history, not the KPI window" if tops else
            "Whole history; the KPI window is shaded")


def _lines_in_scope(lines: pd.DataFrame, scope: str) -> pd.DataFrame:
    """Customers-only: the lines with a customer id (guests' orders left out)."""
    return lines.loc[lines["customer_id"].notna().to_numpy()] if scope == "customers" else lines


@page_callback(PAGE_ID, Output("overview-kpis", "children"))
def update_kpis(view: View):
    start, end = view.window
    scope = _scope(view)
    window = year_before(start.date(), end.date()) if _compare(view) == "year" else None
    if scope == "all" and window is None:
        table = view.kpis()
    else:
        table = kpi_change(_lines_in_scope(view.scoped_lines, scope), start, end, previous=window)
    before, after = window or (start - (end - start), start)
    previous = f"{pd.Timestamp(before):%Y-%m-%d} to {(pd.Timestamp(after) - pd.Timedelta(days=1)):%Y-%m-%d}"

    def card(name: str, title: str, fmt, higher_is_better: bool = True) -> dbc.Col:
        row = table.loc[name]
        change = row["change_pct"] / 100 if pd.notna(row["change_pct"]) else None
        return dbc.Col(kpi_card(title, fmt(row["value"]), change=change, previous=previous,
                                card_id=f"kpi-{name.replace('_', '-')}", higher_is_better=higher_is_better),
                       xs=12, sm=6, lg=3, className="mb-3")

    revenue = "Revenue" if scope == "all" else "Revenue (customers only)"
    cards = [
        card("revenue", revenue, view.money),
        card("orders", "Orders", count),
        card("customers", "Customers", count),
        card("average_order_value", "Average order value", view.money),
        card("repeat_customer_rate", "Repeat-customer rate", percent),
        card("new_customers", "New customers", count),
    ]
    cards += _model_cards(view)
    return dbc.Row(cards)


def _model_cards(view: View) -> list[dbc.Col]:
    if not view.models.ready:
        note = "models not fitted yet"
        return [dbc.Col(kpi_card(title, "–", card_id=card_id, note=note), xs=12, sm=6, lg=3, className="mb-3")
                for title, card_id in (("Revenue at risk", "kpi-revenue-at-risk"),
                                       ("Predicted 12-month CLV", "kpi-clv"))]
    customers = view.selected_customers
    at_risk = customers["net_revenue_at_risk"].sum(min_count=1)
    clv = customers["net_clv_12m"].sum(min_count=1)
    scored = int(customers["churn_probability"].notna().sum())
    return [
        dbc.Col(kpi_card("Net revenue at risk", view.money(at_risk), card_id="kpi-revenue-at-risk",
                         note=f"at snapshot · sum over all {scored:,} scored customers of churn probability x "
                              "net 12-month CLV"), xs=12, sm=6, lg=3, className="mb-3"),
        dbc.Col(kpi_card("Predicted 12-month CLV", view.money(clv), card_id="kpi-clv",
                         note=f"at snapshot · {len(customers):,} customers"), xs=12, sm=6, lg=3, className="mb-3"),
        dbc.Col(at_risk_card(view), xs=12, sm=6, lg=3, className="mb-3"),
    ]


@page_callback(PAGE_ID, Output("overview-trend", "figure"))
def update_trend(view: View):
    scope = _scope(view)
    if view.has_scope or scope == "customers":
        monthly = monthly_summary(_lines_in_scope(view.scoped_lines, scope), view.snapshot)
    else:
        monthly = view.report.monthly
    window = None
    start, end = view.window
    if view.filters.start or view.filters.end:
        monthly = monthly[(monthly["month"] >= start.replace(day=1)) & (monthly["month"] < end)]
    else:
        window = (start, end)
    first = view.report.cleaning.first_date
    partial = partial_months(monthly["month"], first, view.snapshot)
    return trend_figure(monthly, partial=partial, money=view.money, guests=scope == "all", window=window)


@page_callback(PAGE_ID, Output("overview-countries", "figure"), Output("overview-products", "figure"))
def update_tops(view: View):
    scope = _scope(view)
    if scope == "customers":
        lines = _lines_in_scope(view.selected_lines, scope)
        countries, products = country_summary(lines, view.snapshot), product_summary(lines, view.snapshot)
    else:
        countries, products = view.country_summary(), view.product_summary()
    countries = countries.nlargest(10, "revenue")
    products = top_products(products, by="revenue", n=10)
    names = [str(d) if isinstance(d, str) and d else str(code) for code, d in zip(products.index,
                                                                                   products["description"])]
    return (
        bar_figure(countries, "revenue", [str(c) for c in countries.index], money=view.money,
                   links=[drill_link(view.filters, "/", country=c) for c in countries.index]),
        bar_figure(products, "revenue", names, money=view.money,
                   names=[f"{n} ({code})" for n, code in zip(names, products.index)],
                   links=[drill_link(view.filters, "/", product=code) for code in products.index]),
    )


drill_on("overview-countries")
drill_on("overview-products")
