"""The portal's colours, one meaning per colour, written down once.

Every figure, table style and badge takes its colours from here; a page never
writes a hex code.  The rule a reader can rely on across the whole app:

=================  ===========  ==============================================
name               colour       meaning (and only this)
=================  ===========  ==============================================
``MEASURE``        ``#0072B2``  the measure a chart shows (revenue, customers,
                                a fitted curve); returning customers' revenue
``NEW``            ``#56B4E9``  new customers (first order in the period)
``GUESTS``         ``#BBBBBB``  guests' orders (no customer id)
``INK``            ``#000000``  observed counts and marks on a curve (orders
                                line, actual values, the chosen point)
``RETURNS``        ``#CC79A7``  returns (cancellation lines)
``REFERENCE``      ``#999999``  baselines and comparison curves (dotted or
                                dashed), equality lines
``SELECTED``       ``#332288``  what the user selected (map outline, row)
``RISK_COLOURS``   vermillion,  churn risk bands high / medium / low; the two
                   orange,      oranges mean risk and nothing else
                   green
``PARTIAL``        faded +      a period the data covers only in part (bars at
                   "partial"    ``PARTIAL_OPACITY``, labelled "partial" or "*")
=================  ===========  ==============================================

Categorical dimensions get their own sets, keyed by name in every legend and
never reusing the risk oranges: RFM segments (:data:`SEGMENT_COLOURS`, Paul
Tol's "muted" scheme plus greys, the same segment in the same colour on every
page) and k-means clusters (:data:`CLUSTER_COLOURS`, Tol's "light" scheme).
Sequential scales are Cividis, diverging ones PuOr.  Okabe-Ito and Tol's
schemes stay distinguishable with the common colour-vision deficiencies.
"""
from __future__ import annotations

MEASURE = "#0072B2"
NEW = "#56B4E9"
GUESTS = "#BBBBBB"
INK = "#000000"
RETURNS = "#CC79A7"
REFERENCE = "#999999"
SELECTED = "#332288"
SELECTED_BACKGROUND = "#e0ddf2"  # a selected table row, light SELECTED
MISSING = "#e9ecef"  # no value (a cohort cell not reached yet, a country without data)
MUTED_TEXT = "#6c757d"
GRID = "#eeeeee"

#: Churn risk bands (analytics.constants.RISK_BAND_LABELS).
RISK_COLOURS: dict[str, str] = {"high": "#D55E00", "medium": "#E69F00", "low": "#009E73"}

#: RFM segments, good to bad (Tol muted + greys); no orange, no Okabe-Ito blue.
SEGMENT_COLOURS: dict[str, str] = {
    "Champions": "#332288",
    "Loyal Customers": "#88CCEE",
    "Potential Loyalists": "#44AA99",
    "New Customers": "#117733",
    "Promising": "#999933",
    "Need Attention": "#DDCC77",
    "About to Sleep": "#AA4499",
    "At Risk": "#CC6677",
    "Can't Lose Them": "#882255",
    "Hibernating": "#C8C8C8",
    "Lost": "#666666",
}
UNKNOWN_SEGMENT = "#E8E8E8"

#: k-means clusters in order (Tol light, its orange left out).
CLUSTER_COLOURS: list[str] = ["#77AADD", "#BBCC33", "#FFAABB", "#44BB99", "#EEDD88", "#99DDFF", "#AAAA00",
                              "#DDDDDD", "#8877AA", "#557788"]

SEQUENTIAL = "Cividis"
DIVERGING = "PuOr"

#: Plotly bar pattern of a partial period (hatched) and the word used in labels.
PARTIAL_PATTERN = {"shape": "/", "fgcolor": "#ffffff", "size": 6, "solidity": 0.35}
PARTIAL_LABEL = "partial"
PARTIAL_OPACITY = 0.45

#: The default colour cycle of the template: the meanings above, in order of use.
COLOURWAY = [MEASURE, NEW, INK, RETURNS, REFERENCE]


def segment_colour(segment: str) -> str:
    return SEGMENT_COLOURS.get(segment, UNKNOWN_SEGMENT)


def cluster_colour(index: int) -> str:
    return CLUSTER_COLOURS[int(index) % len(CLUSTER_COLOURS)]


def rgba(colour: str, alpha: float) -> str:
    """``#RRGGBB`` -> ``rgba(r,g,b,alpha)``."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"
