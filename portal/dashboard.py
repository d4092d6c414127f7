"""What the dashboard pages read: cached results of the tenant's current dataset,
narrowed by the filters of the URL.

Pages and exports call these functions with the server-side context
(:func:`portal.tenancy.current_context`); nothing here accepts a tenant or a
dataset from the browser.  Heavy results (cleaned log, descriptive report,
models, the merged customer table) are built once per dataset version by
:mod:`portal.results`; a filter only selects rows of them
(:mod:`analytics.selection`) and, where a page needs it, runs an analytics
function over the selected lines.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analytics.report import DescriptiveReport
from analytics.rfm import SEGMENT_ORDER
from analytics.selection import select_customers, select_lines

from .filters import Filters
from .results import get_result, register
from .tenancy import PortalContext

RISK_BANDS = ("high", "medium", "low")


@dataclass(frozen=True)
class ModelsState:
    """The stored model results of a dataset, or why there are none yet."""

    results: Any | None  # analytics.models.ModelResults
    status: str  # pending | running | ready | failed
    message: str | None

    @property
    def ready(self) -> bool:
        return self.results is not None


def report(ctx: PortalContext) -> DescriptiveReport:
    """The descriptive report of the current dataset (at its snapshot date)."""
    return get_result(ctx, "describe")


def lines(ctx: PortalContext) -> pd.DataFrame:
    """Cleaned lines of the current dataset (guests included)."""
    return get_result(ctx, "cleaned").lines


def models(ctx: PortalContext) -> ModelsState:
    from .storage import get_dataset

    dataset = get_dataset(ctx)
    results = get_result(ctx, "models") if dataset.models_status == "ready" else None
    return ModelsState(results=results, status=dataset.models_status, message=dataset.models_message)


def customers(ctx: PortalContext) -> pd.DataFrame:
    """One row per customer: RFM, scores, segment, cluster and (when fitted) model columns."""
    return get_result(ctx, "customers")


def filter_options(ctx: PortalContext) -> dict[str, Any]:
    """Choices of the filter bar, from the current dataset."""
    return get_result(ctx, "filter_options")


def selected_customers(ctx: PortalContext, filters: Filters) -> pd.DataFrame:
    """Customers the filters keep (date window = ordered in it)."""
    table = customers(ctx)
    if filters.is_empty:
        return table
    return select_customers(table, filters.customer_attributes, lines=lines(ctx),
                            start=_stamp(filters.start), end=_stamp(filters.end))


def selected_lines(ctx: PortalContext, filters: Filters) -> pd.DataFrame:
    """Lines the filters keep; a customer-attribute filter drops guests' lines."""
    all_lines = lines(ctx)
    if filters.is_empty:
        return all_lines
    customer_ids = None
    if filters.filters_customers:
        customer_ids = select_customers(customers(ctx), filters.customer_attributes).index
    return select_lines(all_lines, start=_stamp(filters.start), end=_stamp(filters.end),
                        countries=filters.countries, customer_ids=customer_ids)


def _stamp(day) -> pd.Timestamp | None:
    return pd.Timestamp(day) if day else None


# --------------------------------------------------------------------------
# results built once per dataset version


def _customers(r) -> pd.DataFrame:
    table = r("describe").customers()
    state = r("models") if r.dataset_models_ready() else None
    if state is not None:
        from analytics.models import customer_model_columns

        table = table.join(customer_model_columns(state), how="left")
    return table


def _filter_options(r) -> dict[str, Any]:
    cleaned = r("cleaned")
    table = r("customers")
    tiers = [] if "clv_tier" not in table else sorted(table["clv_tier"].dropna().unique().tolist())
    first, last = cleaned.report.first_date, cleaned.report.last_date
    return {
        "countries": sorted(str(c) for c in cleaned.lines["country"].dropna().unique()),
        "segments": [s for s in SEGMENT_ORDER if s in set(table["segment"].dropna())],
        "risk_bands": [b for b in RISK_BANDS if "risk_band" in table and b in set(table["risk_band"].dropna())],
        "clv_tiers": tiers,
        "date_min": first.date() if first is not None else None,
        "date_max": last.date() if last is not None else None,
    }


register("customers", _customers)
register("filter_options", _filter_options)
