"""The descriptive report: every table of the descriptive modules, computed once.

:func:`describe` turns a :class:`~analytics.cleaning.CleanedLog` into a
:class:`DescriptiveReport` (the portal calls it too); :func:`write_report`
writes it to a folder (:data:`REPORT_FILES`); :func:`run_report` is the whole
pipeline behind ``python -m analytics report``.

Models plug in through :data:`MODEL_STEPS`: each step gets the cleaned log and
the descriptive report and returns a :class:`ModelOutput` (columns joined to
``customers.csv``, a payload merged into ``models.json``, extra CSV files).  The
default step fits CLV, churn and recommendations (:data:`MODEL_FILES`);
``--skip-models`` skips them.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ._json import jsonable
from .cleaning import CleanedLog, CleaningReport, clean_transactions
from .clusters import ClusterResult, cluster_customers
from .cohorts import average_retention_curve, cohort_table, retention_matrix
from .mapping import ColumnMapping, apply_mapping, propose_mapping, read_table
from .distributions import rfm_distributions
from .errors import AnalyticsError, InsufficientDataError
from .geography import country_summary, unmapped_countries
from .loading import load_transactions
from .migration import SegmentMigration, segment_migration
from .products import ParetoCurve, pareto_curve, product_summary
from .rfm import (
    SEGMENT_ORDER,
    lorenz_curve,
    revenue_concentration,
    rfm_segment_grid,
    segment_summary,
    segmented_rfm,
)
from .trends import kpi_change, monthly_summary, weekday_hour

#: File name -> what it holds.
REPORT_FILES: dict[str, str] = {
    "customers.csv": "one row per customer: RFM values, scores, segment, previous segment, cluster",
    "segments.csv": "per RFM segment: customers, revenue, means",
    "migration.csv": "segment migration over the lookback: previous, current, customers, revenue",
    "cohort_retention.csv": "cohort x period: size, active customers, retention, revenue",
    "countries.csv": "per country: revenue, orders, customers, new customers, AOV, ISO3",
    "monthly.csv": "per month: revenue, orders, AOV, active / new / returning customers",
    "products.csv": "per stock code: revenue, units, returns, customers, orders",
    "summary.json": "cleaning report, KPIs, segment counts, concentration, chosen k",
}

#: Files the default model step adds.
MODEL_FILES: dict[str, str] = {
    "clv.csv": "per customer: BTYD summary, P(alive), expected purchase days in 30/90/365 days, expected gross "
               "purchase value, net/gross ratio, gross and net CLV, net 12-month CLV with its 80% interval, tier",
    "churn.csv": "per customer: churn probability, risk band, net 12-month CLV, net revenue at risk",
    "valuable_at_risk.csv": "the valuable customers at risk (analytics.risk), ranked by net revenue at risk",
    "models.json": "every fitted parameter, candidate model, choice and validation figure (CLV, churn, "
                   "recommendations)",
}

#: Floats in the CSV files: 12 significant digits (cents up to 10 billion).
CSV_FLOAT_FORMAT = "%.12g"

#: Steps of :func:`describe`, in order (names reported to ``on_step``).
DESCRIBE_STEPS: tuple[str, ...] = (
    "rfm", "migration", "clusters", "cohorts", "geography", "trends", "products",
)


@dataclass(frozen=True)
class ModelOutput:
    """What a model step adds: ``customer_columns`` (indexed by customer_id, joined
    to customers.csv), ``payload`` (JSON-ready; its keys are merged into
    models.json) and ``tables`` (extra CSV files: name -> frame indexed by customer_id)."""

    name: str
    customer_columns: pd.DataFrame | None = None
    payload: dict | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


ModelStep = Callable[[CleanedLog, "DescriptiveReport"], ModelOutput]


def fit_model_step(cleaned: CleanedLog, report: "DescriptiveReport", clv_model: str = "auto") -> ModelOutput:
    """CLV, churn and recommendations (:func:`analytics.models.fit_models`): the
    model columns of customers.csv, clv.csv, churn.csv, valuable_at_risk.csv and
    models.json.  ``clv_model``: "auto" or a forced purchase model."""
    # lazy: the model libraries (scikit-learn, scipy, lifetimes) only when models are fitted;
    # --skip-models and the descriptive modules never import them
    from .models import customer_model_columns, fit_models, model_summary, model_tables

    results = fit_models(cleaned, seed=report.seed, clv_model=clv_model)
    return ModelOutput("models", customer_model_columns(results), model_summary(results), model_tables(results))


#: Model steps run by :func:`run_report` unless models are skipped.
MODEL_STEPS: list[ModelStep] = [fit_model_step]


@dataclass(frozen=True)
class DescriptiveReport:
    """Every descriptive table of one snapshot (see the modules for definitions).

    ``clusters``, ``concentration``, ``lorenz`` and ``pareto`` are None when
    the data is too small for them; ``notes`` says why.
    """

    cleaning: CleaningReport
    snapshot_date: pd.Timestamp
    lookback_days: int
    seed: int
    rfm: pd.DataFrame  # rfm_table + rfm_scores + segment
    segments: pd.DataFrame
    segment_grid: pd.DataFrame
    concentration: dict | None
    lorenz: pd.DataFrame | None
    migration: SegmentMigration
    clusters: ClusterResult | None
    cohorts: pd.DataFrame
    retention: pd.DataFrame
    retention_curve: pd.DataFrame
    countries: pd.DataFrame
    monthly: pd.DataFrame
    weekday_hour: pd.DataFrame
    kpis: pd.DataFrame
    products: pd.DataFrame
    pareto: ParetoCurve | None
    distributions: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def customers(self) -> pd.DataFrame:
        """One row per customer: RFM, scores, segment, ``previous_segment``,
        ``cluster`` and ``cluster_label`` (missing when clustering was skipped)."""
        table = self.rfm.copy()
        table["previous_segment"] = self.migration.customers["previous"].reindex(table.index)
        if self.clusters is not None:
            table["cluster"] = self.clusters.labels.reindex(table.index)
            table["cluster_label"] = self.clusters.cluster_labels.reindex(table.index)
        else:
            table["cluster"] = pd.Series(pd.NA, index=table.index, dtype="Int64")
            table["cluster_label"] = pd.Series(pd.NA, index=table.index, dtype="str")
        return table

    def summary(self) -> dict:
        """JSON-ready overview (what summary.json holds)."""
        counts = self.segments["customers"]
        clusters = None
        if self.clusters is not None:
            clusters = {
                "k": self.clusters.k,
                "silhouette": self.clusters.silhouette,
                "features": list(self.clusters.features),
                "sample_size": self.clusters.sample_size,
                "curves": self.clusters.curves.to_dict(orient="records"),
                "labels": self.clusters.profiles["label"].tolist(),
            }
        kpis = self.kpis
        return jsonable(
            {
                "snapshot_date": self.snapshot_date.date().isoformat(),
                "lookback_days": self.lookback_days,
                "cleaning": self.cleaning.to_dict(),
                "customers": len(self.rfm),
                "kpis": {
                    "window": list(kpis.attrs.get("window", ())),
                    "previous_window": list(kpis.attrs.get("previous_window", ())),
                    **{name: row.to_dict() for name, row in kpis.iterrows()},
                },
                "segment_counts": {name: int(counts.get(name, 0)) for name in SEGMENT_ORDER},
                "segment_stayed_share": self.migration.stayed_share(),
                "concentration": self.concentration,
                "clusters": clusters,
                "pareto": None if self.pareto is None else {
                    "products": len(self.pareto.curve),
                    "products_for_80pct_revenue": self.pareto.products_for_80,
                    "product_share_for_80pct_revenue": self.pareto.product_share_for_80,
                },
                "unmapped_countries": unmapped_countries(self.countries),
                "notes": list(self.notes),
            }
        )


def describe(
    cleaned: CleanedLog,
    lookback_days: int = 90,
    seed: int = 0,
    *,
    cluster: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> DescriptiveReport:
    """All descriptive tables at the cleaned log's snapshot date.

    ``lookback_days`` sets the migration window, the new-customer window of the
    country table and the KPI window (last ``lookback_days`` days vs the ones
    before).  ``seed`` drives the clustering sample and k-means.  ``on_step``
    is called with each name of :data:`DESCRIBE_STEPS` once that step is done.
    """
    if not isinstance(cleaned, CleanedLog):
        raise AnalyticsError("describe() needs a CleanedLog: clean_transactions(load_transactions(...)).")
    done = on_step or (lambda _name: None)
    lines, snapshot, notes = cleaned.lines, cleaned.snapshot_date, []

    rfm = segmented_rfm(lines, snapshot)
    segments = segment_summary(rfm)
    grid = rfm_segment_grid(rfm)
    try:
        concentration, lorenz = revenue_concentration(rfm["monetary"]), lorenz_curve(rfm["monetary"])
    except InsufficientDataError as exc:
        concentration, lorenz = None, None
        notes.append(f"revenue concentration skipped: {exc}")
    distributions = rfm_distributions(rfm)
    done("rfm")
    migration = segment_migration(lines, snapshot, lookback_days)
    done("migration")
    clusters = None
    if cluster:
        try:
            clusters = cluster_customers(rfm, seed=seed)
        except InsufficientDataError as exc:
            notes.append(f"clustering skipped: {exc}")
    done("clusters")
    cohorts = cohort_table(lines, snapshot)
    done("cohorts")
    countries = country_summary(lines, snapshot, new_customer_days=lookback_days)
    done("geography")
    monthly = monthly_summary(lines, snapshot)
    hours = weekday_hour(lines, snapshot)
    kpis = kpi_change(lines, snapshot - pd.Timedelta(days=lookback_days), snapshot)
    done("trends")
    products = product_summary(lines, snapshot)
    try:
        pareto = pareto_curve(products)
    except InsufficientDataError as exc:
        pareto = None
        notes.append(f"Pareto curve skipped: {exc}")
    done("products")
    return DescriptiveReport(
        cleaning=cleaned.report, snapshot_date=snapshot, lookback_days=int(lookback_days), seed=seed,
        rfm=rfm, segments=segments, segment_grid=grid, concentration=concentration, lorenz=lorenz,
        migration=migration, clusters=clusters, cohorts=cohorts, retention=retention_matrix(cohorts),
        retention_curve=average_retention_curve(cohorts), countries=countries, monthly=monthly,
        weekday_hour=hours, kpis=kpis, products=products, pareto=pareto, distributions=distributions,
        notes=notes,
    )


def write_report(
    report: DescriptiveReport,
    out_dir: str | Path,
    model_outputs: list[ModelOutput] | None = None,
) -> dict[str, Path]:
    """Write :data:`REPORT_FILES` (plus ``models.json`` when ``model_outputs`` has
    payloads) into ``out_dir`` (created).  Returns file name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    customers = report.customers()
    models: dict[str, object] = {}
    extra_tables: dict[str, pd.DataFrame] = {}
    for output in model_outputs or []:
        if output.customer_columns is not None:
            customers = customers.join(output.customer_columns, how="left")
        models.update(output.payload or {})
        extra_tables.update(output.tables)
    tables = {
        "customers.csv": customers,
        "segments.csv": report.segments,
        "migration.csv": report.migration.to_long(),
        "cohort_retention.csv": report.cohorts,
        "countries.csv": report.countries,
        "monthly.csv": report.monthly,
        "products.csv": report.products,
        **extra_tables,
    }
    paths: dict[str, Path] = {}
    for name, table in tables.items():
        keep_index = table.index.name is not None
        paths[name] = out / name
        table.to_csv(paths[name], index=keep_index, date_format="%Y-%m-%d %H:%M:%S", float_format=CSV_FLOAT_FORMAT)
    documents = {"summary.json": report.summary()}
    if models:
        documents["models.json"] = jsonable(models)
    for name, payload in documents.items():
        paths[name] = out / name
        paths[name].write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return paths


def run_report(
    source: str | Path,
    out_dir: str | Path,
    snapshot_date: str | pd.Timestamp | None = None,
    skip_models: bool = False,
    lookback_days: int = 90,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    time_zone: str | None = None,
    mapping: str | Path | dict | None = None,
    clv_model: str = "auto",
) -> dict[str, Path]:
    """Load -> clean -> :func:`describe` -> model steps -> :func:`write_report`.

    ``progress`` is called with a step name after each step; ``time_zone`` is
    the shop's (see :func:`analytics.loading.load_transactions`).  ``mapping``
    (a JSON file, text or dict of :class:`analytics.mapping.ColumnMapping`)
    reads any export through it instead (``"auto"``: the proposed mapping); its
    quality report is written as ``quality.json``; ``clv_model``
    ("auto", "bgnbd", "mbgnbd", "pnbd") is passed to model steps that take it.
    """
    tick = progress or (lambda _name: None)
    quality = None
    if mapping is None:
        transactions = load_transactions(source, time_zone=time_zone)
    else:
        raw = read_table(source)
        columns = propose_mapping(list(raw.columns)) if mapping == "auto" else ColumnMapping.from_json(mapping)
        mapped = apply_mapping(raw, columns, time_zone)
        transactions, quality = mapped.transactions, mapped.report.to_dict()
    tick("load")
    cleaned = clean_transactions(transactions, snapshot_date)
    tick("clean")
    report = describe(cleaned, lookback_days=lookback_days, seed=seed, on_step=tick)
    outputs = [] if skip_models else [
        step(cleaned, report, clv_model=clv_model) if step is fit_model_step else step(cleaned, report)
        for step in MODEL_STEPS]
    tick("models")
    paths = write_report(report, out_dir, outputs)
    if quality is not None:
        paths["quality"] = Path(out_dir) / "quality.json"
        paths["quality"].write_text(json.dumps(quality, indent=2, default=str), encoding="utf-8")
    tick("write")
    return paths


#: Step names :func:`run_report` reports, in order (for progress bars).
RUN_STEPS: tuple[str, ...] = ("load", "clean") + DESCRIBE_STEPS + ("models", "write")
