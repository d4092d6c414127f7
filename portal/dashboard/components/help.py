"""'How to read this': a collapsed box of definitions on every analytic page.

The points of a page are a Markdown file beside its module (``pages/cohorts.md``
for ``pages/cohorts.py``): one ``- `` bullet per point, continuation lines
indented, ``{NAME}`` placeholders for the constants the page passes in, and
``[[key]]`` for a definition of the glossary (:mod:`analytics.glossary`, the same
text as the README's "Definitions"), so a term is defined in one place.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import dash_bootstrap_components as dbc
from dash import dcc

from analytics.glossary import term

_GLOSSARY_REF = re.compile(r"\[\[([a-z_]+)\]\]")


def how_to_read(points: Iterable[str], *, snapshot: str | None = None, box_id: str = "how-to-read") -> dbc.Accordion:
    """Markdown bullet points; the snapshot date, what an order is and how returns net come first."""
    basics = []
    if snapshot:
        basics.append(f"{term('snapshot').markdown()} Here: **{snapshot}**.")
    basics.append(f"{term('order').markdown()} {term('return').markdown()}")
    text = "\n".join(f"- {p}" for p in [*basics, *points])
    return dbc.Accordion(
        dbc.AccordionItem(dcc.Markdown(text, className="small mb-0"), title="How to read this"),
        start_collapsed=True, className="mb-3", id=box_id,
    )


def help_points(page_file: str, **values: object) -> list[str]:
    """The points of the Markdown file beside ``page_file`` (``<page>.md``), one string per
    bullet (continuation lines joined with a space), ``{NAME}`` filled from ``values``."""
    path = Path(page_file).with_suffix(".md")
    points: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("- "):
            points.append(line[2:].strip())
        elif line.startswith("  ") and points:
            points[-1] += " " + line.strip()
        elif line.strip() and not line.startswith("<!--"):
            raise ValueError(f"{path.name}, line {number}: a point starts with '- ', its next lines with two spaces")
    return [expand_glossary(point.format(**values)) for point in points]


def expand_glossary(text: str) -> str:
    """``text`` with every ``[[key]]`` replaced by the glossary's ``**Name**: definition``."""
    return _GLOSSARY_REF.sub(lambda match: term(match.group(1)).markdown(), text)
