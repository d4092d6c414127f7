"""Parse raw columns of a transaction table into the canonical types.

Each column is parsed once per distinct value (``pd.factorize``) and the
result is broadcast back, which is what makes a million-row file load in about
a second.  The first unusable value raises :class:`LoadError` naming the
column, the row and the value.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import LoadError
from .schema import CANONICAL_COLUMNS, OPTIONAL_COLUMNS, UNKNOWN_COUNTRY

#: Date formats tried in order; the first that parses every value wins.  Month
#: first before day first, as in the UCI files, when both would fit.
DATE_FORMATS: tuple[str, ...] = (
    "ISO8601",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%m/%d/%Y",
    "%d/%m/%Y",
)
EARLIEST_DATE = pd.Timestamp("1970-01-01")
LATEST_DATE = pd.Timestamp("2100-01-01")
MAX_QUANTITY = np.iinfo(np.int32).max
MAX_ABS_PRICE = 1e9
#: Longest accepted text cell, per column; longer cells are an error.
MAX_TEXT_LENGTH: dict[str, int] = {
    "invoice": 64,
    "stock_code": 64,
    "customer_id": 64,
    "country": 128,
    "description": 1000,
}


@dataclass(frozen=True)
class RawTable:
    """One table read from the source, before parsing: raw columns by name."""

    frame: pd.DataFrame
    where: str  # "sheet 'Year 2010-2011'" or "" for single-table files
    header_rows: int  # 1 when a header line precedes the data (CSV, XLSX)


def parse_table(part: RawTable, mapping: dict[str, str]) -> pd.DataFrame:
    raw = part.frame.rename(columns=mapping)
    out: dict[str, object] = {}
    for column in CANONICAL_COLUMNS:
        source_name = next(s for s, c in mapping.items() if c == column)
        ctx = _Context(part, column, source_name)
        values = raw[column]
        if column == "quantity":
            out[column] = _parse_quantity(values, ctx)
        elif column == "unit_price":
            out[column] = _parse_price(values, ctx)
        elif column == "invoice_date":
            out[column] = _parse_dates(values, ctx)
        else:
            out[column] = _parse_text(values, ctx)
    return pd.DataFrame(out)


@dataclass(frozen=True)
class _Context:
    part: RawTable
    column: str
    source_name: str

    def error(self, problem: str, position: int, value: object) -> LoadError:
        row = position + 1
        line = f" (line {row + self.part.header_rows} of the file)" if self.part.header_rows else ""
        where = f"{self.part.where}, " if self.part.where else ""
        shown = repr(value if not isinstance(value, str) or len(value) <= 60 else value[:57] + "...")
        return LoadError(
            f"Column {self.source_name!r}, {where}row {row}{line}: {problem} {shown}.",
            column=self.source_name, row=row, value=value,
        )


def _first_position(codes: np.ndarray, bad_codes: np.ndarray) -> int:
    return int(np.flatnonzero(np.isin(codes, bad_codes))[0])


def _require(codes: np.ndarray, ctx: _Context) -> None:
    if ctx.column not in OPTIONAL_COLUMNS and (codes < 0).any():
        position = int(np.flatnonzero(codes < 0)[0])
        raise ctx.error("empty value; this column is required, got", position, "")


def _parse_text(values: pd.Series, ctx: _Context) -> pd.Categorical:
    codes, uniques = pd.factorize(values)
    text = pd.Series(uniques, dtype=object).map(_to_text)
    if ctx.column == "stock_code":
        text = text.str.upper()
    if ctx.column == "customer_id":
        text = text.str.replace(r"\.0+$", "", regex=True)
    text = text.where(text.str.len() > 0)
    too_long = np.flatnonzero(text.str.len().fillna(0).to_numpy() > MAX_TEXT_LENGTH[ctx.column])
    if len(too_long):
        position = _first_position(codes, too_long)
        raise ctx.error(
            f"text longer than {MAX_TEXT_LENGTH[ctx.column]} characters:", position, uniques[too_long[0]]
        )
    new_codes, categories = pd.factorize(text)
    codes = np.append(new_codes, -1)[codes]  # -1 (missing) stays missing
    if ctx.column == "country" and (codes < 0).any():
        categories = categories.append(pd.Index([UNKNOWN_COUNTRY])).unique()
        codes = np.where(codes < 0, categories.get_loc(UNKNOWN_COUNTRY), codes)
    _require(codes, ctx)
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype="str"))


def _to_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _numeric_uniques(values: pd.Series, ctx: _Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Factorize and parse to float; returns (codes, uniques, parsed uniques)."""
    codes, uniques = pd.factorize(values)
    _require(codes, ctx)
    if pd.api.types.is_numeric_dtype(uniques.dtype) and not pd.api.types.is_bool_dtype(uniques.dtype):
        return codes, np.asarray(uniques), np.asarray(uniques, dtype="float64")
    text = pd.Series(uniques, dtype=object).map(lambda v: str(v).strip())
    parsed = pd.to_numeric(text, errors="coerce")
    comma = parsed.isna() & text.str.fullmatch(r"-?\d+,\d+")
    if comma.any():  # decimal comma, as semicolon-separated exports write
        parsed[comma] = pd.to_numeric(text[comma].str.replace(",", "."), errors="coerce")
    return codes, np.asarray(uniques, dtype=object), parsed.to_numpy(dtype="float64")


def _parse_quantity(values: pd.Series, ctx: _Context) -> np.ndarray:
    codes, uniques, parsed = _numeric_uniques(values, ctx)
    checks = [
        (np.isnan(parsed), "not a number:"),
        (~np.isnan(parsed) & (np.abs(np.nan_to_num(parsed)) > MAX_QUANTITY), "quantity out of range:"),
        (~np.isnan(parsed) & (np.mod(np.nan_to_num(parsed), 1) != 0), "not a whole number:"),
    ]
    for bad, problem in checks:
        if bad.any():
            bad_codes = np.flatnonzero(bad)
            position = _first_position(codes, bad_codes)
            raise ctx.error(problem, position, uniques[codes[position]])
    return parsed.astype("int32")[codes]


def _parse_price(values: pd.Series, ctx: _Context) -> np.ndarray:
    codes, uniques, parsed = _numeric_uniques(values, ctx)
    bad = ~np.isfinite(parsed) | (np.abs(np.nan_to_num(parsed)) > MAX_ABS_PRICE)
    if bad.any():
        position = _first_position(codes, np.flatnonzero(bad))
        raise ctx.error("not a usable price:", position, uniques[codes[position]])
    return parsed[codes]


def _parse_dates(values: pd.Series, ctx: _Context) -> pd.DatetimeIndex:
    codes, uniques = pd.factorize(values)
    _require(codes, ctx)
    if isinstance(uniques, pd.DatetimeIndex):
        parsed = uniques.tz_localize(None) if uniques.tz is not None else uniques
    else:
        parsed = _parse_date_strings(pd.Series(uniques, dtype=object), codes, ctx)
    parsed = pd.DatetimeIndex(parsed).as_unit("us")
    out_of_range = (parsed < EARLIEST_DATE) | (parsed >= LATEST_DATE)
    if out_of_range.any():
        position = _first_position(codes, np.flatnonzero(out_of_range))
        raise ctx.error(
            f"date outside {EARLIEST_DATE:%Y}-{LATEST_DATE:%Y}:", position, str(uniques[codes[position]])
        )
    return parsed[codes]


def _parse_date_strings(uniques: pd.Series, codes: np.ndarray, ctx: _Context) -> pd.DatetimeIndex:
    is_stamp = uniques.map(lambda v: isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "year"))
    text = uniques.where(~is_stamp).map(lambda v: v if isinstance(v, str) else str(v)).str.strip()
    stamps = pd.to_datetime(uniques.where(is_stamp), errors="coerce")
    best: tuple[int, pd.Series] | None = None
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        parsed = parsed.where(~is_stamp, stamps)
        failures = int(parsed.isna().sum())
        if failures == 0:
            return pd.DatetimeIndex(parsed)
        if best is None or failures < best[0]:
            best = (failures, parsed)
    bad = np.flatnonzero(best[1].isna().to_numpy())
    position = _first_position(codes, bad)
    raise ctx.error(
        "not a date in a format used by the rest of the column (e.g. 2011-12-09 12:50 or 12/9/2011 12:50):",
        position, uniques.iloc[codes[position]],
    )


