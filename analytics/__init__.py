"""Customer analytics for retail transaction logs: a pure library.

Pipeline: :func:`load_transactions` (CSV / XLSX / Parquet, UCI layouts) ->
:func:`clean_transactions` (rules counted in a report) -> descriptive tables
(RFM, segments, migration, clusters, cohorts, geography, trends, products) and
models (CLV, churn, recommendations).

Conventions shared by every module:

* Line-level frames use the canonical schema of :mod:`analytics.schema`, plus
  ``revenue`` and ``is_return`` after cleaning.
* Per-customer tables are indexed by ``customer_id`` as plain ``str``.
* Money is in the shop's currency as given, written for people only by
  :func:`analytics.units.format_money` with its ISO 4217 code; durations are
  whole days unless a name says otherwise.
* Dates follow :mod:`analytics.dates`: times are naive shop-local wall times
  (offsets converted at load with the shop's time zone, or refused); a date
  parameter is a calendar day, and a time of day is refused (:func:`as_day`).
* Functions never mutate their inputs and never import Dash, Flask or portal.
"""
from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

# Names are imported on first use (PEP 562), so ``import analytics`` costs only
# this module: ``python -m analytics --help`` and the descriptive report never
# pay for scikit-learn, scipy.stats or lifetimes unless a model or k-means runs.
#: public name -> submodule that defines it.
_EXPORTS: dict[str, str] = {
    "calibration_holdout_split": "btyd",
    "customer_summary": "btyd",
    "ChurnModel": "churn",
    "score_customers": "churn",
    "suggest_churn_horizon": "churn",
    "train_churn_model": "churn",
    "CleanedLog": "cleaning",
    "CleaningReport": "cleaning",
    "clean_transactions": "cleaning",
    "default_snapshot_date": "cleaning",
    "ClusterResult": "clusters",
    "cluster_customers": "clusters",
    "ClvResult": "clv",
    "ClvValidation": "clv",
    "fit_clv": "clv",
    "validate_clv": "clv",
    "average_retention_curve": "cohorts",
    "cohort_table": "cohorts",
    "retention_matrix": "cohorts",
    "as_day": "dates",
    "Outliers": "distributions",
    "histogram": "distributions",
    "iqr_outliers": "distributions",
    "rfm_distributions": "distributions",
    "AnalyticsError": "errors",
    "InsufficientDataError": "errors",
    "COUNTRY_CODES": "geography",
    "country_summary": "geography",
    "iso3": "geography",
    "unmapped_countries": "geography",
    "LoadError": "loading",
    "load_transactions": "loading",
    "SegmentMigration": "migration",
    "segment_migration": "migration",
    "ModelResults": "models",
    "customer_model_columns": "models",
    "fit_models": "models",
    "model_summary": "models",
    "write_model_outputs": "models",
    "ParetoCurve": "products",
    "pareto_curve": "products",
    "product_summary": "products",
    "top_products": "products",
    "association_rules": "recommend",
    "evaluate_recommendations": "recommend",
    "recommend_products": "recommend",
    "DescriptiveReport": "report",
    "describe": "report",
    "run_report": "report",
    "write_report": "report",
    "SEGMENT_DESCRIPTIONS": "rfm",
    "SEGMENT_MAP": "rfm",
    "SEGMENT_ORDER": "rfm",
    "assign_segments": "rfm",
    "lorenz_curve": "rfm",
    "revenue_concentration": "rfm",
    "rfm_scores": "rfm",
    "rfm_segment_grid": "rfm",
    "rfm_table": "rfm",
    "segment_summary": "rfm",
    "segmented_rfm": "rfm",
    "business_kpis": "trends",
    "kpi_change": "trends",
    "monthly_summary": "trends",
    "weekday_hour": "trends",
    "currency_symbol": "units",
    "format_money": "units",
    "churn_model_summary": "explain",
    "purchase_model_summary": "explain",
    "ClvIntervals": "intervals",
    "clv_intervals": "intervals",
    "ModelChoice": "model_choice",
    "choose_purchase_model": "model_choice",
    "ModelRecordError": "model_store",
    "CANDIDATES": "purchase_models",
    "fit_purchase_model": "purchase_models",
    "ValuableAtRisk": "risk",
    "p_alive_churn_agreement": "risk",
    "valuable_at_risk": "risk",
    "CLV_TIERS": "tiers",
    "clv_tiers": "tiers",
    "in_tier": "tiers",
    "tier_counts": "tiers",
}

__all__ = [
    "AnalyticsError",
    "CleanedLog",
    "CleaningReport",
    "InsufficientDataError",
    "LoadError",
    "as_day",
    "clean_transactions",
    "currency_symbol",
    "default_snapshot_date",
    "format_money",
    "load_transactions",
    # descriptive tables
    "COUNTRY_CODES",
    "ClusterResult",
    "DescriptiveReport",
    "Outliers",
    "ParetoCurve",
    "SEGMENT_DESCRIPTIONS",
    "SEGMENT_MAP",
    "SEGMENT_ORDER",
    "SegmentMigration",
    "assign_segments",
    "average_retention_curve",
    "business_kpis",
    "cluster_customers",
    "cohort_table",
    "country_summary",
    "describe",
    "histogram",
    "iqr_outliers",
    "iso3",
    "kpi_change",
    "lorenz_curve",
    "monthly_summary",
    "pareto_curve",
    "product_summary",
    "retention_matrix",
    "revenue_concentration",
    "rfm_distributions",
    "rfm_scores",
    "rfm_segment_grid",
    "rfm_table",
    "run_report",
    "segment_migration",
    "segment_summary",
    "segmented_rfm",
    "top_products",
    "unmapped_countries",
    "weekday_hour",
    "write_report",
    # models
    "CANDIDATES",
    "CLV_TIERS",
    "ChurnModel",
    "ClvIntervals",
    "ModelChoice",
    "ModelRecordError",
    "ValuableAtRisk",
    "choose_purchase_model",
    "churn_model_summary",
    "clv_intervals",
    "clv_tiers",
    "fit_purchase_model",
    "in_tier",
    "p_alive_churn_agreement",
    "purchase_model_summary",
    "tier_counts",
    "valuable_at_risk",
    "ClvResult",
    "ClvValidation",
    "ModelResults",
    "association_rules",
    "calibration_holdout_split",
    "customer_model_columns",
    "customer_summary",
    "evaluate_recommendations",
    "fit_clv",
    "fit_models",
    "model_summary",
    "recommend_products",
    "score_customers",
    "suggest_churn_horizon",
    "train_churn_model",
    "validate_clv",
    "write_model_outputs",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'analytics' has no attribute {name!r}")
    value = getattr(_load(module), name)
    globals()[name] = value  # cached: later lookups do not come back here
    return value


def _load(module: str) -> ModuleType:
    """The submodule ``module``, imported now (one explicit import per module, so
    every arrow of the import graph stays readable)."""
    # Deliberate lazy loading (PEP 562): a name's submodule is imported on first use.
    match module:
        case "btyd":
            from . import btyd as loaded
        case "churn":
            from . import churn as loaded
        case "cleaning":
            from . import cleaning as loaded
        case "clusters":
            from . import clusters as loaded
        case "clv":
            from . import clv as loaded
        case "cohorts":
            from . import cohorts as loaded
        case "dates":
            from . import dates as loaded
        case "distributions":
            from . import distributions as loaded
        case "errors":
            from . import errors as loaded
        case "geography":
            from . import geography as loaded
        case "loading":
            from . import loading as loaded
        case "migration":
            from . import migration as loaded
        case "models":
            from . import models as loaded
        case "products":
            from . import products as loaded
        case "recommend":
            from . import recommend as loaded
        case "report":
            from . import report as loaded
        case "rfm":
            from . import rfm as loaded
        case "trends":
            from . import trends as loaded
        case "units":
            from . import units as loaded
        case "explain":
            from . import explain as loaded
        case "intervals":
            from . import intervals as loaded
        case "model_choice":
            from . import model_choice as loaded
        case "model_store":
            from . import model_store as loaded
        case "purchase_models":
            from . import purchase_models as loaded
        case "risk":
            from . import risk as loaded
        case "tiers":
            from . import tiers as loaded
        case _:
            raise AttributeError(f"module 'analytics' has no submodule {module!r}")
    return loaded


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # static checkers and IDEs see the eager imports
    from .btyd import calibration_holdout_split, customer_summary
    from .churn import ChurnModel, score_customers, suggest_churn_horizon, train_churn_model
    from .cleaning import CleanedLog, CleaningReport, clean_transactions, default_snapshot_date
    from .clusters import ClusterResult, cluster_customers
    from .clv import ClvResult, ClvValidation, fit_clv, validate_clv
    from .cohorts import average_retention_curve, cohort_table, retention_matrix
    from .dates import as_day
    from .distributions import Outliers, histogram, iqr_outliers, rfm_distributions
    from .errors import AnalyticsError, InsufficientDataError
    from .explain import churn_model_summary, purchase_model_summary
    from .geography import COUNTRY_CODES, country_summary, iso3, unmapped_countries
    from .intervals import ClvIntervals, clv_intervals
    from .loading import LoadError, load_transactions
    from .migration import SegmentMigration, segment_migration
    from .model_choice import ModelChoice, choose_purchase_model
    from .model_store import ModelRecordError
    from .models import ModelResults, customer_model_columns, fit_models, model_summary, write_model_outputs
    from .products import ParetoCurve, pareto_curve, product_summary, top_products
    from .purchase_models import CANDIDATES, fit_purchase_model
    from .recommend import association_rules, evaluate_recommendations, recommend_products
    from .report import DescriptiveReport, describe, run_report, write_report
    from .rfm import (
        SEGMENT_DESCRIPTIONS,
        SEGMENT_MAP,
        SEGMENT_ORDER,
        assign_segments,
        lorenz_curve,
        revenue_concentration,
        rfm_scores,
        rfm_segment_grid,
        rfm_table,
        segment_summary,
        segmented_rfm,
    )
    from .risk import ValuableAtRisk, p_alive_churn_agreement, valuable_at_risk
    from .tiers import CLV_TIERS, clv_tiers, in_tier, tier_counts
    from .trends import business_kpis, kpi_change, monthly_summary, weekday_hour
    from .units import currency_symbol, format_money
