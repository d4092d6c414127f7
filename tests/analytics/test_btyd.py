"""Customer summaries for BTYD models: hand-computed toys and the published CDNOW summary."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import AnalyticsError, clean_transactions
from analytics.btyd import calibration_holdout_split, customer_summary, purchase_days
from analytics.orders import customer_orders

COLUMNS = ["invoice", "customer_id", "invoice_date", "stock_code", "quantity", "unit_price"]


def make_lines(rows, snapshot=None) -> pd.DataFrame:
    """Cleaned lines from (invoice, customer, 'YYYY-MM-DD HH:MM', stock, qty, price) rows."""
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["invoice_date"] = pd.to_datetime(df["invoice_date"], format="ISO8601").astype("datetime64[us]")
    df["description"] = df["stock_code"] + " item"
    df["country"] = "United Kingdom"
    for column in ("invoice", "stock_code", "description", "customer_id", "country"):
        df[column] = df[column].astype("category")
    return clean_transactions(df, snapshot).lines


# A: orders on 01-01 (two invoices, 2x5 + 1x10 = 20), 01-05 (5), a return on 01-06,
#    01-10 (4); B: one order on 01-03 (3); a guest order; C's order is on the snapshot day.
TOY = [
    ("1", "A", "2024-01-01 10:00", "P1", 2, 5.0),
    ("2", "A", "2024-01-01 15:00", "P2", 1, 10.0),
    ("3", "A", "2024-01-05 09:00", "P1", 1, 5.0),
    ("C4", "A", "2024-01-06 11:00", "P1", -1, 5.0),
    ("5", "B", "2024-01-03 12:00", "P3", 3, 1.0),
    ("6", "A", "2024-01-10 23:59", "P3", 4, 1.0),
    ("7", None, "2024-01-02 08:00", "P1", 9, 5.0),
    ("8", "C", "2024-01-11 09:00", "P2", 1, 10.0),
]


@pytest.fixture()
def toy():
    return make_lines(TOY, snapshot="2024-01-12")


def test_summary_by_hand(toy):
    s = customer_summary(toy, "2024-01-11")
    # A: purchase days 01-01 (20), 01-05 (5), 01-10 (4) -> 2 repeats, recency 9,
    #    T = 11 - (1 + 1) = 9, repeat value (5 + 4) / 2; B: one day, T = 11 - (3 + 1) = 7.
    expected = pd.DataFrame(
        {"frequency": [2, 0], "recency": [9.0, 0.0], "T": [9.0, 7.0], "monetary_value": [4.5, 0.0]},
        index=pd.Index(["A", "B"], dtype="str", name="customer_id"))
    pd.testing.assert_frame_equal(s, expected)


def test_summary_in_weeks_and_with_snapshot_day_order(toy):
    s = customer_summary(toy, "2024-01-12", time_unit="W")
    assert s.loc["A", "T"] == pytest.approx(10 / 7)
    assert s.loc["A", "recency"] == pytest.approx(9 / 7)
    # C bought on the last day before the snapshot: T = 0.
    assert s.loc["C"].tolist() == [0, 0.0, 0.0, 0.0]


def test_same_day_orders_are_one_purchase(toy):
    days = purchase_days(toy)
    first = days.iloc[0]
    assert (first["customer_id"], first["day"], first["value"], first["orders"]) == (
        "A", pd.Timestamp("2024-01-01"), 20.0, 2)
    assert len(days) == 5  # A x3, B, C; the guest and the return are not purchases


def test_orders_table_gives_the_same_summary(toy):
    pd.testing.assert_frame_equal(customer_summary(customer_orders(toy), "2024-01-12"),
                                  customer_summary(toy, "2024-01-12"))


def test_calibration_holdout_split_by_hand(toy):
    s = calibration_holdout_split(toy, "2024-01-05", "2024-01-12")
    # calibration: A bought on 01-01 only (T = 5 - 2 = 3), B on 01-03 (T = 1);
    # holdout: A on 01-05 and 01-10 (values 5 and 4); C first bought in the holdout: left out.
    assert list(s.index) == ["A", "B"]
    assert s.loc["A", ["frequency", "recency", "T"]].tolist() == [0, 0.0, 3.0]
    assert s.loc["B", "T"] == 1.0
    assert s["frequency_holdout"].tolist() == [2, 0]
    assert s["monetary_value_holdout"].tolist() == [4.5, 0.0]
    assert s["duration_holdout"].tolist() == [7.0, 7.0]


def test_nothing_at_or_after_calibration_end_enters_calibration(toy):
    planted = make_lines(TOY + [("9", "B", "2024-01-05 00:00", "P9", 100, 100.0)], "2024-01-12")
    split = calibration_holdout_split(planted, "2024-01-05", "2024-01-12")
    base = calibration_holdout_split(toy, "2024-01-05", "2024-01-12")
    calibration = ["frequency", "recency", "T", "monetary_value"]
    pd.testing.assert_frame_equal(split[calibration], base[calibration])
    pd.testing.assert_frame_equal(split[calibration], customer_summary(toy, "2024-01-05"))
    assert split.loc["B", "frequency_holdout"] == 1


def test_bad_arguments(toy):
    with pytest.raises(AnalyticsError, match="midnight"):
        customer_summary(toy, "2024-01-11 12:00")
    with pytest.raises(AnalyticsError, match="time_unit"):
        customer_summary(toy, "2024-01-11", time_unit="M")
    with pytest.raises(AnalyticsError, match="after calibration_end"):
        calibration_holdout_split(toy, "2024-01-05", "2024-01-05")
    with pytest.raises(AnalyticsError, match="missing column"):
        customer_summary(pd.DataFrame({"customer_id": ["A"]}), "2024-01-11")


def test_empty_summary(toy):
    s = customer_summary(toy, "2024-01-01")
    assert s.empty and list(s.columns) == ["frequency", "recency", "T", "monetary_value"]


def cdnow_sample() -> pd.DataFrame:
    """The 1/10 CDNOW sample (2,357 customers) shipped with lifetimes, as an order table."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifetimes' import warns on pandas 3 and sets filters
        import lifetimes
    path = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
    df = pd.read_csv(path, sep=r"\s+", header=None, dtype={"customer_id": str, "date": str},
                     names=["master_id", "customer_id", "date", "cds", "revenue"])
    df["invoice_date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    return df


def test_cdnow_summary_matches_the_published_one():
    """Our summary of the raw CDNOW sample transactions (calibration 1997-01-01..09-30,
    weeks) equals Fader & Hardie's summary shipped with lifetimes
    (cdnow_customers_summary_with_transactions.csv: x, t_x, T, zbar to 2 decimals)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifetimes' import warns on pandas 3 and sets filters
        import lifetimes
    published = pd.read_csv(Path(lifetimes.__file__).parent / "datasets"
                            / "cdnow_customers_summary_with_transactions.csv")
    published.index = published["ID"].map("{:04d}".format)
    ours = customer_summary(cdnow_sample(), "1997-10-01", time_unit="W").reindex(published.index)
    assert len(ours) == 2357 and ours.notna().all().all()
    np.testing.assert_array_equal(ours["frequency"], published["x"])
    np.testing.assert_allclose(ours["recency"], published["t_x"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(ours["T"], published["T"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(ours["monetary_value"], published["zbar"], atol=0.005 + 1e-9)
