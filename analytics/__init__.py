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
from .risk import ValuableAtRisk, p_alive_churn_agreement, valuable_at_risk
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
from .tiers import CLV_TIERS, clv_tiers, in_tier, tier_counts
from .trends import business_kpis, kpi_change, monthly_summary, weekday_hour
from .units import currency_symbol, format_money

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
