"""Figure helpers: one Plotly template and colour-blind-safe scales for every page.

Categorical colours are the Okabe-Ito palette (safe for the common colour-vision
deficiencies); RFM segments get fixed colours so a segment looks the same on
every chart.  Sequential scales are Cividis (perceptually uniform and readable
with deuteranopia); diverging ones PuOr.  Every figure goes through
:func:`themed`, and an empty or unusable result becomes :func:`message_figure`
rather than an empty axis.
"""
from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from ..money import GBP, MoneyFormat
from .palette import COLOURWAY, DIVERGING, GRID, MUTED_TEXT, RISK_COLOURS, SEGMENT_COLOURS, SEQUENTIAL  # noqa: F401

#: Okabe-Ito, kept for figures not yet moved to the named colours of :mod:`.palette`.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

pio.templates["portal"] = go.layout.Template(
    layout=go.Layout(
        font={"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12},
        colorway=COLOURWAY,
        margin={"l": 50, "r": 20, "t": 30, "b": 40},
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis={"gridcolor": GRID, "zerolinecolor": "#dddddd"},
        yaxis={"gridcolor": GRID, "zerolinecolor": "#dddddd"},
        legend={"orientation": "h", "y": -0.2},
        hoverlabel={"bgcolor": "white"},
        colorscale={"sequential": SEQUENTIAL, "diverging": DIVERGING},
    )
)


#: Figures are built without a template: applying one by name deep-copies and validates
#: it into every figure, two thirds of a typical callback's time.  :func:`themed` adds the
#: portal's template as plain data when the figure is serialised for the browser.
pio.templates.default = "none"
_TEMPLATE = pio.templates["portal"].to_plotly_json()


class ThemedFigure(go.Figure):
    """A figure whose JSON (what Dash sends) carries the portal template."""

    def to_plotly_json(self) -> dict:
        data = super().to_plotly_json()
        data.setdefault("layout", {})["template"] = _TEMPLATE
        return data

    def to_dict(self) -> dict:
        data = super().to_dict()
        data.setdefault("layout", {})["template"] = _TEMPLATE
        return data


def themed(figure: go.Figure, *, height: int = 360, title: str | None = None) -> ThemedFigure:
    """The portal template and a fixed height (so loading spinners don't jump)."""
    figure.update_layout(height=height)
    if title:
        figure.update_layout(title={"text": title, "x": 0, "font": {"size": 14}})
    figure.__class__ = ThemedFigure  # same object, no copy: only serialisation changes
    return figure


def message_figure(message: str, *, height: int = 360) -> ThemedFigure:
    """An empty chart that says why it is empty (no axes, a centred note)."""
    figure = go.Figure()
    figure.add_annotation(text=message, showarrow=False, font={"size": 14, "color": MUTED_TEXT},
                          xref="paper", yref="paper", x=0.5, y=0.5)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return themed(figure, height=height)


def money(value: float | None, writer: MoneyFormat = GBP) -> str:
    """An amount in the tenant's currency (``view.money``): whole units from 1,000 up, else
    with the minor units (:class:`portal.dashboard.money.MoneyFormat`)."""
    return writer(value)


def percent(value: float | None, digits: int = 1) -> str:
    if value is None or value != value:
        return "–"
    return f"{value * 100:.{digits}f}%"


def count(value: float | None) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:,.0f}"
