"""Customer value: predicted 12-month CLV per customer, its distribution, P(alive)
over frequency x recency, and how well the purchase model forecast a holdout.

Every number comes from the stored CLV models (:mod:`analytics.clv`: BG/NBD for
purchases, Gamma-Gamma for their value) fitted at the snapshot.  The list and
the distribution follow the filters; the P(alive) map, the holdout check and
the parameters describe the model itself and do not.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Output, html

from analytics.clv import TIER_CUTS, p_alive_grid
from analytics.purchase_models import LABELS
from analytics.distributions import histogram
from portal.dashboard.components.cards import graph, panel
from portal.dashboard.components.customerlist import customer_list_view, profile_form
from portal.dashboard.components.palette import INK, MEASURE, REFERENCE
from portal.dashboard.components.figures import SEQUENTIAL, message_figure, themed
from portal.dashboard.components.page import (
    canonical_query,
    open_view,
    page_callback,
    page_frame,
    page_option,
)
from portal.dashboard.components.states import NO_MATCH
from portal.dashboard.components.tables import small_table
from portal.dashboard.components.value_figures import FIGURE_HEIGHT, histogram_figure
from portal.dashboard.components.help import help_points
from portal.dashboard.components.model_explain import (
    agreement_view,
    candidates_view,
    details_fold,
    summary_box,
    uninformative_p_alive,
)
from portal.dashboard.model_insights import insights
from portal.dashboard.customer_lists import Column, customer_list
from portal.dashboard.components.drill import drill_on
from portal.dashboard.drilldown import drill_link
from portal.dashboard.view import View
from portal.dashboard.filters import page_options
from portal.platform.tenancy import current_context

PAGE_ID = "value"
PATH = "/value"
OPTIONS = {"scale": ("log", "clip")}
CLIP_QUANTILE = 0.99
#: Log scale: CLVs below this (in the currency) share the first bar.
LOG_FLOOR = 1.0
BINS = 40
#: P(alive) grid: frequencies 0..N with N the 95th percentile of customers' repeat purchase days,
#: kept within these bounds; recency in RECENCY_STEPS equal steps from 0 to T.
MIN_FREQUENCY, MAX_FREQUENCY, RECENCY_STEPS = 5, 30, 24

dash.register_page(__name__, path=PATH, name="Customer value", title="Customer value · Customer analytics",
                   order=60)


def _valued(view: View) -> pd.DataFrame:
    """The filtered customers with a CLV, plus the expected order value of the CLV table."""
    customers = view.selected_customers
    clv = view.models.results.clv if view.models.ready else None
    if clv is None or "net_clv_12m" not in customers.columns:
        return customers.iloc[:0]
    customers = customers.loc[customers["net_clv_12m"].notna()]
    customers = customers.join(clv.customers[["expected_purchase_value_gross"]], how="left")
    intervals = view.models.results.clv_intervals
    if intervals is not None:  # the 80 % intervals simulated in the background fit
        customers = customers.join(intervals.table[["purchase_days_12m_low", "purchase_days_12m_high"]], how="left")
    return customers


VALUE_LIST = customer_list(
    "value", "Customers by predicted value",
    (Column("net_clv_12m", "Net CLV 12m", "money"), Column("net_clv_12m_low", "Net CLV 12m low (80%)", "money"),
     Column("net_clv_12m_high", "Net CLV 12m high (80%)", "money"), Column("clv_tier", "CLV tier"),
     Column("purchase_days_12m_low", "Purchase days 12m low (80%)", "float"),
     Column("purchase_days_12m_high", "Purchase days 12m high (80%)", "float"),
     Column("p_alive", "P(alive)", "pct"), Column("expected_purchase_days_90d", "Exp. orders 90 days", "float"),
     Column("expected_purchase_value_gross", "Exp. order value", "money"), Column("frequency", "Orders", "int"),
     Column("recency", "Recency (days)", "int"), Column("monetary", "Net revenue", "money"),
     Column("segment", "Segment"), Column("country", "Country")),
    rows=_valued, default_sort=(("net_clv_12m", "desc"),), needs_models=True,
)

#: "How to read this": the points of value.md beside this module.
HOW_TO = help_points(__file__)


def layout(**query):
    view = open_view(current_context(), query)
    return page_frame(view, title="Customer value", page_id=PAGE_ID, path=PATH, how_to=HOW_TO, body=_body,
                      options=OPTIONS, needs_models=True)


def _body(view: View) -> html.Div:
    scale = page_options(view.query, OPTIONS)["scale"]
    switch = page_option("scale", scale, (("log", "Log scale"),
                                          ("clip", f"Linear, clipped at the {CLIP_QUANTILE:.0%} percentile")),
                         label="Axis")
    clv = view.models.results.clv
    if clv is None:
        return dbc.Alert("The CLV models could not be fitted: "
                         + view.models.results.errors.get("clv", "unknown reason"), color="warning",
                         id="value-models-missing")
    explained = insights(view.ctx, view.models)
    palive = graph("value-palive", height=FIGURE_HEIGHT + 40)
    if not clv.p_alive_informative:  # no candidate finds dropout: say so instead of a uniform map
        palive = html.Div([uninformative_p_alive(), html.Div(palive, hidden=True)])
    return html.Div([
        summary_box(explained.purchase if explained else None, "value-summary"),
        agreement_view(explained.agreement if explained else None),
        dbc.Row([
            dbc.Col(panel("Distribution of predicted 12-month CLV", graph("value-distribution", height=FIGURE_HEIGHT),
                          actions=switch, subtitle="Filtered customers; dashed lines: where the CLV tiers start"),
                    lg=8),
            dbc.Col(panel("Model parameters",
                          details_fold("Raw parameters of the fitted models", _parameters(view),
                                       fold_id="value-params-fold"),
                          subtitle="Fitted at the snapshot, all customers"), lg=4),
        ]),
        panel("Which purchase model, and why", candidates_view(clv),
              subtitle="Every candidate scored on held-out time (model-level: filters do not apply)"),
        dbc.Row([
            dbc.Col(panel("P(alive) by repeat purchases and recency", palive,
                          subtitle=_palive_subtitle(clv)), lg=6),
            dbc.Col(panel("Holdout check: predicted vs actual purchases", graph("value-holdout", height=FIGURE_HEIGHT),
                          html.Div(id="value-holdout-metrics"), subtitle=_holdout_subtitle(view)), lg=6),
        ]),
        panel("Customers by predicted value",
              customer_list_view("value", view, canonical_query(view, OPTIONS)),
              actions=profile_form("value"), subtitle="Sorted by 12-month CLV; sort, filter and page in the grid. "
                                                "Filters apply."),
    ])


# --------------------------------------------------------------------------
# parameters


def _parameters(view: View) -> html.Div:
    clv = view.models.results.clv
    bg, gg = clv.purchase_params, clv.gg_params
    label = clv.fit.label
    groups = [(f"{label}: purchases", [
        *[(name, f"{value:.4g}" + (" days" if name in ("alpha", "beta") else ""), "fitted parameter")
          for name, value in bg.items()],
        ("Mean dropout", f"{clv.fit.dropout_share:.3g}",
         "s / beta per day" if clv.purchase_model == "pnbd" else "a / (a + b) per purchase"),
        ("Penalizer", f"{clv.penalizer:g}", "L2 penalty of the fit"),
    ])]
    if gg is not None:
        groups.append(("Gamma-Gamma: value per purchase", [
            ("p", f"{gg['p']:.4g}", "shape of the spend per purchase"),
            ("q", f"{gg['q']:.4g}", "shape of the customers' mean spend"),
            ("v", view.money(gg["v"]), f"scale of the customers' mean spend ({view.money.symbol})"),
            ("Mean purchase value", view.money(clv.population_mean_order_value), "p v / (q - 1), one-time customers"),
            ("Frequency-value correlation", f"{clv.freq_monetary_corr:.2f}", "should be near 0"),
            ("Value cap", view.money(clv.monetary_cap) if clv.monetary_cap is not None else "none",
             "mean purchase values above it are capped"),
        ]))
    else:
        groups.append(("Gamma-Gamma: value per purchase", [
            ("Not fitted", view.money(clv.population_mean_order_value), "every customer gets the mean purchase value")]))
    groups.append(("CLV", [("Horizon", f"{clv.horizon_months} months", "of the CLV column"),
                           ("Discount", f"{clv.monthly_discount:.0%} a month", "applied to each month's value")]))
    body = []
    for heading, rows in groups:
        body.append(html.Tr(html.Th(heading, colSpan=2, className="pt-2 text-secondary fw-semibold")))
        body += [html.Tr([html.Td(name, title=note, className="ps-2"),
                          html.Td(value, title=note, className="fw-semibold text-end text-nowrap")])
                 for name, value, note in rows]
    table = html.Table(html.Tbody(body), className="table table-sm table-borderless small mb-2")
    notes = list(clv.notes) or ["No warnings: both models fitted without retries or boundary estimates."]
    return html.Div([table, html.Ul([html.Li(n) for n in notes], className="small mb-0 ps-3 text-secondary",
                                    id="value-model-notes")], id="value-params")


# --------------------------------------------------------------------------
# distribution (filtered)


def tier_starts(clv_table: pd.DataFrame) -> dict[str, float]:
    """Lowest 12-month CLV in each top tier (the tiers are ranks over all customers)."""
    starts = {}
    for label, _ in TIER_CUTS:
        values = clv_table.loc[clv_table["clv_tier"] == label, "net_clv_12m"]
        if len(values):
            starts[label] = float(values.min())
    return starts


@page_callback(PAGE_ID, Output("value-distribution", "figure"))
def update_distribution(view: View):
    if not view.models.ready or view.models.results.clv is None:
        return message_figure("The CLV models are not available.", height=FIGURE_HEIGHT)
    values = _valued(view)["net_clv_12m"]
    if values.empty:
        return message_figure(NO_MATCH, height=FIGURE_HEIGHT)
    log = page_options(view.query, OPTIONS)["scale"] == "log"
    starts = tier_starts(view.models.results.clv.customers)
    if log:  # below LOG_FLOOR the log axis would spend decades on a handful of near-zero CLVs
        below = int((values < LOG_FLOOR).sum())
        hist = histogram(values.clip(lower=LOG_FLOOR), bins=BINS, log=True)
        note = f"{below:,} customers under {view.money(LOG_FLOOR)} counted in the first bar" if below else ""
    else:
        cap = float(np.quantile(values, CLIP_QUANTILE))
        above = int((values > cap).sum())
        hist = histogram(values.clip(upper=cap), bins=BINS)
        note = f"{above:,} customers above {view.money(cap)} counted in the last bar" if above else ""
    if hist.empty:
        return message_figure(NO_MATCH, height=FIGURE_HEIGHT)
    def link(low, high, last):
        return drill_link(view.filters, PATH, field="net_clv_12m", min=low, max=high, last="1" if last else None)

    return histogram_figure(hist, log, starts, note, first_open=log and bool(note),
                            last_open=not log and bool(note), money=view.money, link=link)


drill_on("value-distribution")


# --------------------------------------------------------------------------
# P(alive) map and holdout check (model-level)


def palive_axes(clv) -> tuple[float, list[int], list[float]]:
    """The grid shown: typical age T (median, days), frequencies 0..N, recencies 0..T."""
    customers = clv.customers
    T = float(np.round(customers["btyd_age_days"].median()))
    top = int(np.clip(np.ceil(customers["repeat_purchase_days"].quantile(0.95)), MIN_FREQUENCY, MAX_FREQUENCY))
    recencies = np.unique(np.round(np.linspace(0, T, RECENCY_STEPS + 1)))
    return T, list(range(top + 1)), recencies.tolist()


def _palive_subtitle(clv) -> str:
    T, frequencies, _ = palive_axes(clv)
    return (f"From the fitted {clv.fit.label} formula for a customer of age T = {T:.0f} days (the median); "
            f"repeat purchase days 0 to {frequencies[-1]}")


@page_callback(PAGE_ID, Output("value-palive", "figure"))
def update_palive(view: View):
    clv = view.models.results.clv if view.models.ready else None
    if clv is None:
        return message_figure("The CLV models are not available.", height=FIGURE_HEIGHT + 40)
    if not clv.p_alive_informative:
        return message_figure("P(alive) carries no information here: no model finds dropout.",
                              height=FIGURE_HEIGHT + 40)
    T, frequencies, recencies = palive_axes(clv)
    grid = p_alive_grid(clv.purchase_params, T, frequencies, recencies, model=clv.purchase_model)
    figure = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=grid.columns.to_numpy(), y=grid.index.to_numpy(), colorscale=SEQUENTIAL,
        zmin=0, zmax=1, hoverongaps=False, name="P(alive)",
        colorbar={"title": {"text": "P(alive)", "side": "right"}, "tickformat": ".0%", "thickness": 12},
        hovertemplate=(f"Age T = {T:.0f} days<br>%{{y}} repeat purchase days<br>Last purchase %{{x:.0f}} days "
                       "after the first<br>P(alive) %{z:.1%}<extra></extra>")))
    figure.update_xaxes(title="Recency: days from first to last purchase")
    figure.update_yaxes(title="Repeat purchase days", dtick=max(1, len(frequencies) // 10))
    figure.update_layout(margin={"t": 20})
    return themed(figure, height=FIGURE_HEIGHT + 40)


def _holdout_subtitle(view: View) -> str:
    val = view.models.results.clv_validation
    if val is None:
        return "Not available"
    return (f"Fitted on orders before {val.calibration_end:%Y-%m-%d}, forecast {val.holdout_days} days to "
            f"{(val.holdout_end - pd.Timedelta(days=1)):%Y-%m-%d}; {val.n_customers:,} customers")


@page_callback(PAGE_ID, Output("value-holdout", "figure"), Output("value-holdout-metrics", "children"))
def update_holdout(view: View):
    val = view.models.results.clv_validation if view.models.ready else None
    if val is None:
        reason = view.models.results.errors.get("clv_validation") if view.models.ready else None
        return message_figure("The holdout check is not available." + (f" {reason}" if reason else ""),
                              height=FIGURE_HEIGHT), None
    buckets = val.buckets
    labels = [f"{b}" for b in buckets.index]
    figure = go.Figure()
    bg, naive = val.metrics[val.model], val.metrics["naive"]
    for column_name, name, colour in (("actual", "Actual", INK),
                                      ("predicted", f"{LABELS[val.model]} (MAE {bg['mae']:.2f}, "
                                                    f"r {bg['correlation']:.2f})",
                                       MEASURE),
                                      ("baseline", f"Naive (MAE {naive['mae']:.2f}, r {naive['correlation']:.2f})",
                                       REFERENCE)):
        figure.add_bar(x=labels, y=buckets[column_name], name=name, marker_color=colour,
                       customdata=buckets["customers"],
                       hovertemplate=f"{name.split(' (')[0]}: %{{y:.2f}} purchase days per customer"
                                     "<br>%{x} repeat purchase days before (%{customdata:,} customers)<extra></extra>")
    figure.update_xaxes(title="Repeat purchase days before the holdout", type="category")
    figure.update_yaxes(title="Mean purchase days in the holdout")
    figure.update_layout(barmode="group", legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
                         margin={"t": 40})
    rows = [("Actual", "", "", "", f"{val.total_actual:,.0f}")] + [
        (name, f"{m['mae']:.3f}", f"{m['rmse']:.3f}", f"{m['correlation']:.3f}", f"{m['total_predicted']:,.0f}")
        for name, m in ((LABELS[val.model], bg), ("Naive baseline", naive))]
    table = small_table(("Method", "MAE", "RMSE", "Correlation", "Total purchase days"), rows,
                        table_id="value-holdout-table")
    return themed(figure, height=FIGURE_HEIGHT), html.Div([table, html.P(
        "Per customer, purchase days in the holdout: MAE = mean absolute error, RMSE = root mean squared error, "
        "correlation = Pearson's r with the actual counts.", className="small text-secondary mt-1 mb-0")])
