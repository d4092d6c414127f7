"""Recommendations: hand-computed rules, similarity scores, fallback and hit rate."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import InsufficientDataError, clean_transactions
from analytics.recommend import association_rules, evaluate_recommendations, recommend_products

COLUMNS = ["invoice", "customer_id", "invoice_date", "stock_code", "quantity", "unit_price"]


def make_lines(baskets) -> pd.DataFrame:
    """Cleaned lines from (invoice, customer or None, date, products) baskets.  Product
    "X" gets stock code "PX" ("B", "D", ... alone are non-product codes that cleaning
    removes); a product written "-X" is a returned unit on a cancellation invoice."""
    rows = [(inv, cust, date, "P" + code.lstrip("-"), -1 if code.startswith("-") else 1, 2.0)
            for inv, cust, date, codes in baskets for code in codes]
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["invoice_date"] = pd.to_datetime(df["invoice_date"]).astype("datetime64[us]")
    df["description"] = "item " + df["stock_code"].str[1:]
    df["country"] = "United Kingdom"
    for column in ("invoice", "stock_code", "description", "customer_id", "country"):
        df[column] = df[column].astype("category")
    return clean_transactions(df).lines


# Four orders: {A, B}, {A, B, C} (a guest), {A, C}, {B, D}; a cancellation of C is not an order.
RULES_TOY = [
    ("1", "x", "2024-01-01", ["A", "B"]),
    ("2", None, "2024-01-02", ["A", "B", "C"]),
    ("3", "y", "2024-01-03", ["A", "C"]),
    ("4", "z", "2024-01-04", ["B", "D"]),
    ("C5", "y", "2024-01-05", ["-C"]),
]


def test_association_rules_by_hand():
    rules = association_rules(make_lines(RULES_TOY), min_support=0.25, top=None)
    # item supports: A 3/4, B 3/4, C 2/4, D 1/4; pair counts: AB 2, AC 2, BC 1, BD 1
    expected = pd.DataFrame(
        [("PA", "PC", 2, 0.50, 2 / 3, (2 / 3) / (2 / 4)),
         ("PC", "PA", 2, 0.50, 1.0, 1 / (3 / 4)),
         ("PB", "PD", 1, 0.25, 1 / 3, (1 / 3) / (1 / 4)),
         ("PD", "PB", 1, 0.25, 1.0, 1 / (3 / 4)),
         ("PA", "PB", 2, 0.50, 2 / 3, (2 / 3) / (3 / 4)),
         ("PB", "PA", 2, 0.50, 2 / 3, (2 / 3) / (3 / 4)),
         ("PB", "PC", 1, 0.25, 1 / 3, (1 / 3) / (2 / 4)),
         ("PC", "PB", 1, 0.25, 1 / 2, (1 / 2) / (3 / 4))],
        columns=["antecedent", "consequent", "orders", "support", "confidence", "lift"])
    got = rules[expected.columns].astype({"antecedent": object, "consequent": object})
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert rules.loc[0, "antecedent_description"] == "item A"
    assert rules.loc[0, "consequent_support"] == 0.5


def test_association_rules_min_support_and_top():
    lines = make_lines(RULES_TOY)
    rules = association_rules(lines, min_support=0.5, top=None)
    assert set(zip(rules["antecedent"], rules["consequent"])) == {("PA", "PB"), ("PB", "PA"), ("PA", "PC"), ("PC", "PA")}
    assert len(association_rules(lines, min_support=0.25, top=3)) == 3
    with pytest.raises(ValueError):
        association_rules(lines, min_support=0)


# Customers' baskets: c1 {A, B}, c2 {A, B, C}, c3 {A, C}, c4 {B, D}, c5 {A}.
CUSTOMERS = [
    ("1", "c1", "2024-01-01", ["A", "B"]),
    ("2", "c2", "2024-01-02", ["A", "B"]),
    ("3", "c2", "2024-01-10", ["C"]),
    ("4", "c3", "2024-01-03", ["A", "C"]),
    ("5", "c4", "2024-01-04", ["B", "D"]),
    ("6", "c5", "2024-01-05", ["A"]),
    ("7", None, "2024-01-06", ["D", "C"]),  # a guest: no customer history
]


def test_recommendations_by_hand():
    """Cosine over customers: A = {c1, c2, c3, c5}, B = {c1, c2, c4}, C = {c2, c3}, D = {c4};
    cos(A, B) = 2 / sqrt(12), cos(A, C) = 2 / sqrt(8), cos(B, C) = 1 / sqrt(6), cos(A, D) = 0."""
    recs = recommend_products(make_lines(CUSTOMERS), n=3)
    c5 = recs[recs["customer_id"] == "c5"]
    assert c5["stock_code"].tolist() == ["PC", "PB", "PD"]
    np.testing.assert_allclose(c5["score"], [2 / np.sqrt(8), 2 / np.sqrt(12), 1 / 5])  # D: 1 of 5 buyers
    assert c5["source"].tolist() == ["similar", "similar", "popular"]
    assert c5["rank"].tolist() == [1, 2, 3]
    c3 = recs[recs["customer_id"] == "c3"]  # bought A and C: only B and D are left
    assert c3["stock_code"].tolist() == ["PB", "PD"]
    assert c3["score"].iloc[0] == pytest.approx(2 / np.sqrt(12) + 1 / np.sqrt(6))
    assert recs["description"].iloc[0].startswith("item ")


def test_recommendations_exclude_bought_items():
    lines = make_lines(CUSTOMERS)
    recs = recommend_products(lines, n=10)
    bought = set(zip(lines["customer_id"].astype(str), lines["stock_code"].astype(str)))
    assert not set(zip(recs["customer_id"], recs["stock_code"])) & bought
    assert recs.groupby("customer_id").size().to_dict() == {"c1": 2, "c2": 1, "c3": 2, "c4": 2, "c5": 3}


def test_popularity_fallback_for_unknown_customers():
    recs = recommend_products(make_lines(CUSTOMERS), customer_ids=["zz", "c5"], n=3)
    zz = recs[recs["customer_id"] == "zz"]
    # most distinct buyers: A (4 of 5), B (3), C (2)
    assert zz["stock_code"].tolist() == ["PA", "PB", "PC"]
    np.testing.assert_allclose(zz["score"], [4 / 5, 3 / 5, 2 / 5])
    assert (zz["source"] == "popular").all()
    assert recs["customer_id"].unique().tolist() == ["zz", "c5"]


HOLDOUT = CUSTOMERS + [
    ("8", "c5", "2024-03-10", ["C"]),  # new to c5
    ("9", "c3", "2024-03-12", ["D"]),  # new to c3
    ("10", "c1", "2024-03-15", ["A"]),  # not new: c1 is not evaluated
    ("11", "c6", "2024-03-15", ["A"]),  # no calibration history: not evaluated
]


def test_hit_rate_by_hand():
    """Calibration before 2024-03-02, holdout to 2024-04-01.  k = 1: the model gives c5 C
    (hit) and c3 B (miss); popularity gives both B (misses).  k = 2: model c5 [C, B],
    c3 [B, D]; popularity c5 [B, C], c3 [B, D]: all hit."""
    lines = make_lines(HOLDOUT)
    one = evaluate_recommendations(lines, "2024-04-01", holdout_days=30, k=1)
    assert one.n_customers == 2
    assert (one.hit_rate, one.popularity_hit_rate) == (0.5, 0.0)
    assert (one.precision, one.recall) == (0.5, 0.5)
    assert (one.popularity_precision, one.popularity_recall) == (0.0, 0.0)
    two = evaluate_recommendations(lines, "2024-04-01", holdout_days=30, k=2)
    assert (two.hit_rate, two.popularity_hit_rate) == (1.0, 1.0)
    assert (two.precision, two.recall) == (0.5, 1.0)
    assert two.to_dict()["calibration_end"] == "2024-03-02T00:00:00"


def test_nothing_to_evaluate_is_a_clear_error():
    with pytest.raises(InsufficientDataError, match="new to them"):
        evaluate_recommendations(make_lines(CUSTOMERS), "2024-04-01", holdout_days=30)
    with pytest.raises(InsufficientDataError, match="No customer purchases"):
        recommend_products(make_lines(CUSTOMERS), snapshot_date="2023-01-01")
