"""All predictive models of a cleaned log in one call, with failures isolated.

:func:`fit_models` runs, at the log's snapshot date: CLV (BG/NBD + Gamma-Gamma,
:mod:`analytics.clv`) and its holdout validation, the churn model
(:mod:`analytics.churn`) and its scores, association rules, top-10
recommendations for every customer and their holdout evaluation
(:mod:`analytics.recommend`).  A part that fails leaves ``None`` and a
message in :attr:`ModelResults.errors` instead of raising.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._json import jsonable
from .churn import ChurnModel, score_customers, train_churn_model
from .cleaning import CleanedLog
from .clv import CLV_COLUMNS, ClvResult, ClvValidation, fit_clv, validate_clv
from .errors import AnalyticsError
from .explain import churn_model_summary, purchase_model_summary
from .intervals import ClvIntervals, clv_intervals
from .risk import COLUMNS as RISK_COLUMNS
from .risk import ValuableAtRisk, p_alive_churn_agreement, valuable_at_risk
from .tiers import tier_counts
from .recommend import (
    RecommendationEvaluation,
    association_rules,
    evaluate_recommendations,
    recommend_products,
)

Progress = Callable[[float, str], None]

#: (part, share of the run time, message shown while it runs), in running order.
PARTS: tuple[tuple[str, float, str], ...] = (
    ("clv", 0.15, "Choosing and fitting the CLV models"),
    ("clv_validation", 0.05, "Validating the purchase forecast on a holdout"),
    ("clv_intervals", 0.10, "Simulating each customer's 12-month range"),
    ("churn", 0.35, "Training churn models"),
    ("churn_scores", 0.05, "Scoring churn risk"),
    ("valuable_at_risk", 0.05, "Finding valuable customers at risk"),
    ("association_rules", 0.05, "Mining association rules"),
    ("recommendations", 0.10, "Recommending products"),
    ("recommendation_evaluation", 0.10, "Evaluating recommendations on a holdout"),
)
CUSTOMER_COLUMNS = ("p_alive", "expected_purchase_days_90d", "net_clv_12m", "net_clv_12m_low", "net_clv_12m_high",
                    "clv_tier", "churn_probability", "risk_band", "net_revenue_at_risk", "valuable_at_risk")


@dataclass(frozen=True)
class ModelResults:
    """Outputs of :func:`fit_models`; a part is ``None`` when ``errors`` names it."""

    snapshot_date: pd.Timestamp
    settings: dict
    clv: ClvResult | None = None
    clv_validation: ClvValidation | None = None
    clv_intervals: ClvIntervals | None = None
    churn: ChurnModel | None = None
    churn_scores: pd.DataFrame | None = None
    valuable_at_risk: ValuableAtRisk | None = None
    association_rules: pd.DataFrame | None = None
    recommendations: pd.DataFrame | None = None
    recommendation_evaluation: RecommendationEvaluation | None = None
    errors: dict[str, str] = field(default_factory=dict)


def fit_models(cleaned: CleanedLog, *, horizon_months: int = 12, holdout_days: int = 90,
               churn_horizon_days: int | None = None, seed: int = 0, clv_model: str = "auto",
               progress: Progress | None = None) -> ModelResults:
    """Fit every model on ``cleaned`` at its snapshot date (see the module docstring).

    ``horizon_months``: CLV horizon; ``holdout_days``: holdout of the CLV
    choice and recommendation checks; ``churn_horizon_days``: None = estimated
    from the data; ``seed``: for the churn models and simulations; ``clv_model``:
    "auto" (chosen on the holdout) or "bgnbd" / "mbgnbd" / "pnbd" (forced).  ``progress(fraction, message)`` is
    called before each part and with 1.0 at the end.
    """
    lines, snapshot = cleaned.lines, cleaned.snapshot_date
    done: dict[str, object] = {}
    errors: dict[str, str] = {}

    def needs(part: str):
        if done.get(part) is None:
            raise AnalyticsError(f"Not available because the {part.replace('_', ' ')} part failed.")
        return done[part]

    def churn_scores():
        clv = done.get("clv")
        return score_customers(needs("churn"), lines, snapshot,
                               net_clv_12m=None if clv is None else clv.customers["net_clv_12m"])

    def at_risk():
        return valuable_at_risk(lines, snapshot, needs("churn_scores"), base_rate=needs("churn").churn_rate_eval)

    runners = {
        "clv": lambda: fit_clv(lines, snapshot, horizon_months=horizon_months, model=clv_model,
                               holdout_days=holdout_days, seed=seed),
        "clv_validation": lambda: validate_clv(lines, snapshot, holdout_days=holdout_days,
                                               model=needs("clv").purchase_model),
        "clv_intervals": lambda: clv_intervals(needs("clv"), seed=seed),
        "churn": lambda: train_churn_model(lines, snapshot, horizon_days=churn_horizon_days, seed=seed),
        "churn_scores": churn_scores,
        "valuable_at_risk": at_risk,
        "association_rules": lambda: association_rules(lines),
        "recommendations": lambda: recommend_products(lines, n=10, snapshot_date=snapshot),
        "recommendation_evaluation": lambda: evaluate_recommendations(lines, snapshot, holdout_days, k=10),
    }
    fraction = 0.0
    for part, share, message in PARTS:
        if progress is not None:
            progress(fraction, message)
        try:
            done[part] = runners[part]()
        except AnalyticsError as exc:
            errors[part] = str(exc)
        except Exception as exc:  # noqa: BLE001 -- a model bug must not take the other models down
            errors[part] = f"Unexpected {type(exc).__name__}: {exc}"
        fraction += share
    if progress is not None:
        progress(1.0, "Models done" + (f" ({len(errors)} part(s) failed)" if errors else ""))
    settings = {"horizon_months": horizon_months, "holdout_days": holdout_days,
                "churn_horizon_days": churn_horizon_days, "seed": seed, "clv_model": clv_model}
    return ModelResults(snapshot_date=snapshot, settings=settings, errors=errors,
                        **{part: done.get(part) for part, _, _ in PARTS})


def customer_model_columns(results: ModelResults) -> pd.DataFrame:
    """Per customer: :data:`CUSTOMER_COLUMNS` (NaN where a model is missing)."""
    frames = []
    if results.clv is not None:
        frames.append(results.clv.customers[["p_alive", "expected_purchase_days_90d", "net_clv_12m", "clv_tier"]])
    if results.clv_intervals is not None:
        frames.append(results.clv_intervals.table[["net_clv_12m_low", "net_clv_12m_high"]])
    if results.churn_scores is not None:
        frames.append(results.churn_scores[["churn_probability", "risk_band", "net_revenue_at_risk"]])
    table = pd.concat(frames, axis=1, join="outer") if frames else pd.DataFrame()
    for column in CUSTOMER_COLUMNS:
        if column not in table.columns:
            table[column] = np.nan
    if results.valuable_at_risk is not None:
        table["valuable_at_risk"] = table.index.isin(results.valuable_at_risk.customers.index)
    table.index = pd.Index(table.index, dtype="str", name="customer_id")
    return table[list(CUSTOMER_COLUMNS)].sort_index()


def model_summary(results: ModelResults) -> dict:
    """Every parameter and validation figure, JSON-ready (NaN -> None, dates ISO)."""
    out: dict = {"snapshot_date": results.snapshot_date, "settings": results.settings,
                 "errors": results.errors}
    clv = results.clv
    if clv is not None:
        out["clv"] = {
            "purchase_model": clv.purchase_model, "forced": clv.forced, "purchase_params": clv.purchase_params,
            "alpha_beta_unit": "days", "penalizer": clv.penalizer,
            "p_alive_informative": clv.p_alive_informative,
            "boundary_fit": None if clv.fit is None else clv.fit.boundary_note(),
            "choice": None if clv.choice is None else clv.choice.to_dict(),
            "gg_params_gross": clv.gg_params, "gg_penalizer": clv.gg_penalizer,
            "freq_monetary_corr": clv.freq_monetary_corr, "monetary_cap_gross": clv.monetary_cap,
            "population_mean_purchase_value_gross": clv.population_mean_order_value,
            "money_basis": "net: Gamma-Gamma on gross purchase values x each customer's net/gross ratio",
            "horizon_months": clv.horizon_months, "monthly_discount": clv.monthly_discount,
            "customers": len(clv.customers), "total_net_clv": clv.customers["net_clv"].sum(),
            "total_gross_clv": clv.customers["gross_clv"].sum(),
            "mean_p_alive": clv.customers["p_alive"].mean(),
            "p_alive_quantiles": clv.customers["p_alive"].quantile([0.1, 0.5, 0.9]).to_dict(),
            "tier_counts_cumulative": tier_counts(clv.customers["clv_tier"]),
            "summary": purchase_model_summary(clv), "notes": list(clv.notes)}
    val = results.clv_validation
    if val is not None:
        model, naive = val.metrics[val.model], val.metrics["naive"]
        out["clv_validation"] = {
            "model": val.model, "calibration_end": val.calibration_end, "holdout_end": val.holdout_end,
            "holdout_days": val.holdout_days, "customers": val.n_customers, "total_actual": val.total_actual,
            "metrics": val.metrics, "mae_reduction_vs_naive": 1 - model["mae"] / naive["mae"],
            "params": val.bgnbd_params, "penalizer": val.penalizer,
            "buckets": val.buckets.reset_index().to_dict("records"), "notes": list(val.notes)}
    if results.clv_intervals is not None:
        iv = results.clv_intervals
        out["clv_intervals"] = {"level": iv.level, "draws": iv.draws, "seed": iv.seed, "model": iv.model,
                                "columns": list(iv.table.columns), "money_basis": "net",
                                "median_width_net_clv_12m": (iv.table["net_clv_12m_high"]
                                                             - iv.table["net_clv_12m_low"]).median()}
    churn = results.churn
    if churn is not None:
        out["churn"] = {
            key: getattr(churn, key) for key in (
                "definition", "horizon_days", "horizon_rule", "cutoff_train", "cutoff_eval", "n_train",
                "n_eval", "churn_rate_train", "churn_rate_eval", "metrics", "chosen", "threshold",
                "threshold_rule", "classification_report", "baseline", "feature_names", "seed",
                "calibration_method", "cv", "training_cutoffs", "horizon_path")}
        out["churn"].update(
            notes=list(churn.notes), summary=churn_model_summary(churn),
            confusion_matrix=churn.confusion_matrix.to_dict("index"),
            calibration=churn.calibration.to_dict("records"),
            feature_importance=churn.feature_importance.to_dict("records"),
            roc_curve=churn.roc_curve.to_dict("list"), pr_curve=churn.pr_curve.to_dict("list"))
    scores = results.churn_scores
    if scores is not None:
        out["churn_scores"] = {
            "customers": len(scores), "risk_bands": {str(k): int(v) for k, v in scores["risk_band"].value_counts().items()},
            "mean_churn_probability": scores["churn_probability"].mean(),
            "net_revenue_at_risk": scores["net_revenue_at_risk"].sum(min_count=1),
            "net_revenue_at_risk_sums_over": "every scored customer (churn probability x net 12-month CLV)"}
        if clv is not None:
            out["p_alive_churn_agreement"] = p_alive_churn_agreement(
                clv.customers["p_alive"], scores["churn_probability"], clv.p_alive_informative,
                repeat=clv.customers["repeat_purchase_days"] > 0)
    if results.valuable_at_risk is not None:
        out["valuable_at_risk"] = results.valuable_at_risk.to_dict()
    if results.association_rules is not None:
        out["association_rules"] = {"rules": len(results.association_rules),
                                    "top": results.association_rules.head(20).to_dict("records")}
    recs = results.recommendations
    if recs is not None:
        out["recommendations"] = {"customers": int(recs["customer_id"].nunique()), "rows": len(recs),
                                  "sources": {str(k): int(v) for k, v in recs["source"].value_counts().items()}}
    if results.recommendation_evaluation is not None:
        out["recommendation_evaluation"] = results.recommendation_evaluation.to_dict()
    return jsonable(out)


def model_tables(results: ModelResults) -> dict[str, pd.DataFrame]:
    """``clv.csv`` (the CLV table with the 80 % intervals), ``churn.csv`` (churn scores) and
    ``valuable_at_risk.csv`` as frames indexed by customer_id; a failed part gives an
    empty frame with its columns."""
    def empty(columns) -> pd.DataFrame:
        return pd.DataFrame(columns=list(columns), index=pd.Index([], name="customer_id"))

    clv = results.clv.customers if results.clv is not None else empty(CLV_COLUMNS)
    if results.clv_intervals is not None:
        clv = clv.join(results.clv_intervals.table, how="left")
    churn = results.churn_scores if results.churn_scores is not None else empty(
        ["churn_probability", "risk_band", "net_clv_12m", "net_revenue_at_risk"])
    at_risk = results.valuable_at_risk.customers if results.valuable_at_risk is not None else empty(RISK_COLUMNS)
    return {"clv.csv": clv.rename_axis("customer_id"), "churn.csv": churn.rename_axis("customer_id"),
            "valuable_at_risk.csv": at_risk.rename_axis("customer_id")}


def write_model_outputs(results: ModelResults, out_dir: str | Path) -> dict[str, Path]:
    """Write :func:`model_tables` and ``models.json`` (:func:`model_summary`) into
    ``out_dir`` (created); a failed part's CSV has its header only.  Returns the
    paths by name (``clv``, ``churn``, ``valuable_at_risk``, ``models``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in model_tables(results).items():
        paths[name.removesuffix(".csv")] = out / name
        table.to_csv(out / name, index_label="customer_id")
    paths["models"] = out / "models.json"
    paths["models"].write_text(json.dumps(model_summary(results), indent=2, allow_nan=False) + "\n",
                               encoding="utf-8")
    return paths
