"""Loading: every accepted layout and format, and a clear error for every kind of bad file."""
from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.loading import LoadError, load_transactions
from analytics.schema import CANONICAL_COLUMNS

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

OR_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
OR_ROWS = [
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom",
    "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom",
    "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527,United Kingdom",
    "536414,22139,,56,2010-12-01 11:52:00,0.0,,United Kingdom",
]


def or_csv(rows: list[str] = OR_ROWS, header: str = OR_HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def ii_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Invoice": ["489434", "489434", "C489449"],
            "StockCode": ["85048", "79323p", "22087"],
            "Description": ["15CM CHRISTMAS GLASS BALL 20 LIGHTS", "PINK CHERRY LIGHTS", "PAPER BUNTING WHITE LACE"],
            "Quantity": [12, 12, -12],
            "InvoiceDate": pd.to_datetime(["2009-12-01 07:45", "2009-12-01 07:45", "2009-12-01 10:33"]),
            "Price": [6.95, 6.75, 2.95],
            "Customer ID": [13085.0, 13085.0, 16321.0],
            "Country": ["United Kingdom", "United Kingdom", "Australia"],
        }
    )


def expect_first_rows(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(CANONICAL_COLUMNS)
    assert frame["invoice"].tolist()[:3] == ["536365", "536365", "C536379"]
    assert frame["quantity"].tolist() == [6, 6, -1, 56]
    assert frame["unit_price"].tolist() == [2.55, 3.39, 27.5, 0.0]
    assert frame["customer_id"].tolist()[:3] == ["17850", "17850", "14527"]
    assert pd.isna(frame["customer_id"].iloc[3])
    assert pd.isna(frame["description"].iloc[3])
    assert frame["invoice_date"].iloc[0] == pd.Timestamp("2010-12-01 08:26")


def test_canonical_dtypes_are_compact():
    frame = load_transactions(or_csv())
    dtypes = frame.dtypes.astype(str).to_dict()
    assert dtypes == {
        "invoice": "category", "stock_code": "category", "description": "category",
        "quantity": "int32", "invoice_date": "datetime64[us]", "unit_price": "float64",
        "customer_id": "category", "country": "category",
    }


def test_online_retail_csv_utf8_comma():
    frame = load_transactions(or_csv())
    expect_first_rows(frame)
    assert frame.attrs["source"]["layout"] == "Online Retail"
    assert frame.attrs["source"]["separator"] == ","


def test_latin1_semicolon_decimal_comma_and_us_dates():
    rows = [
        "536365;85123A;WHITE HANGING HEART T-LIGHT HOLDER;6;12/1/2010 8:26;2,55;17850;United Kingdom",
        "536365;71053;WHITE METAL LANTERN;6;12/1/2010 8:26;3,39;17850;United Kingdom",
        "C536379;D;Discount £;-1;12/1/2010 9:41;27,5;14527;United Kingdom",
        "536414;22139;;56;12/1/2010 11:52;0;;United Kingdom",
    ]
    data = ("\n".join([OR_HEADER.replace(",", ";"), *rows]) + "\n").encode("latin-1")
    frame = load_transactions(data)
    expect_first_rows(frame)
    assert frame.attrs["source"]["encoding"] == "latin-1"
    assert frame.attrs["source"]["separator"] == ";"
    assert frame["description"].iloc[2] == "Discount £"


def test_utf8_bom_and_float_customer_ids():
    rows = [r.replace(",17850,", ",17850.0,") for r in OR_ROWS]
    frame = load_transactions(b"\xef\xbb\xbf" + or_csv(rows))
    expect_first_rows(frame)


def test_csv_gz(tmp_path):
    path = tmp_path / "log.csv.gz"
    path.write_bytes(gzip.compress(or_csv()))
    frame = load_transactions(path)
    expect_first_rows(frame)
    assert frame.attrs["source"]["format"] == "csv.gz"


def test_online_retail_ii_parquet(tmp_path):
    path = tmp_path / "ii.parquet"
    ii_frame().to_parquet(path)
    frame = load_transactions(path)
    assert frame.attrs["source"] == {"name": "ii.parquet", "format": "parquet", "layout": "Online Retail II", "rows": 3}
    assert frame["customer_id"].tolist() == ["13085", "13085", "16321"]
    assert frame["stock_code"].tolist() == ["85048", "79323P", "22087"]  # codes upper-cased
    assert frame["quantity"].sum() == 12


def test_xlsx_every_sheet_concatenated(tmp_path):
    path = tmp_path / "ii.xlsx"
    first, second = ii_frame().iloc[:2], ii_frame().iloc[2:]
    with pd.ExcelWriter(path) as writer:
        first.to_excel(writer, sheet_name="Year 2009-2010", index=False)
        pd.DataFrame({"note": ["exported by the shop"]}).to_excel(writer, sheet_name="Notes", index=False)
        second.to_excel(writer, sheet_name="Year 2010-2011", index=False)
    frame = load_transactions(path)
    assert len(frame) == 3
    assert frame["invoice"].tolist() == ["489434", "489434", "C489449"]
    assert frame["invoice_date"].tolist() == ii_frame()["InvoiceDate"].tolist()
    assert frame.attrs["source"]["sheets"] == ["sheet 'Year 2009-2010'", "sheet 'Year 2010-2011'"]


def test_canonical_layout_round_trips(tmp_path):
    frame = load_transactions(or_csv())
    path = tmp_path / "canonical.parquet"
    frame.to_parquet(path)
    again = load_transactions(path)
    assert again.attrs["source"]["layout"] == "canonical"
    pd.testing.assert_frame_equal(frame, again, check_categorical=False)


def test_empty_country_becomes_unspecified():
    rows = [OR_ROWS[0].replace("United Kingdom", "")]
    assert load_transactions(or_csv(rows))["country"].tolist() == ["Unspecified"]


# ---------------------------------------------------------------- bad files


def load_error(data: bytes | Path, **kwargs) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_transactions(data, **kwargs)
    return info.value


def test_missing_column_is_named():
    error = load_error(or_csv([r.rsplit(",", 1)[0] for r in OR_ROWS], header=OR_HEADER.rsplit(",", 1)[0]))
    assert error.column == "Country"
    assert "missing column Country" in str(error)


def test_two_missing_columns_in_ii_layout():
    header = "Invoice,StockCode,Description,Quantity,InvoiceDate,Country"
    error = load_error(or_csv(["1,2,x,1,2010-12-01 08:26,UK"], header=header))
    assert "missing columns Price, Customer ID" in str(error)


def test_unparseable_quantity_names_column_row_and_value():
    rows = list(OR_ROWS)
    rows[2] = rows[2].replace(",-1,", ",minus one,")
    error = load_error(or_csv(rows))
    assert (error.column, error.row, error.value) == ("Quantity", 3, "minus one")
    assert str(error) == "Column 'Quantity', row 3 (line 4 of the file): not a number: 'minus one'."


def test_fractional_quantity():
    rows = [OR_ROWS[0], OR_ROWS[1].replace(",6,", ",2.5,")]
    error = load_error(or_csv(rows))
    assert (error.column, error.row, error.value) == ("Quantity", 2, "2.5")
    assert "not a whole number" in str(error)


def test_huge_quantity_out_of_range():
    error = load_error(or_csv([OR_ROWS[0].replace(",6,", ",99999999999,")]))
    assert (error.column, error.row) == ("Quantity", 1)
    assert "out of range" in str(error)


def test_bad_date_names_row_and_value():
    rows = list(OR_ROWS)
    rows[3] = rows[3].replace("2010-12-01 11:52:00", "yesterday")
    error = load_error(or_csv(rows))
    assert (error.column, error.row, error.value) == ("InvoiceDate", 4, "yesterday")


def test_mixed_date_formats_are_refused():
    rows = list(OR_ROWS)
    rows[1] = rows[1].replace("2010-12-01 08:26:00", "13/01/2010 08:26")  # day-first among ISO dates
    error = load_error(or_csv(rows))
    assert error.column == "InvoiceDate" and error.row == 2


def test_implausible_year():
    error = load_error(or_csv([OR_ROWS[0].replace("2010-12-01", "1899-12-30")]))
    assert error.column == "InvoiceDate" and "outside 1970-2100" in str(error)


def test_bad_price():
    for value in ("abc", "inf", "1e300"):
        error = load_error(or_csv([OR_ROWS[0].replace(",2.55,", f",{value},")]))
        assert (error.column, error.row, error.value) == ("UnitPrice", 1, value)


def test_empty_required_value():
    rows = [OR_ROWS[0], OR_ROWS[1].replace("536365,71053", "536365,")]
    error = load_error(or_csv(rows))
    assert (error.column, error.row) == ("StockCode", 2)
    assert "empty value" in str(error)


def test_empty_file_and_header_only():
    assert "is empty" in str(load_error(b"", filename="upload.csv"))
    assert "upload.csv" in str(load_error(b"  \n", filename="upload.csv"))
    assert "no data rows" in str(load_error(or_csv([])))


def test_binary_garbage_and_legacy_xls():
    rng = np.random.default_rng(1)
    garbage = bytes(rng.integers(0, 256, 5000, dtype=np.uint8))
    assert isinstance(load_error(garbage), LoadError)
    assert ".xls" in str(load_error(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100))
    assert "Parquet" in str(load_error(b"PAR1 not really parquet"))
    assert "XLSX" in str(load_error(b"PK\x03\x04 not really a zip"))


def test_duplicated_columns_are_refused():
    error = load_error(or_csv(["1,2,x,1,2010-12-01 08:26,1.0,1,UK,2.0"], header=OR_HEADER + ",Price"))
    assert "'UnitPrice' and 'Price' both give 'unit_price'" in str(error)
    error = load_error(or_csv(["1,2,x,1,2010-12-01 08:26,1.0,1,UK,3"], header=OR_HEADER + ",Quantity"))
    assert "'Quantity' and 'Quantity'" in str(error)


def test_ragged_row_names_line():
    rows = list(OR_ROWS)
    rows[1] = rows[1] + ",extra,fields"
    error = load_error(or_csv(rows))
    assert "line 3" in str(error)


def test_too_long_cell():
    error = load_error(or_csv([OR_ROWS[0].replace("17850", "9" * 100)]))
    assert (error.column, error.row) == ("CustomerID", 1)
    assert "longer than 64" in str(error)


def test_ten_thousand_columns_only_needed_ones_read():
    extra = [f"x{i}" for i in range(10_000)]
    header = OR_HEADER + "," + ",".join(extra)
    row = OR_ROWS[0] + "," + ",".join("1" for _ in extra)
    frame = load_transactions(or_csv([row], header=header))
    assert list(frame.columns) == list(CANONICAL_COLUMNS) and len(frame) == 1


def test_missing_file():
    assert "not found" in str(load_error(Path("/nonexistent/file.csv")))


def test_file_like_object_with_name():
    frame = load_transactions(io.BytesIO(or_csv()), filename="upload.csv")
    assert frame.attrs["source"]["name"] == "upload.csv"


# ---------------------------------------------------------------- real data


needs_real_data = pytest.mark.skipif(
    not (SHARED_DATA / "online_retail.parquet").exists(),
    reason=f"UCI Online Retail files not found in {SHARED_DATA}",
)


@pytest.mark.realdata
@needs_real_data
def test_real_parquet_and_csv_load_identically():
    parquet = load_transactions(SHARED_DATA / "online_retail.parquet")
    csv = load_transactions(SHARED_DATA / "online_retail.csv.gz")
    assert parquet.dtypes.equals(csv.dtypes)
    for column in parquet.columns:  # categoricals compared as values (category order may differ)
        a, b = parquet[column], csv[column]
        if isinstance(a.dtype, pd.CategoricalDtype):
            a, b = a.astype("str").fillna("<NA>"), b.astype("str").fillna("<NA>")
        assert a.to_numpy().tolist() == b.to_numpy().tolist(), column


@pytest.mark.realdata
@needs_real_data
def test_real_online_retail_matches_published_figures():
    """The data README's verification figures, recomputed from what the loader gives."""
    frame = load_transactions(SHARED_DATA / "online_retail.parquet")
    assert len(frame) == 541_909
    assert frame["customer_id"].nunique() == 4_372
    assert frame["customer_id"].isna().sum() == 135_080
    assert frame["invoice"].nunique() == 25_900
    assert frame["quantity"].sum() == 5_176_450
    assert (frame["quantity"] * frame["unit_price"]).sum() == pytest.approx(9_747_747.934, abs=0.01)
    standard = frame[
        frame["customer_id"].notna()
        & ~frame["invoice"].astype(str).str.startswith("C")
        & (frame["quantity"] > 0)
        & (frame["unit_price"] > 0)
    ]
    assert len(standard) == 397_884
    assert standard["customer_id"].nunique() == 4_338
    assert (standard["quantity"] * standard["unit_price"]).sum() == pytest.approx(8_911_407.90, abs=0.01)
