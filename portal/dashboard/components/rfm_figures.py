"""Figures of the RFM segments page: segment migration (Sankey and matrix) and the
RFM distributions (histograms, box plots with IQR outliers).

Builders take analytics results and return Plotly figures; they compute nothing
the analytics layer does not already give (``box_summary``, ``histogram``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.distributions import box_summary, histogram
from analytics.migration import NOT_YET_CUSTOMER, PREVIOUS_ORDER, SegmentMigration
from analytics.rfm import SEGMENT_ORDER

from ..money import GBP, MoneyFormat
from .figures import SEQUENTIAL, message_figure, themed
from .palette import INK, MEASURE, REFERENCE, SEGMENT_COLOURS, UNKNOWN_SEGMENT

#: The RFM columns drawn as distributions: column -> (title, axis title, hover format).
FEATURES: dict[str, tuple[str, str, str]] = {
    "recency": ("Recency", "Days", "%{y:,.0f} days since the last order"),
    "frequency": ("Frequency", "Orders", "%{y:,.0f} orders"),
    "monetary": ("Monetary", "Net revenue (¤)", "¤%{y:,.2f}"),  # ¤: the tenant's currency symbol
}
HISTOGRAM_BINS = 30
#: At most this many outlier points per box plot are drawn (a deterministic sample beyond).
MAX_OUTLIER_POINTS = 2000
NEW_NODE_COLOUR = UNKNOWN_SEGMENT


def _features(money: MoneyFormat) -> dict[str, tuple[str, str, str]]:
    return {k: tuple(part.replace("¤", money.symbol) for part in v) for k, v in FEATURES.items()}


def rgba(colour: str, alpha: float) -> str:
    colour = colour.lstrip("#")
    red, green, blue = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red},{green},{blue},{alpha})"


def _node_colour(segment: str) -> str:
    return SEGMENT_COLOURS.get(segment, NEW_NODE_COLOUR)


def migration_sankey(migration: SegmentMigration, value: str, money: MoneyFormat = GBP) -> tuple[go.Figure, int]:
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
    unit = "customers" if value == "customers" else f"{money.symbol} of revenue"
    figure = go.Figure(go.Sankey(
        arrangement="snap", valueformat=",.0f",
        node={"label": left + right, "color": [_node_colour(s) for s in left + right], "pad": 18,
              "thickness": 16, "line": {"color": "#555555", "width": 0.5},
              "x": [0.001] * len(left) + [0.999] * len(right),
              "y": _node_positions(drawn, left, "previous", value) + _node_positions(drawn, right, "current", value),
              "hovertemplate": ("%{label}: %{value:,.0f} " + unit + "<extra></extra>") if value == "customers"
              else "%{label}: " + money.hover("value") + "<extra></extra>"},
        link={"source": [left_at[s] for s in drawn["previous"]], "target": [right_at[s] for s in drawn["current"]],
              "value": weights.tolist(),
              "color": [rgba(_node_colour(s), 0.4) if s != NOT_YET_CUSTOMER else "rgba(150,150,150,0.35)"
                        for s in drawn["previous"]],
              "customdata": np.column_stack([drawn["customers"].to_numpy(dtype=float),
                                             drawn["revenue"].to_numpy(dtype=float)]),
              "hovertemplate": ("%{source.label} → %{target.label}<br>%{customdata[0]:,.0f} customers<br>"
                                + money.hover("customdata[1]") + " net revenue in the period<extra></extra>")},
    ))
    figure.add_annotation(text=f"<b>On {migration.previous_date:%Y-%m-%d}</b>", x=0, y=1.06, xref="paper",
                          yref="paper", showarrow=False, xanchor="left")
    figure.add_annotation(text=f"<b>On {migration.snapshot_date:%Y-%m-%d} (snapshot)</b>", x=1, y=1.06,
                          xref="paper", yref="paper", showarrow=False, xanchor="right")
    # labels inside the flows' ends, away from each other: left labels right of their nodes, right
    # labels left of theirs (Plotly's default), in a smaller font with a halo so crossing flows stay readable
    figure.update_traces(textfont={"size": 11, "color": INK, "shadow": "1px 1px 2px white"})
    figure.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10}, font={"size": 12})
    return themed(figure, height=560), dropped


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


def migration_matrix(migration: SegmentMigration, value: str, money: MoneyFormat = GBP) -> go.Figure:
    grid = migration.counts if value == "customers" else migration.revenue
    z = grid.to_numpy(dtype=float)
    z = np.where(migration.counts.to_numpy() > 0, z, np.nan)  # nobody made that move: a blank cell
    if value == "customers":
        text = [[f"{v:,.0f}" if not np.isnan(v) else "" for v in row] for row in z]
        hover = "%{y} → %{x}<br>%{z:,.0f} customers<extra></extra>"
        title = "Customers"
    else:
        text = [[money(v, 0) if not np.isnan(v) else "" for v in row] for row in z]
        hover = "%{y} → %{x}<br>" + money.hover("z", 2) + " net revenue in the period<extra></extra>"
        title = money.label("Net revenue")
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


def _axis_numbers(feature: str, log: bool, money: MoneyFormat) -> dict:
    """Tick labels in full: currency prefix on money, never SI prefixes ("1p", "10n", "2k")."""
    out = {"exponentformat": "none", "tickformat": ",~r" if log else ",~r"}
    if feature == "monetary":
        out["tickprefix"] = money.symbol
    return out


def rfm_histograms(customers: pd.DataFrame, *, log: bool, money: MoneyFormat = GBP) -> go.Figure:
    features = _features(money)
    figure = make_subplots(rows=1, cols=len(features), subplot_titles=[t for t, _, _ in features.values()],
                           horizontal_spacing=0.08)
    notes = []
    for i, (feature, (title, axis, _)) in enumerate(features.items(), start=1):
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
        unit = money.symbol if feature == "monetary" else ""
        suffix = {"recency": " days", "frequency": " orders", "monetary": ""}[feature]
        figure.add_scatter(
            x=x, y=y, name=title, mode="lines", line={"shape": "hv", "color": MEASURE, "width": 1.5},
            fill="tozeroy", fillcolor=rgba(MEASURE, 0.35), customdata=custom, showlegend=False,
            hovertemplate=(f"{unit}%{{customdata[0]:,.1f}} to {unit}%{{customdata[1]:,.1f}}{suffix}<br>"
                           "%{y:,} customers (%{customdata[2]:.1%})<extra></extra>"),
            row=1, col=i,
        )
        figure.update_xaxes(title_text=axis + (", log" if log else ""), type="log" if log else "linear",
                            nticks=5, **_axis_numbers(feature, log, money), row=1, col=i)
    figure.update_yaxes(title_text="Customers", row=1, col=1)
    if notes:  # below the axis titles, inside the figure's own margin (never cut)
        figure.add_annotation(text="; ".join(notes) + ".", x=0, y=0, yshift=-62, xref="paper", yref="paper",
                              yanchor="top", showarrow=False, xanchor="left", font={"size": 11, "color": REFERENCE})
    figure.update_layout(margin={"l": 60, "r": 20, "t": 30, "b": 90 if notes else 50})
    return themed(figure, height=340)


def rfm_boxes(customers: pd.DataFrame, *, show: bool, money: MoneyFormat = GBP) -> tuple[go.Figure, str]:
    features = _features(money)
    figure = make_subplots(rows=1, cols=len(features), subplot_titles=[t for t, _, _ in features.values()],
                           horizontal_spacing=0.12)
    counts, sampled = [], []
    for i, (feature, (title, axis, hover)) in enumerate(features.items(), start=1):
        values = customers[feature]
        box = box_summary(values)
        counts.append(f"{box.outliers.count:,} {title.lower()}")
        figure.add_box(
            x=[title], q1=[box.q1], median=[box.median], q3=[box.q3], lowerfence=[box.lower_whisker],
            upperfence=[box.upper_whisker], name=title, marker_color=MEASURE, fillcolor=rgba(MEASURE, 0.3),
            boxpoints=False, showlegend=False, hoverinfo="y", row=1, col=i,
        )
        if show and box.outliers.count:
            flagged = values[box.outliers.flags.to_numpy(dtype=bool)]
            if len(flagged) > MAX_OUTLIER_POINTS:
                sampled.append(f"{MAX_OUTLIER_POINTS:,} of {len(flagged):,} {title.lower()} outliers drawn")
                flagged = flagged.sample(MAX_OUTLIER_POINTS, random_state=0)
            figure.add_scatter(
                x=[title] * len(flagged), y=flagged.to_numpy(dtype=float), name=f"{title} outliers", mode="markers",
                marker={"color": INK, "size": 5, "symbol": "circle-open"},
                customdata=np.asarray(flagged.index, dtype=object), showlegend=False,
                hovertemplate=f"Customer %{{customdata}}: {hover}<extra>outlier</extra>", row=1, col=i,
            )
        figure.update_yaxes(title_text=axis, title_standoff=4, nticks=6, **_axis_numbers(feature, False, money),
                            row=1, col=i)
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
