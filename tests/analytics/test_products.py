"""Product summary, top products and Pareto curve: the RFM toy by hand and real data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from descriptive_toys import RFM_SNAPSHOT, make_log

from analytics.errors import AnalyticsError, InsufficientDataError
from analytics.products import (
    pareto_curve,
    product_summary,
    return_rate_leaders,
    returned_value,
    top_products,
)

# RFM toy lines by product:
#   P1 Apple @5: 1001 +2 (A), C1002 -1 (A), 1004 +4 (B), 1006 +1 (C), C1008 -1 (D), 1009 +1 (guest)
#      revenue 10 - 5 + 20 + 5 - 5 + 5 = 30; sold 8, returned 2; buyers A, B, C; orders 4
#   P2 Bowl @3: 1001 +1 (A), 1003 +2 (A), 1005 +10 (C)
#      revenue 3 + 6 + 30 = 39; sold 13; buyers A, C; orders 3


def test_product_summary_by_hand(rfm_log):
    summary = product_summary(rfm_log.lines, RFM_SNAPSHOT)
    assert list(summary.index) == ["P2", "P1"] and summary.index.name == "stock_code"
    assert summary["description"].tolist() == ["Bowl", "Apple"]
    assert summary["revenue"].tolist() == pytest.approx([39.0, 30.0])
    assert summary["quantity"].tolist() == [13, 8]
    assert summary["returned_quantity"].tolist() == [0, 2]
    assert summary["return_rate"].tolist() == pytest.approx([0.0, 0.25])
    assert summary["customers"].tolist() == [2, 3]
    assert summary["orders"].tolist() == [3, 4]


def test_most_frequent_description_with_ties():
    log = make_log([
        ("1", "X", "Red mug", 1, "2011-01-01 10:00", 1.0, "A", "France"),
        ("2", "X", "RED MUG", 1, "2011-01-02 10:00", 1.0, "A", "France"),
        ("3", "X", "Red mug", 1, "2011-01-03 10:00", 1.0, "A", "France"),
        ("4", "Y", "b thing", 1, "2011-01-03 10:00", 1.0, "A", "France"),
        ("5", "Y", "a thing", 1, "2011-01-04 10:00", 1.0, "A", "France"),
        ("6", "Z", "", 1, "2011-01-04 10:00", 1.0, "A", "France"),
        ("C7", "W", "gone", -1, "2011-01-04 11:00", 1.0, "A", "France"),
    ])
    summary = product_summary(log.lines)
    assert summary.loc["X", "description"] == "Red mug"
    assert summary.loc["Y", "description"] == "a thing"
    assert pd.isna(summary.loc["Z", "description"])
    assert np.isnan(summary.loc["W", "return_rate"]) and summary.loc["W", "quantity"] == 0


def test_snapshot_cut_and_empty_input(rfm_log):
    early = product_summary(rfm_log.lines, "2011-01-12")  # 1005 (P2 30) and 1001 only
    assert early["revenue"].to_dict() == pytest.approx({"P2": 33.0, "P1": 10.0})
    empty = product_summary(rfm_log.lines.iloc[:0])
    assert empty.empty and empty.index.name == "stock_code" and str(empty["orders"].dtype) == "int64"
    assert top_products(empty).empty


def test_top_products(rfm_log):
    summary = product_summary(rfm_log.lines)
    assert top_products(summary, n=1).index.tolist() == ["P2"]
    assert top_products(summary, by="customers", n=5).index.tolist() == ["P1", "P2"]
    with pytest.raises(AnalyticsError, match="cannot rank products by 'description'"):
        top_products(summary, by="description")


def test_pareto_curve_by_hand():
    summary = pd.DataFrame({"revenue": [15.0, 50.0, -2.0, 30.0, 5.0]},
                           index=pd.Index(["c", "a", "e", "b", "d"], name="stock_code"))
    pareto = pareto_curve(summary)
    assert pareto.curve["stock_code"].tolist() == ["a", "b", "c", "d", "e"]
    assert pareto.curve["revenue_share"].tolist() == pytest.approx([0.5, 0.8, 0.95, 1.0, 1.0])
    assert pareto.curve["product_share"].tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert pareto.products_for_80 == 2 and pareto.product_share_for_80 == pytest.approx(0.4)
    assert pareto_curve(summary, target=0.81).products_for_80 == 3
    with pytest.raises(InsufficientDataError):
        pareto_curve(summary.iloc[:0])


@pytest.mark.realdata
def test_products_match_a_naive_computation(online_retail):
    lines = online_retail.lines
    summary = product_summary(lines)
    code = lines["stock_code"].astype("str")
    sales = lines.loc[~lines["is_return"]]
    naive_revenue = lines.groupby(code)["revenue"].sum().reindex(summary.index)
    naive_orders = sales.groupby(sales["stock_code"].astype("str"))["invoice"].nunique()
    assert np.allclose(summary["revenue"], naive_revenue)
    assert (summary["orders"] == naive_orders.reindex(summary.index).fillna(0)).all()
    assert summary["quantity"].sum() == sales["quantity"].sum()
    assert summary["revenue"].sum() == pytest.approx(lines["revenue"].sum())
    assert summary.index[0] == "22423"  # REGENCY CAKESTAND 3 TIER, the well-known top seller
    assert 0 < pareto_curve(summary).product_share_for_80 < 0.35


@pytest.mark.realdata
def test_readme_product_count(online_retail_raw):
    raw = online_retail_raw
    keep = raw["customer_id"].notna() & ~raw["invoice"].astype("str").str.startswith("C")
    lines = raw.loc[keep].assign(revenue=lambda d: d["quantity"] * d["unit_price"], is_return=False)
    assert len(product_summary(lines)) == 3665  # README, steps 1 and 2


def test_returned_value_and_return_rate_leaders(rfm_log):
    # P1 returns: C1002 (-1 x 5) and C1008 (-1 x 5) -> 10; P2 has none
    value = returned_value(rfm_log.lines)
    assert value.to_dict() == pytest.approx({"P1": 10.0}) and value.index.name == "stock_code"
    assert returned_value(rfm_log.lines, "2011-01-20").to_dict() == pytest.approx({"P1": 5.0})
    assert returned_value(rfm_log.lines.iloc[:0]).empty
    summary = product_summary(rfm_log.lines)
    # P1: 8 sold, 2 returned (25 %); P2: 13 sold, none returned (never listed)
    assert return_rate_leaders(summary, min_units=5).index.tolist() == ["P1"]
    assert return_rate_leaders(summary, min_units=5)["return_rate"].tolist() == pytest.approx([0.25])
    assert return_rate_leaders(summary, min_units=9).empty  # P1 sold too few units
    assert return_rate_leaders(summary, min_units=0, n=0).empty
    with pytest.raises(AnalyticsError, match="return columns"):
        return_rate_leaders(summary[["revenue"]])
