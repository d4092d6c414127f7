"""fit_models: all parts on a synthetic log, failure isolation, outputs, real data."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import clean_transactions, load_transactions
from analytics import models as models_module
from analytics.models import (
    CUSTOMER_COLUMNS,
    PARTS,
    customer_model_columns,
    fit_models,
    model_summary,
    write_model_outputs,
)
from analytics.synthetic import generate_transactions

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def synthetic_log(n_customers: int, seed: int = 4):
    raw = generate_transactions(n_customers=n_customers, n_months=24, seed=seed)
    buffer = io.BytesIO()
    raw.to_parquet(buffer)
    return clean_transactions(load_transactions(buffer.getvalue()))


@pytest.fixture(scope="module")
def fitted():
    calls = []
    log = synthetic_log(800)
    results = fit_models(log, progress=lambda fraction, message: calls.append((fraction, message)))
    return log, results, calls


def test_every_part_runs(fitted):
    log, results, calls = fitted
    assert results.errors == {}
    for part, _, _ in PARTS:
        assert getattr(results, part) is not None, part
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert [m for _, m in calls[:-1]] == [message for _, _, message in PARTS]
    assert results.snapshot_date == log.snapshot_date
    recs = results.recommendations
    assert recs.groupby("customer_id").size().max() == 10
    assert recs["customer_id"].nunique() == log.report.customers


def test_customer_columns_join_the_models(fitted):
    _, results, _ = fitted
    table = customer_model_columns(results)
    assert list(table.columns) == list(CUSTOMER_COLUMNS)
    clv, scores = results.clv.customers, results.churn_scores
    assert set(table.index) == set(clv.index) | set(scores.index)
    np.testing.assert_allclose(table["net_clv_12m"], clv["net_clv_12m"].reindex(table.index))
    np.testing.assert_allclose(table["net_revenue_at_risk"], table["churn_probability"] * table["net_clv_12m"])
    assert (table["net_clv_12m_low"] <= table["net_clv_12m_high"]).all()
    assert table["valuable_at_risk"].sum() == len(results.valuable_at_risk.customers)
    assert table["p_alive"].between(0, 1).all() and table["churn_probability"].between(0, 1).all()


def test_summary_and_outputs(fitted, tmp_path):
    _, results, _ = fitted
    summary = model_summary(results)
    text = json.dumps(summary, allow_nan=False)  # JSON-ready: no NaN, no numpy types
    assert summary["clv"]["purchase_params"] == results.clv.purchase_params
    assert summary["clv"]["gg_params_gross"] == results.clv.gg_params
    choice = summary["clv"]["choice"]
    assert set(choice["candidates"]) == {"bgnbd", "mbgnbd", "pnbd"} and choice["chosen"] == results.clv.purchase_model
    metrics = results.clv_validation.metrics
    assert summary["clv_validation"]["mae_reduction_vs_naive"] == pytest.approx(
        1 - metrics[results.clv_validation.model]["mae"] / metrics["naive"]["mae"])
    assert summary["clv"]["summary"]["text"] and summary["churn"]["summary"]["text"]
    assert summary["churn"]["metrics"] == results.churn.metrics
    assert summary["churn"]["cutoff_eval"] == results.churn.cutoff_eval.isoformat()
    assert summary["recommendation_evaluation"]["hit_rate"] == results.recommendation_evaluation.hit_rate
    paths = write_model_outputs(results, tmp_path / "out")
    assert json.loads(paths["models"].read_text()) == json.loads(text)
    clv = pd.read_csv(paths["clv"], index_col="customer_id", dtype={"customer_id": str})
    np.testing.assert_allclose(clv["net_clv"], results.clv.customers["net_clv"].reindex(clv.index))
    churn = pd.read_csv(paths["churn"], index_col="customer_id", dtype={"customer_id": str})
    assert list(churn.columns) == ["churn_probability", "risk_band", "net_clv_12m", "net_revenue_at_risk"]
    assert len(churn) == len(results.churn_scores)


TINY = [("1", "a", "2024-01-01", "P1"), ("1", "a", "2024-01-01", "P2"), ("2", "b", "2024-01-02", "P1"),
        ("2", "b", "2024-01-02", "P2"), ("3", "c", "2024-01-03", "P2"), ("4", "a", "2024-02-01", "P3")]


def tiny_log():
    df = pd.DataFrame(TINY, columns=["invoice", "customer_id", "invoice_date", "stock_code"])
    df["invoice_date"] = pd.to_datetime(df["invoice_date"]).astype("datetime64[us]")
    df = df.assign(quantity=1, unit_price=2.0, description=df["stock_code"], country="United Kingdom")
    for column in ("invoice", "stock_code", "description", "customer_id", "country"):
        df[column] = df[column].astype("category")
    return clean_transactions(df)


def test_failures_are_isolated(monkeypatch, tmp_path):
    results = fit_models(tiny_log())
    assert set(results.errors) == {"clv", "clv_validation", "clv_intervals", "churn", "churn_scores",
                                   "valuable_at_risk", "recommendation_evaluation"}
    assert "BG/NBD needs at least 10 customers" in results.errors["clv"]
    assert results.errors["churn_scores"] == "Not available because the churn part failed."
    assert len(results.association_rules) == 2  # P1 -> P2 and P2 -> P1 (2 of 4 orders)
    assert results.recommendations is not None
    assert customer_model_columns(results).empty
    paths = write_model_outputs(results, tmp_path)
    assert pd.read_csv(paths["churn"]).empty
    assert json.loads(paths["models"].read_text())["errors"] == results.errors

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(models_module, "association_rules", broken)
    results = fit_models(tiny_log())
    assert results.errors["association_rules"] == "Unexpected RuntimeError: boom"
    assert results.recommendations is not None


@pytest.mark.realdata
def test_online_retail_models_beat_their_baselines():
    path = DATA / "online_retail.parquet"
    if not path.exists():
        pytest.skip(reason=f"{path} is absent"
                    " (the public UCI data is read from ../shared/data, never copied into this repository; see ../shared/data/README)")
    results = fit_models(clean_transactions(load_transactions(path)))
    assert results.errors == {}
    validation = results.clv_validation.metrics
    assert validation[results.clv_validation.model]["mae"] < 0.8 * validation["naive"]["mae"]  # 0.94 vs 1.45
    churn = results.churn.metrics
    assert churn["chosen"]["roc_auc"] > churn["baseline_recency"]["roc_auc"] + 0.03
    evaluation = results.recommendation_evaluation
    assert evaluation.hit_rate > evaluation.popularity_hit_rate + 0.05  # 0.43 vs 0.32
