"""Hypothesis strategies of malformed transaction files, shared by the loader fuzz
tests, the portal import fuzz tests and ``benchmarks/fuzz_import.py``.

Every strategy draws ``(data, description)`` or, for ``csv_files``, the bytes
with the grid that produced them, so a test can check a successful load
against the cells that went in.
"""
from __future__ import annotations

import csv
import io

import pandas as pd
from hypothesis import strategies as st

OR_COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
FORMULAS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tTAB", "=HYPERLINK(\"http://x\")"]

BAD_CELLS = st.sampled_from(["", "NaN", "inf", "1e400", "9" * 40, "abc", "2011-02-30 10:00", "£3.50", "x" * 2000,
                              "=1+1", "\x00", "1,5,6"])

VALID_CELLS = {
    "InvoiceNo": st.builds(lambda c, n: f"{c}{n}", st.sampled_from(["", "", "C"]), st.integers(100000, 999999)),
    "StockCode": st.text(alphabet="0123456789ABCDEFGHJKLPW", min_size=1, max_size=8),
    "Description": st.one_of(st.text(max_size=30), st.sampled_from(FORMULAS)),
    "Quantity": st.integers(-(2**31) + 1, 2**31 - 1).map(str),
    "UnitPrice": st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.2f}"),
    "CustomerID": st.one_of(st.just(""), st.integers(10000, 99999).map(str)),
    "Country": st.one_of(st.sampled_from(["United Kingdom", "EIRE", "RSA", ""]), st.sampled_from(FORMULAS)),
}
DATE_FORMATS = ["%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M"]


@st.composite
def csv_files(draw) -> tuple[bytes, list[str], list[list[str]], set[str]]:
    """A UCI-layout CSV: valid cells with, sometimes, a bad one; extra or duplicated columns."""
    header = list(OR_COLUMNS)
    if draw(st.booleans()):
        header = draw(st.permutations(header))
    if draw(st.integers(0, 4)) == 0:
        header.append(draw(st.sampled_from(["Extra", "Notes", "Price", "Quantity"])))
    date_format = draw(st.sampled_from(DATE_FORMATS))
    rows, mutated = [], set()
    for _ in range(draw(st.integers(0, 8))):
        row = []
        for name in header:
            if name == "InvoiceDate":
                stamp = draw(st.datetimes(min_value=pd.Timestamp("2000-01-01"), max_value=pd.Timestamp("2030-01-01")))
                cell = stamp.strftime(date_format)
            else:
                cell = draw(VALID_CELLS.get(name, st.text(max_size=5)))
            if name in OR_COLUMNS and draw(st.integers(0, 30)) == 0:
                cell = draw(BAD_CELLS)
                mutated.add(name)
            row.append(cell)
        rows.append(row)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "latin-1"]))
    return buffer.getvalue().encode(encoding, errors="replace"), header, rows, mutated



def _csv(grid: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(grid)
    return buffer.getvalue().encode(encoding, errors="replace")


VALID_ROW = ["536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "6", "2010-12-01 08:26:00", "2.55", "17850",
             "United Kingdom"]


@st.composite
def special_files(draw) -> tuple[bytes, str]:
    """The named kinds of bad input: empty, header only, 10,000 columns, very long cells,
    non-UTF-8, mixed date formats, duplicated columns, huge and negative numbers, formulas."""
    kind = draw(st.sampled_from([
        "empty", "header only", "10000 columns", "long cell", "latin-1", "mixed dates", "duplicated column",
        "huge numbers", "negative numbers", "formulas", "wrong columns", "binary",
    ]))
    header, row = list(OR_COLUMNS), list(VALID_ROW)
    if kind == "empty":
        return b"", kind
    if kind == "header only":
        return _csv([header]), kind
    if kind == "10000 columns":
        extra = [f"x{i}" for i in range(10_000)]
        return _csv([header + extra, row + ["1"] * len(extra)]), kind
    if kind == "long cell":
        column = draw(st.sampled_from(range(8)))
        row[column] = "y" * draw(st.sampled_from([1001, 5000, 100_000]))
        return _csv([header, row]), kind
    if kind == "latin-1":
        row[2] = "CAFÉ £ ÖL"
        return _csv([header, row], encoding="latin-1"), kind
    if kind == "mixed dates":
        second = list(row)
        second[4] = draw(st.sampled_from(["13/01/2011 10:00", "2011.01.13", "Jan 13 2011", "13-01-2011"]))
        return _csv([header, row, second]), kind
    if kind == "duplicated column":
        return _csv([header + [draw(st.sampled_from(OR_COLUMNS + ["Price", "Invoice"]))], row + ["1"]]), kind
    if kind == "huge numbers":
        row[draw(st.sampled_from([3, 5]))] = draw(st.sampled_from(["1e308", "9" * 30, "-99999999999", "1e400"]))
        return _csv([header, row]), kind
    if kind == "negative numbers":
        row[3], row[5] = "-5", draw(st.sampled_from(["-2.55", "2.55"]))
        return _csv([header, row]), kind
    if kind == "formulas":
        row[2], row[7] = draw(st.sampled_from(FORMULAS)), draw(st.sampled_from(FORMULAS))
        return _csv([header, row]), kind
    if kind == "wrong columns":
        return _csv([draw(st.lists(st.text(max_size=8), min_size=1, max_size=9)), row]), kind
    return draw(st.binary(min_size=1, max_size=3000)), kind


def malformed_files() -> st.SearchStrategy[tuple[bytes, str]]:
    """Any kind of bad (or good) input, as ``(bytes, kind)``."""
    return st.one_of(
        special_files(),
        csv_files().map(lambda case: (case[0], "malformed cells")),
        st.binary(max_size=2000).map(lambda data: (",".join(OR_COLUMNS).encode() + b"\n" + data, "header + bytes")),
    )
