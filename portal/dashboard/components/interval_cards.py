"""A customer's 80 % predictive intervals (12-month purchase days and net CLV) as KPI tiles,
read from the background fit's simulations (:mod:`analytics.intervals`), never recomputed."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import numpy as np

from .cards import kpi_card
from .figures import money


def interval_cards(intervals, customer_id: str) -> list[dbc.Col]:
    """Two tiles (purchase days, net CLV over 12 months: low – high), or "–" when the
    intervals or the customer are missing."""
    row = None
    if intervals is not None and customer_id in intervals.table.index:
        row = intervals.table.loc[customer_id]
    level = f"{intervals.level:.0%}" if intervals is not None else "80%"
    note = f"{level} interval, simulated from this customer's history"
    if row is None:
        values = ("–", "–")
        note = "not available" if intervals is None else "not scored"
    else:
        days = (float(row["purchase_days_12m_low"]), float(row["purchase_days_12m_high"]))
        clv = (float(row["net_clv_12m_low"]), float(row["net_clv_12m_high"]))
        values = (f"{_days(days[0])} – {_days(days[1])}", f"{money(clv[0])} – {money(clv[1])}")
    return [dbc.Col(kpi_card(title, value, card_id=card_id, note=note), xs=12, sm=6, lg=3, className="mb-3")
            for title, value, card_id in (("Purchase days, next 12 months", values[0], "profile-kpi-purchase-range"),
                                          ("Net CLV 12 months, range", values[1], "profile-kpi-clv-range"))]


def _days(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{value:.0f}"
