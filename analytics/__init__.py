"""Customer analytics for retail transaction logs: a pure library.

Pipeline: :func:`load_transactions` (CSV / XLSX / Parquet, UCI layouts) ->
:func:`clean_transactions` (rules counted in a report) -> descriptive tables
(RFM, segments, migration, clusters, cohorts, geography, trends, products) and
models (CLV, churn, recommendations).

Conventions shared by every module:

* Line-level frames use the canonical schema of :mod:`analytics.schema`, plus
  ``revenue`` and ``is_return`` after cleaning.
* Per-customer tables are indexed by ``customer_id`` as plain ``str``.
* Money is in the shop's currency as given; durations are whole days unless a
  name says otherwise; dates are naive timestamps.
* Functions never mutate their inputs and never import Dash, Flask or portal.
"""
from .cleaning import CleanedLog, CleaningReport, clean_transactions, default_snapshot_date
from .errors import AnalyticsError, InsufficientDataError
from .loading import LoadError, load_transactions

__all__ = [
    "AnalyticsError",
    "CleanedLog",
    "CleaningReport",
    "InsufficientDataError",
    "LoadError",
    "clean_transactions",
    "default_snapshot_date",
    "load_transactions",
]
