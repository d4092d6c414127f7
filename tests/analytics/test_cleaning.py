"""Cleaning rules and the order table on a toy log whose answers are worked out by hand."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analytics.cleaning import (
    CLEANING_RULES,
    clean_transactions,
    default_snapshot_date,
    lines_before,
    non_product_mask,
)
from analytics.errors import AnalyticsError
from analytics.loading import load_transactions
from analytics.orders import customer_net_revenue, customer_orders, order_table

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# invoice, stock_code, description, quantity, invoice_date, unit_price, customer_id, country
TOY = [
    ("1001", "10001", "Apple", 2, "2011-01-10 10:00", 5.0, "c1", "United Kingdom"),  # 10
    ("1001", "10002", "Bowl", 1, "2011-01-10 10:00", 3.0, "c1", "United Kingdom"),  # 3
    ("1001", "10002", "Bowl", 1, "2011-01-10 10:00", 3.0, "c1", "United Kingdom"),  # exact duplicate
    ("C1002", "10001", "Apple", -1, "2011-01-15 09:00", 5.0, "c1", "United Kingdom"),  # return -5
    ("1003", "10001", "Apple", 4, "2011-02-01 12:00", 5.0, "c2", "France"),  # 20
    ("1003", "POST", "POSTAGE", 1, "2011-02-01 12:00", 18.0, "c2", "France"),  # non-product
    ("1004", "10003", "Cup", 3, "2011-02-02 12:00", 0.0, "c2", "France"),  # free: non-positive price
    ("1005", "10001", "Apple", 1, "2011-02-03 12:00", 5.0, "", "United Kingdom"),  # guest, 5
    ("1006", "10002", "Bowl", 0, "2011-02-04 12:00", 3.0, "c1", "United Kingdom"),  # zero quantity
    ("1007", "10002", "Bowl", 2, "2011-03-01 00:00", 3.0, "c1", "United Kingdom"),  # 6, last day
    ("1008", "M", "Manual", 1, "2011-02-05 12:00", 0.0, "c2", "France"),  # free AND non-product
]


def load_rows(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[
        "invoice", "stock_code", "description", "quantity", "invoice_date", "unit_price", "customer_id", "country",
    ])
    return load_transactions(frame.to_csv(index=False).encode(), filename="toy.csv")


@pytest.fixture
def toy() -> pd.DataFrame:
    return load_rows(TOY)


def test_default_snapshot_is_day_after_last_invoice(toy):
    assert default_snapshot_date(toy) == pd.Timestamp("2011-03-02")
    with pytest.raises(AnalyticsError, match="No transactions"):
        default_snapshot_date(toy.iloc[:0])


def test_report_counts_every_rule(toy):
    cleaned = clean_transactions(toy)
    report = cleaned.report
    assert report.rows_in == 11
    assert report.removed == {
        "duplicate": 1,
        "after_snapshot": 0,
        "non_positive_price": 2,  # 1004 and 1008 (1008 is also non-product: counted once, first rule)
        "non_product": 1,
        "invalid_quantity": 1,
    }
    assert report.rows_out == 6
    assert report.rows_without_customer == 1
    assert report.return_lines == 1
    assert report.customers == 2  # c1, c2
    assert report.orders == 4  # 1001, 1003, 1005 (guest), 1007; C1002 is never an order
    assert (report.first_date, report.last_date) == (pd.Timestamp("2011-01-10 10:00"), pd.Timestamp("2011-03-01"))
    assert report.snapshot_date == pd.Timestamp("2011-03-02")
    assert set(report.rules) == set(CLEANING_RULES.index)
    assert report.to_dict()["snapshot_date"] == "2011-03-02T00:00:00"


def test_revenue_nets_returns(toy):
    lines = clean_transactions(toy).lines
    assert lines["revenue"].sum() == pytest.approx(10 + 3 - 5 + 20 + 5 + 6)
    returns = lines[lines["is_return"]]
    assert returns["revenue"].tolist() == [-5.0]
    assert customer_net_revenue(lines).to_dict() == {"c1": 14.0, "c2": 20.0}


def test_snapshot_cut_off_ignores_lines_on_and_after_it(toy):
    cleaned = clean_transactions(toy, snapshot_date="2011-03-01")  # a calendar day: midnight at its start
    assert cleaned.snapshot_date == pd.Timestamp("2011-03-01")
    assert cleaned.report.removed["after_snapshot"] == 1  # 1007, dated exactly 2011-03-01 00:00
    assert cleaned.report.orders == 3
    assert customer_net_revenue(cleaned.lines).to_dict() == {"c1": 8.0, "c2": 20.0}
    assert len(lines_before(clean_transactions(toy).lines, pd.Timestamp("2011-02-01"))) == 3
    assert len(lines_before(clean_transactions(toy).lines, "2011-02-02")) == 4  # + 1003, 2011-02-01 12:00


def test_order_table(toy):
    orders = order_table(clean_transactions(toy).lines)
    assert orders["invoice"].tolist() == ["1001", "1003", "1005", "1007"]
    assert orders["revenue"].tolist() == [13.0, 20.0, 5.0, 6.0]
    assert orders["quantity"].tolist() == [3, 4, 1, 2]
    assert orders["lines"].tolist() == [2, 1, 1, 1]
    assert orders["customer_id"].tolist()[:2] == ["c1", "c2"] and pd.isna(orders["customer_id"].iloc[2])
    assert orders["country"].tolist() == ["United Kingdom", "France", "United Kingdom", "United Kingdom"]
    assert customer_orders(clean_transactions(toy).lines)["invoice"].tolist() == ["1001", "1003", "1007"]


def test_cancellation_with_positive_quantity_is_invalid():
    rows = [TOY[0], ("C1009", "10001", "Apple", 1, "2011-01-11 10:00", 5.0, "c1", "United Kingdom")]
    assert clean_transactions(load_rows(rows)).report.removed["invalid_quantity"] == 1


def test_non_product_codes_of_the_uci_data():
    fees = ["POST", "DOT", "M", "m", "BANK CHARGES", "AMAZONFEE", "C2", "C3", "CRUK", "D", "S", "B", "PADS",
            "ADJUST", "ADJUST2", "TEST001", "gift_0001_20", "GIFT_0001_10"]
    products = ["85123A", "22423", "DCGS0058", "SP1002", "POSTX", "M2", "DOTCOM", "BOXES", "15056BL"]
    mask = non_product_mask(pd.Series(fees + products))
    assert mask.tolist() == [True] * len(fees) + [False] * len(products)


def test_input_is_not_mutated(toy):
    before = toy.copy()
    clean_transactions(toy)
    pd.testing.assert_frame_equal(toy, before)


@pytest.mark.realdata
@pytest.mark.skipif(not (SHARED_DATA / "online_retail.parquet").exists(),
                    reason=f"UCI Online Retail files not found in {SHARED_DATA}")
def test_real_cleaning_report_matches_an_independent_computation():
    """Recompute every count with plain pandas on the raw file, without our loader or rules code."""
    raw = pd.read_parquet(SHARED_DATA / "online_retail.parquet")
    raw["Description"] = raw["Description"].str.strip()
    raw["StockCode"] = raw["StockCode"].str.upper()
    fee_codes = {"POST", "DOT", "M", "BANK CHARGES", "AMAZONFEE", "C2", "CRUK", "D", "S", "B", "PADS"}
    counts = {}
    step = raw[~raw.duplicated()]
    counts["duplicate"] = len(raw) - len(step)
    counts["after_snapshot"] = 0
    keep = step["UnitPrice"] > 0
    counts["non_positive_price"] = int((~keep).sum())
    step = step[keep]
    keep = ~(step["StockCode"].isin(fee_codes) | step["StockCode"].str.match(r"^(GIFT_\d+_\d+|TEST\d*|ADJUST\d*)$"))
    counts["non_product"] = int((~keep).sum())
    step = step[keep]
    counts["invalid_quantity"] = 0
    cancelled = step["InvoiceNo"].str.startswith("C")
    assert not ((step["Quantity"] <= 0) & ~cancelled).any()

    cleaned = clean_transactions(load_transactions(SHARED_DATA / "online_retail.parquet"))
    report = cleaned.report
    assert report.removed == counts
    assert report.rows_out == len(step) == 531_205
    assert report.return_lines == int(cancelled.sum())
    assert report.rows_without_customer == int(step["CustomerID"].isna().sum())
    sales = step[~cancelled]
    assert report.orders == sales["InvoiceNo"].nunique()
    assert report.customers == sales["CustomerID"].dropna().nunique()
    net = (step["Quantity"] * step["UnitPrice"]).sum()
    assert cleaned.lines["revenue"].sum() == pytest.approx(net, abs=0.01)
    assert report.snapshot_date == pd.Timestamp("2011-12-10")
