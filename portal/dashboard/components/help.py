"""'How to read this': a collapsed box of definitions on every analytic page."""
from __future__ import annotations

from collections.abc import Iterable

import dash_bootstrap_components as dbc
from dash import dcc


def how_to_read(points: Iterable[str], *, snapshot: str | None = None, box_id: str = "how-to-read") -> dbc.Accordion:
    """Markdown bullet points; the snapshot date, what an order is and how returns net come first."""
    basics = []
    if snapshot:
        basics.append(f"**Snapshot date {snapshot}**: \"now\" for recency, churn and CLV; "
                      "transactions on or after it are ignored.")
    basics.append("**Order**: a distinct invoice that is not a cancellation. **Returns** (invoices starting "
                  "with C) net against revenue on the day they happen and are never orders.")
    text = "\n".join(f"- {p}" for p in [*basics, *points])
    return dbc.Accordion(
        dbc.AccordionItem(dcc.Markdown(text, className="small mb-0"), title="How to read this"),
        start_collapsed=True, className="mb-3", id=box_id,
    )
