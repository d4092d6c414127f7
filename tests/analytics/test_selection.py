"""Filters: which lines and customers a selection keeps, checked against hand-picked answers."""
from __future__ import annotations

import pandas as pd
import pytest

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.selection import category_mask, date_window_mask, isin, select_customers, select_lines


@pytest.fixture
def lines() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "invoice": ["1", "2", "C3", "4", "5"],
            "invoice_date": pd.to_datetime(
                ["2011-01-01 09:00", "2011-01-31 23:59", "2011-02-01 00:00", "2011-02-15 12:00", "2011-03-01 08:00"]
            ),
            "customer_id": ["a", "b", "b", None, "c"],
            "country": ["United Kingdom", "France", "France", "United Kingdom", "Germany"],
            "revenue": [10.0, 20.0, -5.0, 7.0, 30.0],
            "is_return": [False, False, True, False, False],
        }
    )
    for column in ("invoice", "customer_id", "country"):
        frame[column] = frame[column].astype("category")
    return frame


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {"segment": ["Champions", "At Risk", "Lost"], "country": ["United Kingdom", "France", "Germany"],
         "risk_band": ["low", "high", "high"]},
        index=pd.Index(["a", "b", "c"], name="customer_id", dtype="str"),
    )


def test_date_window_end_is_a_whole_day(lines):
    mask = date_window_mask(lines["invoice_date"], pd.Timestamp("2011-01-01"), pd.Timestamp("2011-01-31"))
    assert mask.tolist() == [True, True, False, False, False]
    assert date_window_mask(lines["invoice_date"], None, None).all()
    assert date_window_mask(lines["invoice_date"], pd.Timestamp("2011-02-01"), None).tolist() == [
        False, False, True, True, True]


def test_category_mask_on_categorical_and_text(lines):
    assert category_mask(lines["customer_id"], ["b"]).tolist() == [False, True, True, False, False]
    assert category_mask(lines["customer_id"].astype(object), ["b"]).tolist() == [False, True, True, False, False]
    assert not category_mask(lines["customer_id"], []).any()  # an empty selection keeps nobody
    assert category_mask(lines["customer_id"], ["zzz"]).sum() == 0


def test_select_lines(lines):
    kept = select_lines(lines, countries=["France"])
    assert kept["invoice"].tolist() == ["2", "C3"]
    kept = select_lines(lines, start=pd.Timestamp("2011-02-01"), customer_ids=["b", "c"])
    assert kept["invoice"].tolist() == ["C3", "5"]
    assert select_lines(lines) is lines  # nothing to filter: no copy
    assert select_lines(lines, customer_ids=[]).empty
    assert select_lines(lines, countries=[])["invoice"].tolist() == ["1", "2", "C3", "4", "5"]


def test_select_customers_by_attribute(customers):
    assert select_customers(customers, {"risk_band": ["high"]}).index.tolist() == ["b", "c"]
    assert select_customers(customers, {"risk_band": ["high"], "country": ["Germany"]}).index.tolist() == ["c"]
    assert select_customers(customers, {"segment": []}).index.tolist() == ["a", "b", "c"]
    assert select_customers(customers, {"clv_tier": ["top 1%"]}).empty  # column not there: nobody


def test_select_customers_by_date_window_counts_orders_not_returns(customers, lines):
    # b's only February line is a return: not an order, so b is not active in February
    kept = select_customers(customers, lines=lines, start=pd.Timestamp("2011-02-01"), end=pd.Timestamp("2011-03-31"))
    assert kept.index.tolist() == ["c"]
    with pytest.raises(ValueError, match="needs `lines`"):
        select_customers(customers, start=pd.Timestamp("2011-02-01"))


def test_isin_by_hand_on_arrow_text_object_text_and_an_index():
    text = pd.Series(["12346", None, "12347", "12346"], dtype="str")
    assert isin(text, ["12346", "99999"]).tolist() == [True, False, False, True]
    assert isin(text, ["12346", None]).tolist() == [True, False, False, True]  # missing is never kept
    assert isin(text.astype(object), ["12346", None]).tolist() == [True, False, False, True]
    assert isin(pd.Index(text), pd.Index(["12347"], dtype="str")).tolist() == [False, False, True, False]
    assert isin(text, []).tolist() == [False] * 4


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.sampled_from("abcdefg")), max_size=30),
       keep=st.lists(st.sampled_from("abcdefgh"), max_size=8), as_index=st.booleans())
def test_isin_agrees_with_pandas_isin_on_present_values(values, keep, as_index):
    text = pd.Series(values, dtype="str")
    expected = np.asarray(text.astype(object).isin(keep)) & text.notna().to_numpy()
    keep_arg = pd.Index(keep, dtype="str") if as_index else keep
    assert isin(text, keep_arg).tolist() == expected.tolist()


def test_drill_down_selections_by_hand():
    from analytics.selection import customers_in_cohort, customers_in_range, customers_of_product

    lines = pd.DataFrame({
        "invoice": ["1", "2", "3", "C4", "5", "6"],
        "invoice_date": pd.to_datetime(["2011-01-05", "2011-01-20", "2011-02-03", "2011-03-01", "2011-03-09",
                                        "2011-02-10"]),
        "customer_id": ["a", "b", "a", "b", "c", None],
        "stock_code": ["X", "Y", "Y", "X", "X", "Y"],
        "is_return": [False, False, False, True, False, False],
    })
    # a and b start in January; c in March; b's March line is a return, so b is not active then
    assert list(customers_in_cohort(lines, "2011-01-01")) == ["a", "b"]
    assert list(customers_in_cohort(lines, "2011-01-01", 1)) == ["a"]
    assert list(customers_in_cohort(lines, "2011-01-01", 2)) == []
    assert list(customers_in_cohort(lines, "2011-03-01")) == ["c"]
    assert list(customers_of_product(lines, "X")) == ["a", "c"]  # b only returned X; guests never count
    assert list(customers_of_product(lines, "Y")) == ["a", "b"]
    table = pd.DataFrame({"monetary": [5.0, 10.0, 20.0, None]}, index=pd.Index(list("abcd"), name="customer_id"))
    assert list(customers_in_range(table, "monetary", 5, 20).index) == ["a", "b"]
    assert list(customers_in_range(table, "monetary", 10, 20, include_high=True).index) == ["b", "c"]


def test_cohort_drill_down_agrees_with_the_cohort_table():
    from analytics.cleaning import clean_transactions
    from analytics.cohorts import cohort_table
    from analytics.selection import customers_in_cohort
    from analytics.synthetic import generate_transactions

    import io

    from analytics.loading import load_transactions

    buffer = io.BytesIO()
    generate_transactions(300, 8, seed=5).to_parquet(buffer)
    cleaned = clean_transactions(load_transactions(buffer.getvalue()))
    table = cohort_table(cleaned.lines, cleaned.snapshot_date)
    for row in table.sample(12, random_state=1).itertuples():
        members = customers_in_cohort(cleaned.lines, row.cohort, row.period)
        expected = row.cohort_size if row.period == 0 else row.active_customers
        assert len(members) == expected, (row.cohort, row.period)
