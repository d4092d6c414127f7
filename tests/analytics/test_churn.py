"""Churn: hand-computed features, no look-ahead, degenerate inputs, signal beyond recency."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import InsufficientDataError, clean_transactions
from analytics.churn import (
    FEATURES,
    churn_features,
    churn_labels,
    score_customers,
    suggest_churn_horizon,
    train_churn_model,
)

COLUMNS = ["invoice", "customer_id", "invoice_date", "stock_code", "quantity", "unit_price", "country"]


def make_lines(rows) -> pd.DataFrame:
    """Cleaned lines from (invoice, customer, date, stock, qty, price, country) rows."""
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["invoice_date"] = pd.to_datetime(df["invoice_date"], format="ISO8601").astype("datetime64[us]")
    df["description"] = df["stock_code"]
    for column in ("invoice", "stock_code", "description", "customer_id", "country"):
        df[column] = df[column].astype("category")
    return clean_transactions(df).lines


UK, FR = "United Kingdom", "France"
TOY = [
    # A: 01-01 two invoices (25 + 10), 02-15 (30), return of 10 on 02-20, 03-20 (10); 04-10 after the cut-off
    ("1", "A", "2024-01-01 10:00", "P1", 2, 10.0, UK), ("1", "A", "2024-01-01 10:00", "P2", 1, 5.0, UK),
    ("2", "A", "2024-01-01 16:00", "P1", 1, 10.0, UK),
    ("3", "A", "2024-02-15 09:00", "P3", 3, 10.0, UK),
    ("C4", "A", "2024-02-20 09:00", "P3", -1, 10.0, UK),
    ("5", "A", "2024-03-20 09:00", "P1", 1, 10.0, UK),
    ("6", "A", "2024-04-10 09:00", "P1", 1, 10.0, UK),
    # B (France): one order on 2023-10-01
    ("7", "B", "2023-10-01 12:00", "P2", 4, 5.0, FR),
    # C: 2023-12-01 and 2024-03-31; next order 2024-05-15, beyond a 30-day horizon
    ("8", "C", "2023-12-01 12:00", "P1", 1, 10.0, UK),
    ("9", "C", "2024-03-31 12:00", "P2", 2, 5.0, UK),
    ("10", "C", "2024-05-15 12:00", "P2", 2, 5.0, UK),
]
CUTOFF = "2024-04-01"


def test_features_by_hand():
    got = churn_features(make_lines(TOY), CUTOFF, with_p_alive=False)
    expected = pd.DataFrame(
        {
            # A: last purchase day 03-20; B: 2023-10-01; C: 03-31
            "recency_days": [12.0, 183.0, 1.0],
            "frequency": [4.0, 1.0, 2.0],
            "monetary": [65.0, 20.0, 20.0],  # A: 25 + 10 + 30 - 10 + 10
            "tenure_days": [91.0, 183.0, 122.0],
            "mean_gap_days": [79 / 2, 183.0, 121.0],  # A: 01-01 -> 03-20 over two gaps
            "last_gap_days": [34.0, 183.0, 121.0],
            # A: last 90 days [01-02, 04-01): 30 + 10; the 90 before: 25 + 10
            "spend_trend": [(40 - 35) / 75, 0.0, 0.0],
            "return_rate": [10 / 75, 0.0, 0.0],
            "product_diversity": [3.0, 1.0, 2.0],
            "home_country": [1.0, 0.0, 1.0],
            "orders_per_month": [4 / 91 * 30.4375, 1 / 183 * 30.4375, 2 / 122 * 30.4375],
        },
        index=pd.Index(["A", "B", "C"], dtype="str", name="customer_id"))
    pd.testing.assert_frame_equal(got, expected)
    assert set(got.columns) | {"p_alive"} == set(FEATURES)


def test_labels_by_hand():
    labels = churn_labels(make_lines(TOY), CUTOFF, 30)
    assert labels.to_dict() == {"A": 0, "B": 1, "C": 1}
    assert churn_labels(make_lines(TOY), CUTOFF, 60).to_dict() == {"A": 0, "B": 1, "C": 0}


def test_horizon_by_hand():
    # gaps in days: A 45, 34, 21 (01-01, 02-15, 03-20, 04-10); C 121, 45 -> 90th percentile 97.6
    assert suggest_churn_horizon(make_lines(TOY)) == round(np.percentile([45, 34, 21, 121, 45], 90))
    # only orders before the snapshot count: A 45, 34; C 121
    assert suggest_churn_horizon(make_lines(TOY), "2024-04-01") == round(np.percentile([45, 34, 121], 90))


def regular_rows(n: int = 600, seed: int = 0) -> list[tuple]:
    """Customer i buys every g_i ~ U(7, 200) days (+-2 days jitter) from day s_i ~ U(0, 100);
    half of them stop for good at a uniform day.  Churn depends on recency relative to
    the customer's own rhythm, which recency alone cannot see.  Days 0..719 from 2022-01-01."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        gap, t = rng.uniform(7, 200), rng.uniform(0, 100)
        stop = rng.uniform(0, 720) if rng.random() < 0.5 else 720
        country = UK if rng.random() < 0.8 else FR
        k = 0
        while t < stop:
            date = pd.Timestamp("2022-01-01") + pd.Timedelta(days=float(t))
            for product in rng.choice(40, size=rng.integers(1, 4), replace=False):
                rows.append((f"{i}-{k}", f"c{i}", date.isoformat(), f"P{product}", int(rng.integers(1, 6)),
                             float(rng.choice([1.25, 2.5, 4.95])), country))
            k += 1
            t += gap + rng.uniform(-2, 2)
    return rows


SNAPSHOT = pd.Timestamp("2023-12-22")  # day 720


HORIZON = 60


@pytest.fixture(scope="module")
def regular():
    return make_lines(regular_rows())


@pytest.fixture(scope="module")
def trained(regular):
    return train_churn_model(regular, SNAPSHOT, horizon_days=HORIZON, seed=0)


def test_model_beats_recency_baseline(trained):
    """On the regular buyers the chosen model's ROC AUC on the untouched cut-off exceeds the
    recency-only score's; the model was chosen on cross-validation at the training cut-off."""
    assert trained.chosen == max(("logistic_regression", "gradient_boosting"),
                                 key=lambda m: (trained.cv[m]["roc_auc"], m == "logistic_regression"))
    chosen = trained.metrics["chosen"]["roc_auc"]
    assert chosen > trained.metrics["baseline_recency"]["roc_auc"] + 0.05
    assert trained.metrics["chosen"]["brier"] < trained.metrics["baseline_base_rate"]["brier"]
    assert trained.cutoff_train == SNAPSHOT - pd.Timedelta(days=2 * HORIZON)
    assert trained.cutoff_eval == SNAPSHOT - pd.Timedelta(days=HORIZON)
    assert trained.confusion_matrix.to_numpy().sum() == trained.n_eval
    cm = trained.confusion_matrix
    assert trained.classification_report["churned"]["recall"] == pytest.approx(
        cm.loc["churned", "churned"] / cm.loc["churned"].sum())
    assert trained.churn_rate_eval == pytest.approx(cm.loc["churned"].sum() / trained.n_eval)
    assert trained.roc_curve["fpr"].is_monotonic_increasing and trained.roc_curve["tpr"].iloc[-1] == 1.0
    assert set(trained.feature_importance["feature"]) == set(trained.feature_names)
    assert trained.calibration["mean_predicted"].between(0, 1).all()


def test_scoring_is_deterministic_and_banded(regular, trained):
    again = train_churn_model(regular, SNAPSHOT, horizon_days=HORIZON, seed=0)
    clv = pd.Series(100.0, index=[f"c{i}" for i in range(0, 600, 2)])
    first = score_customers(trained, regular, net_clv_12m=clv)
    second = score_customers(again, regular, net_clv_12m=clv)
    pd.testing.assert_frame_equal(first, second)
    assert again.metrics == trained.metrics and again.threshold == trained.threshold
    p = first["churn_probability"]
    assert p.between(0, 1).all()
    expected_band = np.where(p >= 0.7, "high", np.where(p >= 0.4, "medium", "low"))
    assert (first["risk_band"].astype(str).to_numpy() == expected_band).all()
    with_clv = first["net_clv_12m"].notna()
    np.testing.assert_allclose(first.loc[with_clv, "net_revenue_at_risk"], 100.0 * p[with_clv])
    assert first.loc[~with_clv, "net_revenue_at_risk"].isna().all()
    # every customer with an order before the snapshot is scored
    assert set(first.index) == set(regular.loc[regular["invoice_date"] < SNAPSHOT, "customer_id"].astype(str))


def test_future_transactions_change_no_feature(regular):
    cutoff = SNAPSHOT - pd.Timedelta(days=HORIZON)
    base = churn_features(regular, cutoff)
    planted = make_lines(regular_rows() + [
        ("F1", "c1", cutoff.isoformat(), "P1", 500, 99.0, FR),  # exactly at the cut-off
        ("F2", "new", (cutoff + pd.Timedelta(days=3)).isoformat(), "P2", 5, 1.0, FR),
        ("CF3", "c2", (cutoff + pd.Timedelta(days=5)).isoformat(), "P3", -5, 1.0, UK),
    ])
    assert len(planted) == len(regular) + 3
    pd.testing.assert_frame_equal(churn_features(planted, cutoff), base)
    assert base["p_alive"].between(0, 1).all()


def test_order_table_cut_once_equals_the_lines_before_each_cutoff():
    """The training run builds the order table once and cuts it at each cut-off; it must equal the
    table of the lines before the cut-off, also for an invoice whose lines straddle the cut-off
    (invoice 11: one line the day before, one the day of the cut-off)."""
    from analytics.churn_features import OrdersBefore
    from analytics.orders import customer_orders

    lines = make_lines(TOY + [("11", "B", "2024-03-31 23:00", "P1", 1, 10.0, FR),
                              ("11", "B", "2024-04-01 01:00", "P2", 1, 99.0, FR)])
    cache = OrdersBefore(lines)
    for cutoff in ("2024-01-01", "2024-02-16", "2024-03-31", CUTOFF, "2024-04-02", "2024-06-01"):
        day = pd.Timestamp(cutoff)
        expected = customer_orders(lines.loc[lines["invoice_date"] < day])
        pd.testing.assert_frame_equal(cache.before(day), expected, obj=cutoff)
    assert cache.before(pd.Timestamp(CUTOFF)).query("invoice == '11'")["revenue"].tolist() == [10.0]
    pd.testing.assert_frame_equal(churn_features(lines, CUTOFF, with_p_alive=False, orders=cache),
                                  churn_features(lines, CUTOFF, with_p_alive=False))


def test_degenerate_inputs_raise_clear_errors():
    one = make_lines([("1", "A", "2024-01-01", "P1", 1, 1.0, UK), ("2", "A", "2024-03-01", "P1", 1, 1.0, UK)])
    with pytest.raises(InsufficientDataError, match="at least 20 customers"):
        train_churn_model(one, "2024-06-01", horizon_days=30)
    once = make_lines([(str(i), f"c{i}", f"2024-01-{1 + i % 28:02d}", "P1", 1, 1.0, UK) for i in range(60)])
    with pytest.raises(InsufficientDataError, match="Nobody bought on two different days"):
        train_churn_model(once, "2024-06-01")
    # everybody churns: nobody orders after January
    with pytest.raises(InsufficientDataError, match=r"60 of whom churned .* and 0 ordered again"):
        train_churn_model(once, "2024-06-01", horizon_days=30)
    # nobody churns (single class the other way): everybody orders every week
    weekly = make_lines([(f"{i}-{w}", f"c{i}", (pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=w)).isoformat(),
                          "P1", 1, 1.0, UK) for i in range(30) for w in range(26)])
    with pytest.raises(InsufficientDataError, match="0 of whom churned"):
        train_churn_model(weekly, "2024-06-30", horizon_days=30)
    # a log too short for two horizons
    with pytest.raises(InsufficientDataError, match="too short"):
        train_churn_model(weekly, "2024-06-30", horizon_days=120)
