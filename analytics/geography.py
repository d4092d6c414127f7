"""Revenue, orders and customers by country, with ISO 3166-1 alpha-3 codes for maps.

:data:`COUNTRY_CODES` maps every country name of both UCI files (and common
spellings of the same countries) to its alpha-3 code.  Names that are not one
country map to ``None`` and are listed, with the reason, in
:data:`UNMAPPABLE_COUNTRIES`; judgement calls are in :data:`MAPPING_NOTES`.
Lookups (:func:`iso3`) ignore case and surrounding spaces; a name in neither
table is unmapped too.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import _lines as L
from .errors import AnalyticsError

#: Country name as written in the data -> ISO 3166-1 alpha-3 (None: not a country).
COUNTRY_CODES: dict[str, str | None] = {
    # names in the UCI "Online Retail" / "Online Retail II" files
    "Australia": "AUS", "Austria": "AUT", "Bahrain": "BHR", "Belgium": "BEL", "Bermuda": "BMU",
    "Brazil": "BRA", "Canada": "CAN", "Channel Islands": None, "Cyprus": "CYP",
    "Czech Republic": "CZE", "Denmark": "DNK", "EIRE": "IRL", "European Community": None,
    "Finland": "FIN", "France": "FRA", "Germany": "DEU", "Greece": "GRC", "Hong Kong": "HKG",
    "Iceland": "ISL", "Israel": "ISR", "Italy": "ITA", "Japan": "JPN", "Korea": "KOR",
    "Lebanon": "LBN", "Lithuania": "LTU", "Malta": "MLT", "Netherlands": "NLD", "Nigeria": "NGA",
    "Norway": "NOR", "Poland": "POL", "Portugal": "PRT", "RSA": "ZAF", "Saudi Arabia": "SAU",
    "Singapore": "SGP", "Spain": "ESP", "Sweden": "SWE", "Switzerland": "CHE", "Thailand": "THA",
    "USA": "USA", "United Arab Emirates": "ARE", "United Kingdom": "GBR", "Unspecified": None,
    "West Indies": None,
    # other common spellings
    "Ireland": "IRL", "Republic of Ireland": "IRL", "South Africa": "ZAF", "United States": "USA",
    "United States of America": "USA", "US": "USA", "UK": "GBR", "Great Britain": "GBR",
    "England": "GBR", "Scotland": "GBR", "Wales": "GBR", "Northern Ireland": "GBR",
    "South Korea": "KOR", "Republic of Korea": "KOR", "Czechia": "CZE", "Holland": "NLD",
    "The Netherlands": "NLD", "UAE": "ARE", "Luxembourg": "LUX", "Slovenia": "SVN",
    "Slovakia": "SVK", "Hungary": "HUN", "Romania": "ROU", "Bulgaria": "BGR", "Croatia": "HRV",
    "Estonia": "EST", "Latvia": "LVA", "Turkey": "TUR", "Russia": "RUS", "China": "CHN",
    "India": "IND", "Mexico": "MEX", "New Zealand": "NZL", "Jersey": "JEY", "Guernsey": "GGY",
    "Isle of Man": "IMN", "Argentina": "ARG", "Chile": "CHL", "Egypt": "EGY", "Taiwan": "TWN",
    "Indonesia": "IDN", "Malaysia": "MYS", "Philippines": "PHL", "Vietnam": "VNM",
}

#: Names in :data:`COUNTRY_CODES` that map to None, and why.
UNMAPPABLE_COUNTRIES: dict[str, str] = {
    "Channel Islands": "Jersey (JEY) and Guernsey (GGY) together; no single code",
    "European Community": "the European Union, not one country",
    "Unspecified": "no country given",
    "West Indies": "a Caribbean region of many countries",
}

#: Mappings that are a judgement call.
MAPPING_NOTES: dict[str, str] = {
    "EIRE": "Irish name of Ireland -> IRL",
    "RSA": "Republic of South Africa -> ZAF",
    "Korea": "taken as the Republic of Korea (South Korea) -> KOR",
    "Hong Kong": "own ISO code HKG, not China",
}

assert {name for name, code in COUNTRY_CODES.items() if code is None} == set(UNMAPPABLE_COUNTRIES)

_NORMALISED: dict[str, str | None] = {name.strip().casefold(): code for name, code in COUNTRY_CODES.items()}

SUMMARY_COLUMNS: tuple[str, ...] = (
    "iso3", "revenue", "revenue_share", "orders", "customers", "new_customers", "average_order_value",
)


def iso3(name: object) -> str | None:
    """Alpha-3 code of a country name (case and spaces ignored); None if unmappable."""
    if not isinstance(name, str):
        return None
    return _NORMALISED.get(name.strip().casefold())


def _empty_summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "iso3": pd.Series([], dtype="str"),
            "revenue": pd.Series([], dtype="float64"),
            "revenue_share": pd.Series([], dtype="float64"),
            "orders": pd.Series([], dtype="int64"),
            "customers": pd.Series([], dtype="int64"),
            "new_customers": pd.Series([], dtype="int64"),
            "average_order_value": pd.Series([], dtype="float64"),
        },
        index=pd.Index([], dtype="str", name="country"),
    )


def country_summary(
    lines: pd.DataFrame, snapshot_date: L.DateLike | None = None, new_customer_days: int = 90
) -> pd.DataFrame:
    """Per country (index ``country``, str), sorted by revenue, largest first.

    * ``revenue``: net revenue of all lines (guests included), currency;
      ``revenue_share`` of the total net revenue.
    * ``orders``: orders (guests included); ``average_order_value`` = gross
      sales / orders (NaN without orders).
    * ``customers``: identified customers with an order from the country (a
      customer who ordered from two countries counts in both).
    * ``new_customers``: customers whose first order is in the
      ``new_customer_days`` days before the snapshot, counted in the country of
      that first order.
    * ``iso3``: :func:`iso3` of the name (missing if unmappable).

    Only lines before ``snapshot_date`` (default: day after the last line) count.
    """
    L.require_columns(lines)
    if int(new_customer_days) != new_customer_days or new_customer_days < 1:
        raise AnalyticsError(f"new_customer_days must be a positive whole number, got {new_customer_days!r}.")
    snapshot = L.resolve_snapshot(lines, snapshot_date)
    lines = L.before(lines, snapshot)
    if snapshot is None or lines.empty:
        return _empty_summary()
    arrays = L.line_arrays(lines)
    orders = L.order_arrays(arrays)
    stats = L.customer_arrays(arrays, orders)
    n = len(arrays.countries)
    revenue = np.bincount(arrays.country, weights=arrays.revenue, minlength=n)
    order_count = np.bincount(orders.country, minlength=n)
    gross = np.bincount(orders.country, weights=orders.gross, minlength=n)
    known = orders.customer >= 0
    pairs = pd.unique(orders.customer[known] * np.int64(n) + orders.country[known])
    customers = np.bincount(pairs % n, minlength=n)
    window_start = L.micros(np.array([np.datetime64(snapshot - pd.Timedelta(days=int(new_customer_days)))]))[0]
    is_new = stats.has_orders & (stats.first_time >= window_start)
    new = np.bincount(stats.first_country[is_new], minlength=n)
    present = np.flatnonzero(np.bincount(arrays.country, minlength=n) > 0)
    total = revenue.sum()
    names = arrays.countries[present]
    summary = pd.DataFrame(
        {
            "iso3": pd.array([iso3(name) for name in names], dtype="str"),
            "revenue": revenue[present],
            "revenue_share": revenue[present] / total if total else np.nan,
            "orders": order_count[present].astype(np.int64),
            "customers": customers[present].astype(np.int64),
            "new_customers": new[present].astype(np.int64),
            "average_order_value": np.divide(
                gross[present], order_count[present],
                out=np.full(len(present), np.nan), where=order_count[present] > 0,
            ),
        },
        index=pd.Index(names, dtype="str", name="country"),
    )
    return summary.sort_index().sort_values("revenue", ascending=False, kind="stable")


def unmapped_countries(summary: pd.DataFrame) -> list[str]:
    """Countries of a :func:`country_summary` without an ISO code, in its order."""
    if "iso3" not in summary.columns:
        raise AnalyticsError("summary lacks the iso3 column: use country_summary(...).")
    return [str(name) for name in summary.index[summary["iso3"].isna()]]


def country_summary_between(lines: pd.DataFrame, start: L.DateLike, end: L.DateLike) -> pd.DataFrame:
    """:func:`country_summary` of the lines dated in ``[start, end)`` (``end`` exclusive, midnights).

    Revenue, share, orders, customers and AOV count the window's lines only;
    ``new_customers`` are the customers whose first order EVER (over all of
    ``lines`` before ``end``, so pass the whole history) falls in the window,
    counted in the country of that first order.  Countries without a line in
    the window are left out.  Same columns, index and order as
    :func:`country_summary`.
    """
    L.require_columns(lines)
    start, end = L.as_day(start, "start"), L.as_day(end, "end")
    days = (end - start).days
    if days < 1:
        raise AnalyticsError(f"the window must end after it starts, got {start:%Y-%m-%d} to {end:%Y-%m-%d}.")
    history = L.before(lines, end)
    dates = history["invoice_date"].to_numpy()
    window = history.loc[dates >= np.datetime64(start)] if len(history) else history
    summary = country_summary(window, end, new_customer_days=days)
    if summary.empty:
        return summary
    first_orders = country_summary(history, end, new_customer_days=days)["new_customers"]
    summary["new_customers"] = first_orders.reindex(summary.index).fillna(0).astype(np.int64)
    return summary
