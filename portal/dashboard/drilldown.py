"""Drill-down: the customers behind one mark of a chart, as a filtered customer list.

A click on a segment tile, a cohort cell, a country, a product or a histogram
bar opens ``/customers?<the page's filters>&<what was clicked>``.  The global
filters travel as everywhere (:mod:`portal.dashboard.filters`); the mark adds
one of:

* ``cohort=2011-01`` (acquisition month) and optionally ``period=3``: the
  cohort's customers, or those active in its n-th month (the cohort table's
  ``cohort_size`` / ``active_customers``);
* ``product=85123A``: customers who ordered the product in the window;
* ``cluster=2``: the customers of a k-means cluster;
* ``field=monetary&min=100&max=200`` (``&last=1`` for a histogram's last bar,
  upper edge included): customers whose value falls in the bar;
* ``q=1234``: the global search: customer ids containing the text; an e-mail is
  also hashed the way the import stored it (:func:`portal.data.privacy.search_key`),
  so a customer kept only under a hashed id is found by their e-mail; where the
  tenant keeps contacts, customers whose e-mail or name contains the text
  (:func:`portal.data.contacts.search_ids`).

Segments and countries are global filters already (``segment=``, ``country=``).
The list is a customer list like any other (:mod:`portal.dashboard.customer_lists`):
the same grid request path and export route, so role rules (viewers' limits,
managers' exports) apply to it unchanged.  The selections are the analytics
functions of :mod:`analytics.selection`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from analytics.selection import customers_in_cohort, customers_in_range, customers_of_product, isin

from ..data.contacts import search_ids
from .filters import Filters, build_query, parse_query
from .view import View

PATH = "/customers"

#: Customer columns a histogram bar may select on: field -> (label, kind).
RANGE_FIELDS: dict[str, tuple[str, str]] = {
    "monetary": ("Net revenue", "money"),
    "frequency": ("Orders", "int"),
    "recency": ("Recency (days)", "int"),
    "tenure": ("Tenure (days)", "int"),
    "net_clv_12m": ("Predicted 12-month CLV", "money"),
    "churn_probability": ("Churn probability", "pct"),
    "p_alive": ("P(alive)", "pct"),
}
DRILL_KEYS = ("cohort", "period", "product", "cluster", "field", "min", "max", "last", "q", "from")
MAX_SEARCH = 128  # an e-mail may be long; the URL parser keeps values up to this length
_SAFE = re.compile(r"[^A-Za-z0-9.-]+")


@dataclass(frozen=True)
class Drill:
    """What a click selected (empty: the filtered customers as they are)."""

    cohort: date | None = None
    period: int | None = None
    product: str | None = None
    cluster: int | None = None
    field: str | None = None
    low: float | None = None
    high: float | None = None
    last: bool = False
    search: str | None = None

    @classmethod
    def from_query(cls, query: Any) -> Drill:
        """Parsed leniently from the URL: unusable values are dropped, never trusted."""
        params = {k: v[0] for k, v in parse_query(query).items() if v}
        cohort = _month(params.get("cohort"))
        field = params.get("field") if params.get("field") in RANGE_FIELDS else None
        search = (params.get("q") or "").strip()[:MAX_SEARCH] or None
        return cls(cohort=cohort, period=_int(params.get("period")) if cohort else None,
                   product=params.get("product") or None, cluster=_int(params.get("cluster")),
                   field=field, low=_float(params.get("min")) if field else None,
                   high=_float(params.get("max")) if field else None,
                   last=params.get("last") == "1" and field is not None, search=search)

    def to_params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.cohort:
            params["cohort"] = f"{self.cohort:%Y-%m}"
            if self.period is not None:
                params["period"] = str(self.period)
        if self.product:
            params["product"] = self.product
        if self.cluster is not None:
            params["cluster"] = str(self.cluster)
        if self.field:
            params["field"] = self.field
            if self.low is not None:
                params["min"] = _number(self.low)
            if self.high is not None:
                params["max"] = _number(self.high)
            if self.last:
                params["last"] = "1"
        if self.search:
            params["q"] = self.search
        return params

    @property
    def is_empty(self) -> bool:
        return not self.to_params()

    def describe(self, money=None) -> list[str]:
        """What was clicked, as the page heading's chips say it."""
        parts = []
        if self.cohort:
            parts.append(f"Acquired in {self.cohort:%b %Y}")
            if self.period is not None:
                parts.append(f"ordered in month {self.period} after ({(pd.Timestamp(self.cohort) + pd.DateOffset(months=self.period)):%b %Y})")
        if self.product:
            parts.append(f"Bought product {self.product}")
        if self.cluster is not None:
            parts.append(f"Cluster {self.cluster}")
        if self.field:
            label, kind = RANGE_FIELDS[self.field]
            write = (money if (kind == "money" and money) else
                     (lambda v: f"{v * 100:.1f}%") if kind == "pct" else (lambda v: f"{v:,.6g}"))
            low = write(self.low) if self.low is not None else "any"
            high = write(self.high) if self.high is not None else "any"
            parts.append(f"{label} from {low} to {high}{' (included)' if self.last else ' (excluded)'}")
        if self.search:
            parts.append(f"Customer e-mail “{self.search}”" if "@" in self.search else
                         f"Customer id (or a kept e-mail or name) contains “{self.search}”")
        return parts

    def slug(self) -> str:
        """For the export's file name (ASCII letters, digits and - only)."""
        return "-".join(f"{k}{_SAFE.sub('', v)}" for k, v in self.to_params().items())[:60]


def drill_customers(view: View, drill: Drill | None = None) -> pd.DataFrame:
    """The filtered customers narrowed to what was clicked (index customer_id)."""
    drill = drill or Drill.from_query(view.query)
    table = view.selected_customers
    if drill.cohort is not None:  # the Cohorts page's lines: countries and customers, whole history
        table = table.loc[isin(table.index, customers_in_cohort(view.scoped_lines, drill.cohort, drill.period))]
    if drill.product:
        table = table.loc[isin(table.index, customers_of_product(view.selected_lines, drill.product))]
    if drill.cluster is not None:
        clusters = pd.to_numeric(table.get("cluster"), errors="coerce") if "cluster" in table else None
        table = table.loc[(clusters == drill.cluster).to_numpy()] if clusters is not None else table.iloc[:0]
    if drill.field:
        if drill.field not in table.columns:
            return table.iloc[:0]
        table = customers_in_range(table, drill.field, drill.low, drill.high, include_high=drill.last)
    if drill.search:
        ids = table.index.astype("str")
        found = np.asarray(ids.str.contains(drill.search, case=False, regex=False), dtype=bool)
        named = search_ids(view.ctx, drill.search)
        table = table.loc[found | ids.isin(named)] if named else table.loc[found]
    return table


def exact_customer(view: View, drill: Drill) -> str | None:
    """The one customer a search names exactly (its id, or the hash of its e-mail), if any."""
    if not drill.search:
        return None
    if drill.search in view.customers.index:
        return drill.search
    named = [c for c in search_ids(view.ctx, drill.search) if c in view.customers.index]
    return named[0] if len(named) == 1 and "@" in drill.search else None


def drill_link(filters: Filters, origin: str | None = None, **marks: Any) -> str:
    """``/customers?<filters>&<marks>[&from=<page>]``: the link a chart mark opens."""
    drill = Drill.from_query({k: str(v) for k, v in marks.items() if v is not None})
    options: dict[str, str] = dict(drill.to_params())
    for key in ("country", "segment", "risk", "tier"):  # a mark that is a global filter value
        if key in marks and marks[key] is not None:
            filters = _with(filters, key, str(marks[key]))
    if origin:
        options["from"] = origin
    return PATH + build_query(filters, options)


def _with(filters: Filters, key: str, value: str) -> Filters:
    name = {"country": "countries", "segment": "segments", "risk": "risk_bands", "tier": "clv_tiers"}[key]
    return replace(filters, **{name: (value,)})


def _month(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:7] + "-01")
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and 0 <= number < 10_000 else None


def _float(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
