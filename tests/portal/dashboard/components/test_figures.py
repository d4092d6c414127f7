"""portal.dashboard.components.figures: the template travels as data, without a per-figure deep copy."""
from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio

from portal.dashboard.components.figures import OKABE_ITO, message_figure, themed


def test_themed_figure_serialises_with_the_portal_template():
    figure = themed(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), height=333, title="Sales")
    sent = json.loads(pio.to_json(figure))  # what Dash sends to the browser
    assert sent["layout"]["template"]["layout"]["colorway"] == OKABE_ITO
    assert sent["layout"]["height"] == 333 and sent["layout"]["title"]["text"] == "Sales"
    assert list(go.Figure(figure).data[0].y) == [1, 2]
    assert figure.to_dict()["layout"]["template"]["layout"]["font"]["size"] == 12


def test_plain_figures_get_no_default_styling():
    template = go.Figure().to_plotly_json()["layout"].get("template", {})
    assert "colorway" not in template.get("layout", {})  # plotly's "none", nothing copied per figure


def test_message_figure_says_why():
    figure = message_figure("No data yet").to_plotly_json()
    assert figure["layout"]["annotations"][0]["text"] == "No data yet"
    assert figure["layout"]["xaxis"]["visible"] is False
