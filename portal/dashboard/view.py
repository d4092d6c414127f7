"""What the dashboard pages read: cached results of the tenant's current dataset,
narrowed by the filters of the URL.

Pages and exports call these functions with the server-side context
(:func:`portal.platform.tenancy.current_context`); nothing here accepts a tenant or a
dataset from the browser.  Heavy results (cleaned log, descriptive report,
models, the merged customer table) are built once per dataset version by
:mod:`portal.data.results`; a filter only selects rows of them
(:mod:`analytics.selection`) and, where a page needs it, runs an analytics
function over the selected lines.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from flask import g, has_request_context
from plotly.io.json import to_json_plotly

from analytics.constants import RISK_BAND_LABELS as RISK_BANDS  # band display order, defined in analytics
from analytics.report import DescriptiveReport
from analytics.rfm import SEGMENT_ORDER
from analytics.selection import select_customers, select_lines

from ..data.cache import MISSING, estimate_size
from .filters import Filters
from .money import MoneyFormat, money_format
from .selectors import ReportSelections
from ..data.storage import get_dataset
from ..data.results import get_result, register, result_cache
from ..platform.tenancy import PortalContext, current_context


@dataclass(frozen=True)
class ModelsState:
    """The stored model results of the current dataset, or why there are none yet."""

    results: Any | None  # analytics.models.ModelResults
    status: str  # pending | running | ready | failed
    message: str | None
    progress: float
    #: Changes whenever the stored models change (a refit): part of cache keys.
    stamp: str

    @property
    def ready(self) -> bool:
        return self.results is not None


def dataset(ctx: PortalContext):
    """The current dataset's row (:class:`portal.data.storage.DatasetInfo`), read once per request."""
    if not has_request_context():
        return get_dataset(ctx)
    cached = g.setdefault("_portal_datasets", {})
    if ctx.dataset_id not in cached:
        cached[ctx.dataset_id] = get_dataset(ctx)
    return cached[ctx.dataset_id]


def report(ctx: PortalContext) -> DescriptiveReport:
    """The descriptive report of the current dataset (at its snapshot date)."""
    return get_result(ctx, "describe")


def lines(ctx: PortalContext) -> pd.DataFrame:
    """Cleaned lines of the current dataset (guests included)."""
    return get_result(ctx, "cleaned").lines


def models(ctx: PortalContext) -> ModelsState:
    info = dataset(ctx)
    # The fit's stamp is the variant: a refit is a new key of the one model cache.
    results = get_result(ctx, "models", variant=models_stamp(info)) if info.models_status == "ready" else None
    stamp = models_stamp(info) if results is not None else "nomodels"
    return ModelsState(results=results, status=info.models_status, message=info.models_message,
                       progress=float(info.models_progress or 0.0), stamp=stamp)


def models_stamp(info) -> str:
    """Names the stored model fit of a dataset row: changes with every (re)fit."""
    if info.models_status == "ready" and info.models_updated_at:
        return f"m{info.models_updated_at:%Y%m%dT%H%M%S%f}"
    return "nomodels"


def memoised_view(render: Callable[[str], Any]) -> Callable[[str], Any]:
    """Memoise a page callback ``render(query)``: in each worker's memory, and its JSON in
    the shared cache, so every worker of every host reuses one render.

    For callbacks whose outputs depend only on the caller's tenant, its current
    dataset, that dataset's model fit and the page's canonical query string (the
    ``query_store_id`` input), never on the user, the role or the clock: the
    managers who open the same view on a Monday morning get figures drawn once.
    The key carries tenant, dataset, the model job's status and heartbeat (which
    changes with every progress report, the end of a fit or a refit), the tenant's
    currency and time zone, and the code
    of the dashboard and analytics (a deploy draws again), so an import or new
    models are seen at once.  Level 1 is bounded by ``VIEW_CACHE_MB`` (least recently
    used first out; 0 turns both levels off); level 2 holds the outputs as the JSON
    Dash sends (:meth:`portal.data.cache.ResultCache.view_get`), which a worker that
    did not render them parses instead of rendering.  Errors are never memoised.
    """
    name = f"{render.__module__}.{render.__qualname__}"

    @functools.wraps(render)
    def memoised(query):
        ctx = current_context()
        if ctx.dataset_id is None or not isinstance(query, str):
            return render(query)
        cache = result_cache()
        if cache.views.max_bytes <= 0:
            return render(query)
        info = dataset(ctx)
        digest = hashlib.blake2b(query.encode(), digest_size=16).hexdigest()
        fit = f"{info.models_status}@{info.models_updated_at}"
        # the currency and time zone write the figures' labels: a settings change draws again
        key = (f"view:{code_stamp()}:{name}:t{ctx.tenant_id}:d{ctx.dataset_id}:{fit}:{ctx.currency}:"
               f"{ctx.time_zone}:{digest}")
        value = cache.views.get(key)
        if value is not MISSING:
            return value
        shared = cache.view_get(key)
        if shared is not None:
            value = json.loads(shared)
        else:
            value = render(query)
            cache.view_set(key, to_json_plotly(value))
        cache.views.put(key, value, estimate_size(value))
        return value

    return memoised


@functools.cache
def code_stamp() -> str:
    """A digest of the code that draws the pages (portal/dashboard and analytics), read once
    per process: part of the shared view keys, so a deploy never serves figures of old code."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.blake2b(digest_size=8)
    for folder in (root / "portal" / "dashboard", root / "analytics"):
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".py", ".md") and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def customers(ctx: PortalContext, state: ModelsState | None = None) -> pd.DataFrame:
    """One row per customer: RFM, scores, segment, cluster and (when fitted) model columns."""
    state = state or models(ctx)
    return get_result(ctx, "customers", variant=state.stamp)


def filter_options(ctx: PortalContext, state: ModelsState | None = None) -> dict[str, Any]:
    """Choices of the filter bar, from the current dataset."""
    state = state or models(ctx)
    return get_result(ctx, "filter_options", variant=state.stamp)


class View(ReportSelections):
    """What one request of a page sees: the caller's context, the URL's filters and,
    computed at most once per request, the results they select (the named selections
    such as ``view.segment_summary()`` are in :mod:`portal.dashboard.selectors`).

    ``View(current_context(), query)`` in a layout or callback; ``query`` is the
    page's query string (or Dash's kwargs).
    """

    def __init__(self, ctx: PortalContext, query: str | dict | None = None) -> None:
        self.ctx = ctx
        self.query = query
        self.filters = Filters.from_query(query)

    @cached_property
    def dataset(self):
        return dataset(self.ctx)

    @cached_property
    def money(self) -> MoneyFormat:
        """Writes amounts, axes and hover templates in the tenant's currency."""
        return money_format(self.ctx)

    @cached_property
    def models(self) -> ModelsState:
        return models(self.ctx)

    @cached_property
    def report(self) -> DescriptiveReport:
        return report(self.ctx)

    @cached_property
    def lines(self) -> pd.DataFrame:
        return lines(self.ctx)

    @cached_property
    def customers(self) -> pd.DataFrame:
        return customers(self.ctx, self.models)

    @cached_property
    def options(self) -> dict[str, Any]:
        """Choices of the filter bar, plus the tenant's calendar (first day of the week, fiscal
        year start) for its date presets."""
        return {**filter_options(self.ctx, self.models), "week_start": self.ctx.week_start,
                "fiscal_year_start_month": self.ctx.fiscal_year_start_month}

    @cached_property
    def selected_customers(self) -> pd.DataFrame:
        """Customers the filters keep (date window = ordered in it)."""
        if self.filters.is_empty:
            return self.customers
        return select_customers(self.customers, self.filters.customer_attributes, lines=self.lines,
                                start=_stamp(self.filters.start), end=_stamp(self.filters.end))

    @cached_property
    def selected_lines(self) -> pd.DataFrame:
        """Lines the filters keep; a customer-attribute filter drops guests' lines."""
        if self.filters.is_empty:
            return self.lines
        return select_lines(self.scoped_lines, start=_stamp(self.filters.start), end=_stamp(self.filters.end))

    @cached_property
    def scoped_lines(self) -> pd.DataFrame:
        """Lines of the filtered countries and customers over the WHOLE history (no date
        window): for tables whose definitions look back, such as "new customer"
        (first order ever) or a KPI's previous period."""
        if not (self.filters.countries or self.filters.filters_customers):
            return self.lines
        return select_lines(self.lines, countries=self.filters.countries, customer_ids=self.customer_ids)

    @property
    def has_scope(self) -> bool:
        """True when countries or customer attributes are filtered (not only dates)."""
        return bool(self.filters.countries or self.filters.filters_customers)

    @property
    def window(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``[start, end)`` of the date filter, or the last ``lookback_days`` before the snapshot."""
        end = _stamp(self.filters.end) + pd.Timedelta(days=1) if self.filters.end else self.snapshot
        start = _stamp(self.filters.start) if self.filters.start else end - pd.Timedelta(
            days=self.report.lookback_days)
        return start, max(end, start + pd.Timedelta(days=1))

    @cached_property
    def customer_ids(self) -> pd.Index | None:
        """Customers kept by the customer-attribute filters, or None when there are none."""
        if not self.filters.filters_customers:
            return None
        return select_customers(self.customers, self.filters.customer_attributes).index

    @property
    def snapshot(self) -> pd.Timestamp:
        return self.report.snapshot_date


def _stamp(day) -> pd.Timestamp | None:
    return pd.Timestamp(day) if day else None


# --------------------------------------------------------------------------
# results built once per dataset version


def _customers(r) -> pd.DataFrame:
    table = r("describe").customers()
    fitted = r("models", r.variant) if r.variant != "nomodels" else None
    if fitted is not None:
        # Deliberate lazy loading: analytics.models loads lifetimes and scikit-learn.
        from analytics.models import customer_model_columns

        table = table.join(customer_model_columns(fitted), how="left")
    return table


def _filter_options(r) -> dict[str, Any]:
    cleaned = r("cleaned")
    table = r("customers", r.variant)
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
