"""The dashboards' filter state, kept in the URL query string.

Every view is a link: ``/segments?start=2011-01-01&end=2011-06-30&country=France&segment=Champions``.
Global filters (:class:`Filters`) apply to every page; a page may add its own
options (``metric=customers``) which travel in the same query string.  Values
from the URL are data, never authority: they are parsed leniently (unknown keys
and unusable values are dropped), bounded in size, and only ever select rows of
the logged-in user's own tenant.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from urllib.parse import parse_qs, urlencode

from analytics.periods import date_presets  # noqa: F401 - the filter bar's presets (weeks, fiscal years)

#: Query-string key -> Filters field; the key is what appears in links.
QUERY_KEYS: dict[str, str] = {
    "start": "start",
    "end": "end",
    "country": "countries",
    "segment": "segments",
    "risk": "risk_bands",
    "tier": "clv_tiers",
}
#: Filters field -> column of the per-customer table it selects on.
CUSTOMER_COLUMNS: dict[str, str] = {
    "countries": "country",
    "segments": "segment",
    "risk_bands": "risk_band",
    "clv_tiers": "clv_tier",
}
MAX_VALUES = 50
MAX_VALUE_LENGTH = 128
MAX_QUERY_LENGTH = 8192


@dataclass(frozen=True)
class Filters:
    """Global filters; empty means "everything"."""

    start: date | None = None
    end: date | None = None
    countries: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    risk_bands: tuple[str, ...] = ()
    clv_tiers: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, query: str | Mapping[str, object] | None) -> Filters:
        """Parse ``?a=1&b=2`` or a mapping (Dash passes page kwargs as a mapping)."""
        params = parse_query(query)
        values: dict[str, object] = {}
        for key, field_name in QUERY_KEYS.items():
            raw = params.get(key, [])
            if field_name in ("start", "end"):
                values[field_name] = _parse_date(raw[0]) if raw else None
            else:
                values[field_name] = tuple(dict.fromkeys(raw))  # de-duplicated, order kept
        filters = cls(**values)
        if filters.start and filters.end and filters.start > filters.end:
            filters = cls(**{**values, "start": filters.end, "end": filters.start})
        return filters

    def to_params(self) -> dict[str, list[str]]:
        """Query parameters in canonical order, empty ones left out."""
        params: dict[str, list[str]] = {}
        for key, field_name in QUERY_KEYS.items():
            value = getattr(self, field_name)
            if isinstance(value, date):
                params[key] = [value.isoformat()]
            elif value:
                params[key] = list(value)
        return params

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))

    @property
    def customer_attributes(self) -> dict[str, tuple[str, ...]]:
        """Column of the customer table -> values to keep (only the filters that are set)."""
        return {column: getattr(self, name) for name, column in CUSTOMER_COLUMNS.items() if getattr(self, name)}

    @property
    def filters_customers(self) -> bool:
        """True when a customer attribute (not date or country) is filtered: guests drop out."""
        return bool(self.segments or self.risk_bands or self.clv_tiers)

    def describe(self) -> str:
        """Human-readable summary, e.g. for a saved view or an empty state."""
        parts = []
        if self.start or self.end:
            parts.append(f"{self.start or 'start'} to {self.end or 'end'}")
        for name, label in (("countries", "country"), ("segments", "segment"),
                            ("risk_bands", "risk"), ("clv_tiers", "CLV tier")):
            if getattr(self, name):
                parts.append(f"{label}: {', '.join(getattr(self, name))}")
        return "; ".join(parts) or "no filters"


#: Labels of the filters, as the filter bar's chips and file names say them.
FILTER_LABELS: dict[str, str] = {"countries": "Country", "segments": "Segment", "risk_bands": "Risk",
                                 "clv_tiers": "CLV tier"}


def without(filters: Filters, name: str, value: str | None = None) -> Filters:
    """``filters`` with one value of ``name`` removed (``"dates"``: both dates)."""
    if name == "dates":
        return replace(filters, start=None, end=None)
    return replace(filters, **{name: tuple(v for v in getattr(filters, name) if v != value)})


def chips(filters: Filters) -> list[tuple[str, Filters]]:
    """One (label, filters without it) per applied filter value, in the bar's order."""
    out: list[tuple[str, Filters]] = []
    if filters.start or filters.end:
        out.append((f"{filters.start or 'start'} to {filters.end or 'end'}", without(filters, "dates")))
    for name, label in FILTER_LABELS.items():
        for value in getattr(filters, name):
            out.append((f"{label}: {value}", without(filters, name, value)))
    return out


def file_slug(filters: Filters, max_length: int = 80) -> str:
    """The filters for a file name: ``2011-01-01_2011-06-30-France-Champions`` ("all" when none).

    Only ASCII letters, digits, ``-`` and ``_`` survive (values come from the URL)."""
    parts: list[str] = []
    if filters.start or filters.end:  # dates: ISO days, no free text
        parts.append(f"{filters.start or 'start'}_{filters.end or 'end'}")
    for name in FILTER_LABELS:
        parts += [re.sub(r"[^A-Za-z0-9]+", "", value) or "x" for value in getattr(filters, name)]
    text = "-".join(parts)
    return (text or "all")[:max_length].strip("-_") or "all"


def parse_query(query: str | Mapping[str, object] | None) -> dict[str, list[str]]:
    """Query string or mapping -> {key: [values]}, bounded in size; never raises."""
    if not query:
        return {}
    if isinstance(query, str):
        parsed = parse_qs(query[:MAX_QUERY_LENGTH].lstrip("?"), keep_blank_values=False)
    elif isinstance(query, Mapping):
        parsed = {str(k): v if isinstance(v, (list, tuple)) else [v] for k, v in query.items()}
    else:  # a forged callback input (number, list...): no filters
        return {}
    params: dict[str, list[str]] = {}
    for key, values in parsed.items():
        clean = [str(v).strip() for v in values if isinstance(v, (str, int, float)) and str(v).strip()]
        clean = [v for v in clean if len(v) <= MAX_VALUE_LENGTH][:MAX_VALUES]
        if clean and len(key) <= 64:
            params[key] = clean
    return params


def build_query(filters: Filters, options: Mapping[str, object] | None = None) -> str:
    """``?...`` for the filters plus page options (None or "" options are left out)."""
    params: dict[str, list[str]] = filters.to_params()
    for key, value in (options or {}).items():
        if key in QUERY_KEYS or value in (None, "", [], ()):
            continue
        params[key] = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
    encoded = urlencode(params, doseq=True)
    return f"?{encoded}" if encoded else ""


def page_options(query: str | Mapping[str, object] | None, allowed: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """A page's own options from the query: ``allowed`` maps key -> choices, the first is the default."""
    params = parse_query(query)
    options = {}
    for key, choices in allowed.items():
        value = params.get(key, [choices[0]])[0]
        options[key] = value if value in choices else choices[0]
    return options


#: Dates outside these bounds are clamped to them: ``?start=0001-01-01&end=9999-12-31``
#: means "everything", and the page's comparison window (as long again before the start)
#: stays inside what pandas timestamps hold (1677-2262).
MIN_DATE = date(1970, 1, 1)
MAX_DATE = date(2099, 12, 31)


def _parse_date(value: str) -> date | None:
    try:
        parsed = date.fromisoformat(value[:10])
    except ValueError:
        return None
    return min(max(parsed, MIN_DATE), MAX_DATE)
