"""portal.dashboard.components.figures: the template travels as data, without a per-figure deep copy."""
from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio

from portal.dashboard.components.figures import message_figure, themed
from portal.dashboard.components.palette import COLOURWAY


def test_themed_figure_serialises_with_the_portal_template():
    figure = themed(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), height=333, title="Sales")
    sent = json.loads(pio.to_json(figure))  # what Dash sends to the browser
    assert sent["layout"]["template"]["layout"]["colorway"] == COLOURWAY
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


def test_palette_gives_each_colour_one_meaning():
    """The named colours, the risk bands and the segments never share a colour, and no segment
    or cluster uses the risk oranges (the issue: orange meant five things)."""
    from portal.dashboard.components import palette

    named = [palette.MEASURE, palette.NEW, palette.GUESTS, palette.INK, palette.RETURNS, palette.REFERENCE,
             palette.SELECTED]
    risks = list(palette.RISK_COLOURS.values())
    assert len(set(named + risks)) == len(named) + len(risks)
    segments = list(palette.SEGMENT_COLOURS.values())
    assert len(set(segments)) == len(segments)
    assert not set(segments) & set(risks + [palette.MEASURE, palette.NEW])
    assert not set(palette.CLUSTER_COLOURS) & set(risks)


def test_money_writer_uses_the_tenants_currency():
    from types import SimpleNamespace

    from portal.dashboard.money import money_format

    usd, yen, unknown = (money_format(SimpleNamespace(currency=c)) for c in ("USD", "JPY", "XXX-not"))
    assert usd(1234.5) == "$1,234" and usd(12.5) == "$12.50" and usd.label("Net revenue") == "Net revenue ($)"
    assert yen(1234.5) == "¥1,234" and yen.axis()["tickprefix"] == "¥"  # half to even
    assert unknown(3) == "£3.00" and money_format(object()).code == "GBP"
    assert usd.hover("y") == "$%{y:,.0f}"
