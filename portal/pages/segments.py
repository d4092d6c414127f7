"""Segments: the RFM segments of the customers at the snapshot date.

Treemap and table of the segments, the recency x frequency score grid, the
segment migration over the look-back period (Sankey or matrix), the RFM
distributions with their IQR outliers, the revenue concentration (Lorenz curve)
and the customer list.  With no filter every table is the descriptive report's;
with filters the same analytics functions run on the selected customers, whose
RFM values and segments stay those measured at the snapshot over all customers.
"""
from __future__ import annotations

from dataclasses import replace

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, callback, html, no_update
from dash import ctx as dash_ctx
from plotly.subplots import make_subplots

from analytics.distributions import box_summary, histogram
from analytics.errors import InsufficientDataError
from analytics.migration import NOT_YET_CUSTOMER, PREVIOUS_ORDER, SegmentMigration
from analytics.rfm import (
    SEGMENT_ORDER,
    assign_segments,
    lorenz_curve,
    revenue_concentration,
    rfm_segment_grid,
    segment_summary,
)
from portal.components.cards import graph, panel
from portal.components.customerlist import customer_list_view
from portal.components.figures import (
    OKABE_ITO,
    SEGMENT_COLOURS,
    SEQUENTIAL,
    message_figure,
    percent,
    themed,
)
from portal.components.page import canonical_query, open_view, page_frame, page_option, query_store_id
from portal.components.states import NO_MATCH
from portal.components.tables import column, data_grid
from portal.customer_lists import Column, customer_list
from portal.dashboard import View
from portal.filters import QUERY_KEYS, Filters, build_query, page_options, parse_query
from portal.tenancy import current_context

PAGE_ID = "segments"
PATH = "/segments"

dash.register_page(__name__, path=PATH, name="Segments", title="Segments · Customer analytics", order=10)

#: Page options (first = default): migration chart and value, histogram scale, box-plot outliers.
OPTIONS: dict[str, tuple[str, ...]] = {
    "migration": ("sankey", "matrix"),
    "migration_value": ("customers", "revenue"),
    "scale": ("log", "linear"),
    "outliers": ("show", "hide"),
}
#: The RFM columns drawn as distributions: column -> (title, axis title, hover format).
FEATURES: dict[str, tuple[str, str, str]] = {
    "recency": ("Recency", "Days since the last order", "%{y:,.0f} days"),
    "frequency": ("Frequency", "Orders", "%{y:,.0f} orders"),
    "monetary": ("Monetary", "Net revenue (£)", "£%{y:,.2f}"),
}
HISTOGRAM_BINS = 30
#: At most this many outlier points per box plot are drawn (a deterministic sample beyond).
MAX_OUTLIER_POINTS = 2000
NEW_NODE_COLOUR = "#E8E8E8"

SEGMENT_LIST = customer_list(
    "segments", "Customers by RFM segment",
    (Column("segment", "Segment"), Column("previous_segment", "Previous segment"),
     Column("recency", "Recency (days)", "int"), Column("frequency", "Orders", "int"),
     Column("monetary", "Revenue (£)", "money"), Column("tenure", "Tenure (days)", "int"),
     Column("r_score", "R", "int"), Column("f_score", "F", "int"), Column("m_score", "M", "int"),
     Column("country", "Country"), Column("last_order", "Last order", "date")),
    default_sort=(("monetary", "desc"),),
)

HOW_TO = [
    ("**Recency**: days from the last order to the snapshot date. **Frequency**: distinct orders. "
     "**Monetary**: net revenue (sales minus returns, £) over the whole history. **Tenure**: days since the "
     "first order."),
    ("**Scores** R, F, M are quintiles 1-5 over all customers at the snapshot (5 = most recent, most orders, "
     "most money). The **segment** comes from the R x F grid (the heatmap shows which cell is which segment)."),
    ("**Filters select customers**; their values and segments stay those measured at the snapshot over all "
     "customers (a date filter keeps the customers who ordered in it). Click a treemap tile or a table row to "
     "filter the page to that segment."),
    ("**Migration**: each customer's segment at the start of the look-back period (computed from the data up to "
     "that day) against the segment at the snapshot. *Not yet a customer* = first order in the period. Revenue = "
     "net revenue of the period. The customer list's *Previous segment* is the segment at that start date."),
    ("**Box plots**: the box spans the quartiles, the line is the median, the whiskers reach the last values "
     "within 1.5 x IQR of the box; points beyond are **outliers** (hide them to read the box)."),
    ("**Revenue concentration**: the Lorenz curve sorts customers from the smallest to the largest spender; the "
     "further it sags below the diagonal (perfect equality), the more revenue depends on a few customers. "
     "**Gini** 0 = everyone spends the same, 1 = one customer has all the revenue."),
    "Segment colours are fixed across the portal; the heatmaps use the colour-blind-safe Cividis scale.",
]


#: The no-match note on two lines, so it fits the narrow panels.
_NO_MATCH = NO_MATCH.replace(". ", ".<br>", 1)


def _query(query) -> str:
    """The query store's value; anything that is not a string (a forged input) means no filter."""
    return query if isinstance(query, str) else ""


def layout(**query):
    view = open_view(current_context(), query)
    return page_frame(view, title="Segments", page_id=PAGE_ID, path=PATH, how_to=HOW_TO, body=_body,
                      options=OPTIONS)


def _body(view: View) -> html.Div:
    options = page_options(view.query, OPTIONS)
    migration = view.report.migration
    dates = (f"Segments on {migration.previous_date:%Y-%m-%d} vs on the snapshot {migration.snapshot_date:%Y-%m-%d} "
             f"({migration.lookback_days} days)")
    migration_actions = html.Div([
        page_option("migration", options["migration"], (("sankey", "Flows"), ("matrix", "Matrix")), label="Show"),
        page_option("migration_value", options["migration_value"],
                    (("customers", "Customers"), ("revenue", "Revenue")), label="Size by"),
    ], className="d-flex flex-wrap gap-3")
    return html.Div([
        dbc.Row([
            dbc.Col(panel("Customers by segment", graph("segments-treemap", height=420),
                          subtitle="Tile size = customers. Click a tile to filter to its segment."), lg=7),
            dbc.Col(panel("Recency x frequency scores", graph("segments-grid", height=420),
                          subtitle="Customers per score cell; hover a cell for its segment."), lg=5),
        ]),
        panel("Segments: size, value and suggested action", _segment_table(),
              subtitle="Means are per customer of the segment. Click a row to filter to its segment."),
        panel("Segment migration", html.Div(id="segments-migration-note", className="small text-secondary mb-1"),
              graph("segments-migration", height=520), actions=migration_actions, subtitle=dates,
              panel_id="segments-migration-panel"),
        dbc.Row([
            dbc.Col(panel("RFM distributions", graph("segments-histograms", height=340),
                          actions=page_option("scale", options["scale"], (("log", "Log"), ("linear", "Linear")),
                                              label="Scale")), lg=12),
        ]),
        dbc.Row([
            dbc.Col(panel("Box plots", html.Div(id="segments-outlier-note", className="small text-secondary mb-1"),
                          graph("segments-boxes", height=340),
                          actions=page_option("outliers", options["outliers"],
                                              (("show", "Show"), ("hide", "Hide")), label="Outliers")), lg=7),
            dbc.Col(panel("Revenue concentration", graph("segments-lorenz", height=374)), lg=5),
        ]),
        panel("Customers", customer_list_view("segments", view, canonical_query(view, OPTIONS))),
    ])


def _segment_table():
    grid = data_grid("segments-table", _TABLE_COLUMNS, page_size=20)
    grid.getRowId = "params.data.segment"  # cellClicked then carries the segment as rowId
    return grid


_ONE_DECIMAL = {"function": "params.value == null ? '' : d3.format(',.1f')(params.value)"}
# 11 rows: no column filters (more room for the headers), headers wrap instead of being cut
_HEADER = {"wrapHeaderText": True, "autoHeaderHeight": True, "filter": False}
_TABLE_COLUMNS = [
    column("segment", "Segment", minWidth=150, maxWidth=170, pinned="left", filter=False),
    column("customers", "Customers", "int", minWidth=100, maxWidth=115, **_HEADER),
    column("share", "Share of customers", "pct", minWidth=100, maxWidth=115, **_HEADER),
    column("revenue_share", "Share of revenue", "pct", minWidth=100, maxWidth=115, **_HEADER),
    column("mean_recency", "Mean recency (days)", "float", valueFormatter=_ONE_DECIMAL, minWidth=95,
           maxWidth=120, **_HEADER),
    column("mean_frequency", "Mean orders", "float", valueFormatter=_ONE_DECIMAL, minWidth=95, maxWidth=110,
           **_HEADER),
    column("mean_monetary", "Mean net revenue (£)", "money", minWidth=112, maxWidth=125, **_HEADER),
    column("description", "What it means · suggested action", flex=4, minWidth=280, wrapText=True,
           autoHeight=True, sortable=False, filter=False,
           cellStyle={"lineHeight": "1.35", "paddingTop": "6px", "paddingBottom": "6px"}),
]


# --------------------------------------------------------------------------
# data of the view: the report's tables without filters, the same functions on the selection with them


def _summary(view: View) -> pd.DataFrame:
    return view.report.segments if view.filters.is_empty else segment_summary(view.selected_customers)


def _score_grid(view: View) -> pd.DataFrame:
    return view.report.segment_grid if view.filters.is_empty else rfm_segment_grid(view.selected_customers)


def _migration(view: View) -> SegmentMigration:
    migration = view.report.migration
    return migration if view.filters.is_empty else migration.restrict(view.selected_customers.index)


def _concentration(view: View) -> tuple[dict | None, pd.DataFrame | None]:
    if view.filters.is_empty:
        return view.report.concentration, view.report.lorenz
    monetary = view.selected_customers["monetary"]
    try:
        return revenue_concentration(monetary), lorenz_curve(monetary)
    except InsufficientDataError:
        return None, None


# --------------------------------------------------------------------------
# treemap, table, score grid


@callback(Output("segments-treemap", "figure"), Output("segments-table", "rowData"),
          Output("segments-grid", "figure"), Input(query_store_id(PAGE_ID), "data"))
def update_segments(query):
    query = _query(query)
    view = View(current_context(), query)
    if view.selected_customers.empty:
        return message_figure(_NO_MATCH, height=420), [], message_figure(_NO_MATCH, height=420)
    summary = _summary(view)
    return _treemap(summary), _table_rows(summary), _grid_figure(_score_grid(view))


def _treemap(summary: pd.DataFrame) -> go.Figure:
    present = summary[summary["customers"] > 0]
    custom = np.column_stack([present[c].to_numpy(dtype=float) for c in (
        "share", "revenue", "revenue_share", "mean_recency", "mean_frequency", "mean_monetary")])
    figure = go.Figure(go.Treemap(
        labels=list(present.index), parents=[""] * len(present), values=present["customers"].tolist(),
        ids=list(present.index), name="Segments", customdata=custom, sort=True,
        marker={"colors": [SEGMENT_COLOURS[s] for s in present.index], "line": {"color": "white", "width": 2}},
        texttemplate="<b>%{label}</b><br>%{value:,} · %{customdata[0]:.1%}",
        hovertemplate=("<b>%{label}</b><br>%{value:,} customers (%{customdata[0]:.1%})<br>"
                       "Revenue £%{customdata[1]:,.0f} (%{customdata[2]:.1%} of revenue)<br>"
                       "Mean recency %{customdata[3]:,.0f} days · %{customdata[4]:,.1f} orders · "
                       "£%{customdata[5]:,.0f}<extra></extra>"),
        tiling={"pad": 2}, pathbar={"visible": False},
    ))
    figure.update_layout(margin={"l": 4, "r": 4, "t": 4, "b": 4})
    return themed(figure, height=420)


def _table_rows(summary: pd.DataFrame) -> list[dict]:
    table = summary.reset_index()
    table = table.astype({c: "object" for c in table.columns}).where(table.notna(), None)
    return table.to_dict("records")


def _grid_figure(grid: pd.DataFrame) -> go.Figure:
    cells = pd.DataFrame([(r, f) for r in grid.index for f in grid.columns], columns=["r_score", "f_score"])
    names = assign_segments(cells).astype("str").to_numpy().reshape(grid.shape)
    figure = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=[str(f) for f in grid.columns], y=[str(r) for r in grid.index], name="Customers",
        customdata=names, colorscale=SEQUENTIAL, texttemplate="%{z:,}", textfont={"size": 13},
        colorbar={"title": {"text": "Customers", "side": "right"}, "thickness": 12},
        hovertemplate="R %{y} · F %{x}: <b>%{customdata}</b><br>%{z:,} customers<extra></extra>", xgap=2, ygap=2,
    ))
    figure.update_layout(xaxis={"title": "F score (5 = most orders)", "type": "category"},
                         yaxis={"title": "R score (5 = most recent)", "type": "category"},
                         margin={"l": 60, "r": 10, "t": 10, "b": 50})
    return themed(figure, height=420)


# --------------------------------------------------------------------------
# migration


@callback(Output("segments-migration", "figure"), Output("segments-migration-note", "children"),
          Input(query_store_id(PAGE_ID), "data"))
def update_migration(query):
    query = _query(query)
    view = View(current_context(), query)
    options = page_options(query, OPTIONS)
    migration = _migration(view)
    moved = int(migration.counts.to_numpy().sum())
    if moved == 0:
        return message_figure(_NO_MATCH, height=520), ""
    stayed = migration.stayed_share()
    new = int(migration.counts.loc[NOT_YET_CUSTOMER].sum())
    note = (f"{moved:,} customers: {new:,} first ordered in the period; "
            f"{percent(stayed)} of the earlier customers kept their segment.")
    if options["migration"] == "matrix":
        return _migration_matrix(migration, options["migration_value"]), note
    figure, dropped = _migration_sankey(migration, options["migration_value"])
    if dropped:
        note += f" {dropped:,} moves with zero or negative revenue in the period are not drawn."
    return figure, note


def _rgba(colour: str, alpha: float) -> str:
    colour = colour.lstrip("#")
    red, green, blue = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red},{green},{blue},{alpha})"


def _node_colour(segment: str) -> str:
    return SEGMENT_COLOURS.get(segment, NEW_NODE_COLOUR)


def _migration_sankey(migration: SegmentMigration, value: str) -> tuple[go.Figure, int]:
    """Previous segment (left) -> current segment (right); returns the figure and the
    number of non-empty cells left out because their revenue is not positive."""
    long = migration.to_long()
    long = long[long["customers"] > 0]
    drawn = long if value == "customers" else long[long["revenue"] > 0]
    dropped = len(long) - len(drawn)
    if drawn.empty:
        return message_figure("No positive revenue in the period for these customers.", height=520), dropped
    left = [s for s in PREVIOUS_ORDER if s in set(drawn["previous"])]
    right = [s for s in SEGMENT_ORDER if s in set(drawn["current"])]
    left_at, right_at = {s: i for i, s in enumerate(left)}, {s: len(left) + i for i, s in enumerate(right)}
    weights = drawn[value].to_numpy(dtype=float)
    unit = "customers" if value == "customers" else "£ of revenue"
    figure = go.Figure(go.Sankey(
        arrangement="snap", valueformat=",.0f",
        node={"label": left + right, "color": [_node_colour(s) for s in left + right], "pad": 12,
              "thickness": 16, "line": {"color": "#555555", "width": 0.5},
              "x": [0.001] * len(left) + [0.999] * len(right),
              "y": _node_positions(drawn, left, "previous", value) + _node_positions(drawn, right, "current", value),
              "hovertemplate": ("%{label}: %{value:,.0f} " + unit + "<extra></extra>") if value == "customers"
              else "%{label}: £%{value:,.0f}<extra></extra>"},
        link={"source": [left_at[s] for s in drawn["previous"]], "target": [right_at[s] for s in drawn["current"]],
              "value": weights.tolist(),
              "color": [_rgba(_node_colour(s), 0.4) if s != NOT_YET_CUSTOMER else "rgba(150,150,150,0.35)"
                        for s in drawn["previous"]],
              "customdata": np.column_stack([drawn["customers"].to_numpy(dtype=float),
                                             drawn["revenue"].to_numpy(dtype=float)]),
              "hovertemplate": ("%{source.label} → %{target.label}<br>%{customdata[0]:,.0f} customers<br>"
                                "£%{customdata[1]:,.0f} net revenue in the period<extra></extra>")},
    ))
    figure.add_annotation(text=f"<b>On {migration.previous_date:%Y-%m-%d}</b>", x=0, y=1.06, xref="paper",
                          yref="paper", showarrow=False, xanchor="left")
    figure.add_annotation(text=f"<b>On {migration.snapshot_date:%Y-%m-%d} (snapshot)</b>", x=1, y=1.06,
                          xref="paper", yref="paper", showarrow=False, xanchor="right")
    figure.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10}, font={"size": 12})
    return themed(figure, height=520), dropped


def _node_positions(drawn: pd.DataFrame, nodes: list[str], side: str, value: str) -> list[float]:
    """Vertical centres of one column of nodes, stacked in segment order (0 = top)."""
    sizes = drawn.groupby(side, observed=True)[value].sum().reindex(nodes).fillna(0).to_numpy(dtype=float)
    total = sizes.sum()
    if total <= 0:
        return [0.5] * len(nodes)
    gap = 0.02
    usable = max(1.0 - gap * (len(nodes) - 1), 0.3)
    heights = sizes / total * usable
    tops = np.concatenate([[0.0], np.cumsum(heights + gap)[:-1]])
    return [float(min(max(t + h / 2, 0.001), 0.999)) for t, h in zip(tops, heights)]


def _migration_matrix(migration: SegmentMigration, value: str) -> go.Figure:
    grid = migration.counts if value == "customers" else migration.revenue
    z = grid.to_numpy(dtype=float)
    z = np.where(migration.counts.to_numpy() > 0, z, np.nan)  # nobody made that move: a blank cell
    if value == "customers":
        text = [[f"{v:,.0f}" if not np.isnan(v) else "" for v in row] for row in z]
        hover = "%{y} → %{x}<br>%{z:,.0f} customers<extra></extra>"
        title = "Customers"
    else:
        text = [[_short_money(v) if not np.isnan(v) else "" for v in row] for row in z]
        hover = "%{y} → %{x}<br>£%{z:,.2f} net revenue in the period<extra></extra>"
        title = "Revenue (£)"
    figure = go.Figure(go.Heatmap(
        z=z, x=list(grid.columns), y=list(grid.index), text=text, texttemplate="%{text}", name=title,
        colorscale=SEQUENTIAL, hovertemplate=hover, xgap=1, ygap=1, textfont={"size": 11}, hoverongaps=False,
        colorbar={"title": {"text": title, "side": "right"}, "thickness": 12},
    ))
    figure.update_layout(
        xaxis={"title": f"Segment on the snapshot {migration.snapshot_date:%Y-%m-%d}", "side": "bottom",
               "tickangle": -30},
        yaxis={"title": f"Segment on {migration.previous_date:%Y-%m-%d}", "autorange": "reversed"},
        margin={"l": 150, "r": 10, "t": 10, "b": 110}, plot_bgcolor="#f8f9fa",
    )
    return themed(figure, height=520)


def _short_money(value: float) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1e6:
        return f"{sign}£{value / 1e6:.1f}m"
    if value >= 1e3:
        return f"{sign}£{value / 1e3:.1f}k"
    return f"{sign}£{value:.0f}"


# --------------------------------------------------------------------------
# distributions and box plots


@callback(Output("segments-histograms", "figure"), Output("segments-boxes", "figure"),
          Output("segments-outlier-note", "children"), Input(query_store_id(PAGE_ID), "data"))
def update_distributions(query):
    query = _query(query)
    view = View(current_context(), query)
    options = page_options(query, OPTIONS)
    customers = view.selected_customers
    if customers.empty:
        return message_figure(_NO_MATCH, height=340), message_figure(_NO_MATCH, height=340), ""
    boxes, note = _boxes(customers, show=options["outliers"] == "show")
    return _histograms(customers, log=options["scale"] == "log"), boxes, note


def _histograms(customers: pd.DataFrame, *, log: bool) -> go.Figure:
    figure = make_subplots(rows=1, cols=len(FEATURES), subplot_titles=[t for t, _, _ in FEATURES.values()],
                           horizontal_spacing=0.08)
    notes = []
    for i, (feature, (title, axis, _)) in enumerate(FEATURES.items(), start=1):
        hist = histogram(customers[feature], bins=HISTOGRAM_BINS, log=log)
        dropped = hist.attrs.get("dropped", 0)
        if dropped:
            notes.append(f"{dropped:,} customers with {title.lower()} ≤ 0 are not on the log scale")
        if hist.empty:
            continue
        # a step outline (exact bin edges, also on a log axis) filled to zero
        x = np.append(hist["left"].to_numpy(), hist["right"].iloc[-1])
        y = np.append(hist["count"].to_numpy(), hist["count"].iloc[-1])
        custom = np.column_stack([np.append(hist["left"], hist["right"].iloc[-1]),
                                  np.append(hist["right"], hist["right"].iloc[-1]),
                                  np.append(hist["share"], hist["share"].iloc[-1])])
        unit = "£" if feature == "monetary" else ""
        suffix = {"recency": " days", "frequency": " orders", "monetary": ""}[feature]
        figure.add_scatter(
            x=x, y=y, name=title, mode="lines", line={"shape": "hv", "color": OKABE_ITO[0], "width": 1.5},
            fill="tozeroy", fillcolor=_rgba(OKABE_ITO[0], 0.35), customdata=custom, showlegend=False,
            hovertemplate=(f"{unit}%{{customdata[0]:,.1f}} to {unit}%{{customdata[1]:,.1f}}{suffix}<br>"
                           "%{y:,} customers (%{customdata[2]:.1%})<extra></extra>"),
            row=1, col=i,
        )
        figure.update_xaxes(title_text=axis + (" (log scale)" if log else ""), type="log" if log else "linear",
                            row=1, col=i)
    figure.update_yaxes(title_text="Customers", row=1, col=1)
    if notes:
        figure.add_annotation(text="; ".join(notes) + ".", x=0, y=-0.32, xref="paper", yref="paper",
                              showarrow=False, xanchor="left", font={"size": 11, "color": "#6c757d"})
    figure.update_layout(margin={"l": 60, "r": 20, "t": 30, "b": 70 if notes else 50})
    return themed(figure, height=340)


def _boxes(customers: pd.DataFrame, *, show: bool) -> tuple[go.Figure, str]:
    figure = make_subplots(rows=1, cols=len(FEATURES), subplot_titles=[t for t, _, _ in FEATURES.values()],
                           horizontal_spacing=0.12)
    counts, sampled = [], []
    for i, (feature, (title, axis, hover)) in enumerate(FEATURES.items(), start=1):
        values = customers[feature]
        box = box_summary(values)
        counts.append(f"{box.outliers.count:,} {title.lower()}")
        figure.add_box(
            x=[title], q1=[box.q1], median=[box.median], q3=[box.q3], lowerfence=[box.lower_whisker],
            upperfence=[box.upper_whisker], name=title, marker_color=OKABE_ITO[0], fillcolor=_rgba(OKABE_ITO[0], 0.3),
            boxpoints=False, showlegend=False, hoverinfo="y", row=1, col=i,
        )
        if show and box.outliers.count:
            flagged = values[box.outliers.flags.to_numpy(dtype=bool)]
            if len(flagged) > MAX_OUTLIER_POINTS:
                sampled.append(f"{MAX_OUTLIER_POINTS:,} of {len(flagged):,} {title.lower()} outliers drawn")
                flagged = flagged.sample(MAX_OUTLIER_POINTS, random_state=0)
            figure.add_scatter(
                x=[title] * len(flagged), y=flagged.to_numpy(dtype=float), name=f"{title} outliers", mode="markers",
                marker={"color": OKABE_ITO[5], "size": 5, "symbol": "circle-open"},
                customdata=np.asarray(flagged.index, dtype=object), showlegend=False,
                hovertemplate=f"Customer %{{customdata}}: {hover}<extra>outlier</extra>", row=1, col=i,
            )
        figure.update_yaxes(title_text=axis, row=1, col=i)
    figure.update_xaxes(showticklabels=False)
    figure.update_layout(margin={"l": 60, "r": 20, "t": 30, "b": 20})
    total = "; ".join(counts)
    if show:
        note = f"IQR outliers (beyond 1.5 x IQR): {total}."
        if sampled:
            note += " " + "; ".join(sampled) + "."
    else:
        note = f"Hidden IQR outliers (beyond 1.5 x IQR): {total}. The boxes still describe every customer."
    return themed(figure, height=340), note


# --------------------------------------------------------------------------
# revenue concentration


@callback(Output("segments-lorenz", "figure"), Input(query_store_id(PAGE_ID), "data"))
def update_concentration(query):
    query = _query(query)
    view = View(current_context(), query)
    if view.selected_customers.empty:
        return message_figure(_NO_MATCH, height=374)
    stats, lorenz = _concentration(view)
    if stats is None or lorenz is None:
        return message_figure("No customer has positive net revenue: no concentration to show.", height=374)
    figure = go.Figure()
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="Equality", line={"color": "#999999", "dash": "dash"},
                       hoverinfo="skip")
    figure.add_scatter(x=lorenz["customer_share"], y=lorenz["revenue_share"], mode="lines", name="Lorenz curve",
                       line={"color": OKABE_ITO[0], "width": 2.5}, fill="tonexty", fillcolor=_rgba(OKABE_ITO[0], 0.12),
                       hovertemplate=("The smallest %{x:.0%} of customers<br>bring %{y:.1%} of net revenue"
                                      "<extra></extra>"))
    top = [(0.01, "top_1pct_share", "Top 1%"), (0.10, "top_10pct_share", "Top 10%"),
           (0.20, "top_20pct_share", "Top 20%")]
    figure.add_scatter(x=[1 - share for share, _, _ in top], y=[1 - stats[key] for _, key, _ in top],
                       mode="markers", name="Top customers", marker={"color": OKABE_ITO[5], "size": 8},
                       customdata=[[label, stats[key]] for _, key, label in top],
                       hovertemplate="%{customdata[0]} of customers: %{customdata[1]:.1%} of revenue<extra></extra>")
    lines = [f"<b>Gini {stats['gini']:.2f}</b>"] + [f"{label} of customers: {percent(stats[key])} of revenue"
                                                    for _, key, label in top]
    figure.add_annotation(text="<br>".join(lines), x=0.02, y=0.98, xref="paper", yref="paper", showarrow=False,
                          xanchor="left", yanchor="top", align="left", bgcolor="rgba(255,255,255,0.85)",
                          bordercolor="#dddddd", borderwidth=1, font={"size": 12})
    figure.update_layout(
        xaxis={"title": "Share of customers (smallest spenders first)", "tickformat": ".0%", "range": [0, 1]},
        yaxis={"title": "Cumulative share of net revenue", "tickformat": ".0%", "range": [0, 1.02]},
        legend={"orientation": "h", "y": -0.3, "x": 0}, margin={"l": 60, "r": 20, "t": 10, "b": 95},
    )
    return themed(figure, height=374)


# --------------------------------------------------------------------------
# click a tile or a row: filter to that segment


@callback(Output("url", "search", allow_duplicate=True),
          Input("segments-treemap", "clickData"), Input("segments-table", "cellClicked"),
          State(query_store_id(PAGE_ID), "data"), prevent_initial_call=True)
def filter_to_segment(click, cell, query):
    segment = clicked_segment(dash_ctx.triggered_id, click, cell)
    return segment_query(_query(query), segment) or no_update


def clicked_segment(trigger, click, cell) -> str | None:
    """The segment named by a treemap click or a table cell click (None for anything else)."""
    if trigger == "segments-treemap" and isinstance(click, dict):
        points = click.get("points")
        point = points[0] if isinstance(points, list) and points and isinstance(points[0], dict) else {}
        segment = point.get("label") or point.get("id")
    elif trigger == "segments-table" and isinstance(cell, dict):
        segment = cell.get("rowId") or (cell.get("value") if cell.get("colId") == "segment" else None)
    else:
        return None
    return segment if isinstance(segment, str) and segment in SEGMENT_ORDER else None


def segment_query(query: str | None, segment: str | None) -> str | None:
    """The page's query with the segment filter set to ``segment`` (None if it is not a segment)."""
    if not isinstance(segment, str) or segment not in SEGMENT_ORDER:
        return None
    filters = replace(Filters.from_query(query), segments=(segment,))
    options = {k: v for k, v in parse_query(query).items() if k not in QUERY_KEYS}
    return build_query(filters, options)
