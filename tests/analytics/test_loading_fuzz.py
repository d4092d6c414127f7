"""Property-based fuzzing of the loader: any input gives a clear LoadError or a correct canonical frame.

"Correct" is checked against the cells that went in: the loader may refuse a file,
but what it returns must be exactly what the file says, in the canonical types.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.loading import LoadError, load_transactions
from analytics.schema import CANONICAL_COLUMNS
from tests.fuzz_files import FORMULAS, OR_COLUMNS, csv_files, special_files

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_canonical(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(CANONICAL_COLUMNS)
    assert len(frame) > 0
    assert str(frame["quantity"].dtype) == "int32"
    assert str(frame["invoice_date"].dtype) == "datetime64[us]"
    assert str(frame["unit_price"].dtype) == "float64"
    assert np.isfinite(frame["unit_price"]).all()
    for column in ("invoice", "stock_code", "invoice_date", "quantity"):
        assert frame[column].notna().all()


def try_load(data: bytes) -> pd.DataFrame | None:
    try:
        frame = load_transactions(data, filename="fuzz.csv")
    except LoadError as error:
        assert str(error).strip(), "a LoadError must say what is wrong"
        return None
    assert_canonical(frame)
    return frame


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes(data):
    try_load(data)


@FUZZ
@given(special_files())
def test_named_kinds_of_bad_input(case):
    data, kind = case
    frame = try_load(data)
    if kind in ("empty", "header only", "long cell", "duplicated column", "huge numbers", "wrong columns"):
        assert frame is None, kind
    if kind == "mixed dates" and frame is not None:  # accepted only if read as the same day
        assert frame["invoice_date"].dt.normalize().tolist()[1] == pd.Timestamp("2011-01-13")
    if kind in ("10000 columns", "latin-1", "negative numbers", "formulas"):
        assert frame is not None and len(frame) == 1, kind


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_after_a_valid_header(data):
    try_load(",".join(OR_COLUMNS).encode() + b"\n" + data)


@FUZZ
@given(csv_files())
def test_malformed_csv_cells(case):
    data, header, rows, mutated = case
    try:
        frame = load_transactions(data, filename="fuzz.csv")
    except LoadError as error:
        # the refusal names a column that was really wrong, a duplicated column, or an empty file
        reason = str(error)
        assert (
            error.column in mutated
            or "both give" in reason
            or "no data rows" in reason
            or "not a text" in reason
        ), (reason, mutated)
        return
    assert_canonical(frame)
    assert len(frame) == len(rows)
    position = {name: header.index(name) for name in OR_COLUMNS}
    cells = {name: [row[i] for row in rows] for name, i in position.items()}
    assert frame["quantity"].tolist() == [int(q) for q in cells["Quantity"]]
    assert frame["unit_price"].tolist() == [float(p) for p in cells["UnitPrice"]]
    assert frame["invoice"].astype(str).tolist() == [i.strip() for i in cells["InvoiceNo"]]
    assert [None if pd.isna(c) else c for c in frame["customer_id"].tolist()] == [c or None for c in cells["CustomerID"]]
    countries = [c.strip() or "Unspecified" for c in cells["Country"]]
    assert frame["country"].astype(str).tolist() == countries


@settings(max_examples=60, deadline=None)
@given(
    quantities=st.lists(st.integers(min_value=-(2**31) + 1, max_value=2**31 - 1), min_size=1, max_size=30),
    prices=st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=30),
    descriptions=st.lists(st.one_of(st.text(max_size=50), st.sampled_from(FORMULAS)), min_size=1, max_size=30),
)
def test_valid_values_round_trip_exactly(quantities, prices, descriptions):
    n = min(len(quantities), len(prices), len(descriptions))
    frame = pd.DataFrame(
        {
            "InvoiceNo": [str(536365 + i) for i in range(n)],
            "StockCode": ["85123A"] * n,
            "Description": descriptions[:n],
            "Quantity": quantities[:n],
            "InvoiceDate": pd.date_range("2011-01-01", periods=n, freq="37min"),
            "UnitPrice": prices[:n],
            "CustomerID": [float(12346 + i % 3) for i in range(n)],
            "Country": ["United Kingdom"] * n,
        }
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    loaded = load_transactions(buffer.getvalue())
    assert loaded["quantity"].tolist() == quantities[:n]
    assert loaded["unit_price"].tolist() == prices[:n]
    assert loaded["invoice_date"].tolist() == frame["InvoiceDate"].tolist()
    expected = [d.strip() or None for d in descriptions[:n]]
    got = [None if pd.isna(d) else d for d in loaded["description"].tolist()]
    assert got == expected
