"""Figures of the Geography page: the world map and the country bars.

Built from analytics tables; the page module wires them to its callbacks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..money import GBP, MoneyFormat
from .figures import SEQUENTIAL, count, message_figure, themed
from .palette import MEASURE, SELECTED


MAP_HEIGHT = 460
#: metric option -> (column of country_summary, label, money?)
METRICS: dict[str, tuple[str, str, bool]] = {
    "revenue": ("revenue", "Net revenue", True),
    "customers": ("customers", "Customers", False),
    "aov": ("average_order_value", "Average order value", True),
    "new_customers": ("new_customers", "New customers", False),
}
#: ISO-3 codes of European countries: when every mapped country is one, the map frames Europe.
EUROPE = frozenset({
    "ALB", "AND", "AUT", "BEL", "BGR", "BIH", "BLR", "CHE", "CYP", "CZE", "DEU", "DNK", "ESP", "EST",
    "FIN", "FRA", "FRO", "GBR", "GGY", "GIB", "GRC", "HRV", "HUN", "IMN", "IRL", "ISL", "ITA", "JEY",
    "LIE", "LTU", "LUX", "LVA", "MCO", "MDA", "MKD", "MLT", "MNE", "NLD", "NOR", "POL", "PRT", "ROU",
    "SMR", "SRB", "SVK", "SVN", "SWE", "UKR", "VAT", "XKX",
})
SELECTED_LINE = SELECTED  # the selected countries' outline and bars (palette: what the user selected)
NO_VALUE_GREY = "#d9d9d9"


def bars_figure(summary: pd.DataFrame, metric: str, scale: str, selected: set[str], n: int = 15,
                money: MoneyFormat = GBP) -> go.Figure:
    """The ``n`` countries with the largest metric (trace "bars"; ``customdata[:, 0]`` = country)."""
    field, label, is_money = METRICS[metric]
    table = summary.sort_values(field, ascending=False, kind="stable", na_position="last").head(n).iloc[::-1]
    names = table.index.to_numpy(dtype=object)
    shown = [f"{name}{'' if pd.notna(code) else ' *'}" for name, code in zip(names, table["iso3"])]
    unit, fmt = (money.symbol, ",.2f" if metric == "aov" else ",.0f") if is_money else ("", ",.0f")
    figure = go.Figure(go.Bar(
        x=table[field], y=shown, orientation="h", name="bars",
        marker_color=[SELECTED_LINE if name in selected else MEASURE for name in names],
        customdata=np.column_stack([names, table["revenue_share"]]),
        hovertemplate=f"<b>%{{customdata[0]}}</b>: {unit}%{{x:{fmt}}} {label.lower()}"
                      "<br>%{customdata[1]:.1%} of net revenue<extra></extra>",
    ))
    note = " (* not on the map)" if table["iso3"].isna().any() else ""
    figure.update_layout(
        xaxis={"title": f"{money.label(label) if is_money else label}{', log scale' if scale == 'log' else ''}{note}",
               "type": "log" if scale == "log" else "linear", "tickprefix": unit, "showtickprefix": "all",
               "tickformat": ",.0f" if is_money else ",d", "nticks": 4, "exponentformat": "none"},
        yaxis={"automargin": True, "type": "category"}, margin={"l": 10, "r": 20, "t": 10}, clickmode="event",
    )
    return themed(figure, height=MAP_HEIGHT)


def map_figure(summary: pd.DataFrame, metric: str, scale: str, selected: set[str],
               money: MoneyFormat = GBP) -> go.Figure:
    """Choropleth (trace "map": ``locations`` ISO-3, ``z`` the metric; on the log scale
    ``z`` = log10 of it) plus the grey countries without a value to colour."""
    field, label, is_money = METRICS[metric]
    mapped = summary[summary["iso3"].notna()]
    if mapped.empty:
        return message_figure("None of these countries can be drawn on a map: see the list below.",
                              height=MAP_HEIGHT)
    values = mapped[field].to_numpy(dtype=float)
    colourable = np.isfinite(values) & ((values > 0) if scale == "log" else True)
    value_fmt = ":,.2f" if metric == "aov" else ":,.0f"
    unit = money.symbol if is_money else ""
    hover = ("<b>%{customdata[0]}</b><br>" + label + f": {unit}%{{customdata[1]{value_fmt}}}"
             + ("" if metric == "aov" else " (%{customdata[2]:.1%} of the total)")
             + ("<br>Orders: %{customdata[4]:,}" if metric == "revenue"
                else "<br>Net revenue: " + money.hover("customdata[3]") + " · orders: %{customdata[4]:,}")
             + "<br>Customers: %{customdata[5]:,} · new: %{customdata[6]:,}<extra></extra>")
    total = summary[field].sum() if metric != "aov" else np.nan
    shares = mapped[field].to_numpy(dtype=float) / total if total and np.isfinite(total) else np.full(len(mapped), np.nan)
    customdata = np.column_stack([
        mapped.index.to_numpy(dtype=object), values, shares, mapped["revenue"].to_numpy(),
        mapped["orders"].to_numpy(), mapped["customers"].to_numpy(), mapped["new_customers"].to_numpy(),
    ])
    outline = np.array([name in selected for name in mapped.index])
    line = {"color": np.where(outline, SELECTED_LINE, "#ffffff").tolist(),
            "width": np.where(outline, 2.5, 0.5).tolist()}

    figure = go.Figure()
    if (~colourable).any():
        rest = ~colourable
        figure.add_trace(go.Choropleth(
            locations=mapped["iso3"].to_numpy()[rest], z=np.zeros(rest.sum()), locationmode="ISO-3",
            name="no value", colorscale=[[0, NO_VALUE_GREY], [1, NO_VALUE_GREY]], showscale=False,
            customdata=customdata[rest], hovertemplate=hover,
            marker={"line": {"color": np.array(line["color"])[rest].tolist(),
                             "width": np.array(line["width"])[rest].tolist()}},
        ))
    z = values[colourable]
    colorbar: dict = {"title": {"text": money.label(label) if is_money else label}, "thickness": 12, "len": 0.8}
    if scale == "log":
        z = np.log10(z)
        ticks = _log_ticks(z)
        colorbar.update(tickvals=np.log10(ticks).tolist(),
                        ticktext=[(money(t, 0) if is_money else count(t)) for t in ticks])
    elif is_money:
        colorbar.update(money.axis())
    if colourable.any():
        figure.add_trace(go.Choropleth(
            locations=mapped["iso3"].to_numpy()[colourable], z=z, locationmode="ISO-3", name="map",
            colorscale=SEQUENTIAL, customdata=customdata[colourable], hovertemplate=hover, colorbar=colorbar,
            marker={"line": {"color": np.array(line["color"])[colourable].tolist(),
                             "width": np.array(line["width"])[colourable].tolist()}},
        ))
    figure.update_geos(scope="world", resolution=110, showframe=False, showcountries=True, countrycolor="#bbbbbb",
                       countrywidth=0.5, showcoastlines=False, showland=True, landcolor="#f4f4f4", bgcolor="white")
    if set(mapped["iso3"]) <= EUROPE:
        figure.update_geos(projection_type="mercator", lonaxis_range=[-25, 45], lataxis_range=[34, 69])
    else:
        figure.update_geos(projection_type="equirectangular", lataxis_range=[-58, 85])
    figure.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0}, clickmode="event")
    return themed(figure, height=MAP_HEIGHT)


def _log_ticks(z: np.ndarray) -> list[float]:
    """1-2-5 ticks spanning 10**z."""
    low, high = float(np.floor(z.min())), float(np.ceil(z.max()))
    ticks = [m * 10 ** e for e in range(int(low), int(high) + 1) for m in (1, 2, 5)]
    inside = [t for t in ticks if z.min() - 1e-9 <= np.log10(t) <= z.max() + 1e-9]
    return inside if len(inside) >= 2 else [10 ** z.min(), 10 ** z.max()]
