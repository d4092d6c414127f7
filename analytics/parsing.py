"""Parse raw columns of a transaction table into the canonical types.

Each column is parsed once per distinct value (``pd.factorize``) and the
result is broadcast back, which is what makes a million-row file load in about
a second.  The first unusable value raises :class:`LoadError` naming the
column, the row and the value.

Dates follow :mod:`analytics.dates`: naive values are shop-local as they are;
values with a UTC offset (``...+01:00``, ``...-0500``, ``...Z``, ``... UTC``;
offsets may differ from row to row) and time zone-aware columns are converted
to wall times in the shop's ``time_zone``, and refused without one.
"""
from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .dates import time_zone as _zone
from .dates import to_shop_local
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
#: A time followed by a UTC offset at the end of a date text: the part before it
#: is parsed with :data:`DATE_FORMATS`, the offset turns it into an instant.
OFFSET_PATTERN = re.compile(
    r"^(?P<local>.*\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*"
    r"(?:(?P<utc>[Zz]|UTC|GMT)|(?P<sign>[+-])(?P<hours>\d{2}):?(?P<minutes>\d{2})?)$"
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


def parse_table(part: RawTable, mapping: dict[str, str],
                time_zone: str | zoneinfo.ZoneInfo | None = None) -> pd.DataFrame:
    """Canonical columns from ``part``; dates with offsets go to ``time_zone`` (see the module)."""
    raw = part.frame.rename(columns=mapping)
    zone = _zone(time_zone) if isinstance(time_zone, str) else time_zone
    out: dict[str, object] = {}
    for column in CANONICAL_COLUMNS:
        source_name = next(s for s, c in mapping.items() if c == column)
        ctx = _Context(part, column, source_name, zone)
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
    zone: zoneinfo.ZoneInfo | None = None

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
        if uniques.tz is not None and ctx.zone is None:
            raise ctx.error(_NEEDS_ZONE.format(what=f"a time zone-aware column ({uniques.tz})"), 0,
                            str(uniques[codes[0]]))
        parsed = uniques if uniques.tz is None else to_shop_local(uniques, ctx.zone)
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


_NEEDS_ZONE = (
    "{what} needs the shop's time zone to give shop-local dates (give it as an IANA name such as "
    "'Europe/London': time_zone= in Python, --time-zone on the command line), got"
)


def _parse_date_strings(uniques: pd.Series, codes: np.ndarray, ctx: _Context) -> pd.DatetimeIndex:
    is_stamp = uniques.map(
        lambda v: isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "year")).to_numpy()
    text = uniques.where(~is_stamp).map(lambda v: v if isinstance(v, str) else str(v)).str.strip()
    stamps = pd.Series(pd.NaT, index=uniques.index, dtype="datetime64[us]")
    if is_stamp.any():
        stamps[is_stamp] = _local_stamps(uniques[is_stamp], codes, ctx)
    text, offset_minutes = _split_offsets(text, codes, ctx)
    best: tuple[int, pd.Series] | None = None
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        if offset_minutes is not None:
            parsed = _offset_to_local(parsed, offset_minutes, ctx.zone)
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


def _split_offsets(text: pd.Series, codes: np.ndarray, ctx: _Context) -> tuple[pd.Series, pd.Series | None]:
    """Text without its trailing UTC offsets, and the offsets in minutes (NaN where
    naive; None if no value has one).  An offset without ``ctx.zone`` is a LoadError."""
    parts = text.str.extract(OFFSET_PATTERN)
    has_offset = parts["local"].notna().to_numpy()
    if not has_offset.any():
        return text, None
    if ctx.zone is None:
        position = _first_position(codes, np.flatnonzero(has_offset))
        raise ctx.error(_NEEDS_ZONE.format(what="a time with a UTC offset"), position,
                        text.iloc[codes[position]])
    sign = np.where(parts["sign"].to_numpy() == "-", -1.0, 1.0)
    hours = pd.to_numeric(parts["hours"], errors="coerce").fillna(0).to_numpy()
    minutes = pd.to_numeric(parts["minutes"], errors="coerce").fillna(0).to_numpy()
    offset = pd.Series(np.where(has_offset, sign * (hours * 60 + minutes), np.nan), index=text.index)
    return text.where(~has_offset, parts["local"]), offset


def _offset_to_local(parsed: pd.Series, offset_minutes: pd.Series, zone: zoneinfo.ZoneInfo) -> pd.Series:
    """Local times written with an offset -> wall times in ``zone``; naive values unchanged."""
    aware = offset_minutes.notna().to_numpy()
    utc = parsed[aware] - pd.to_timedelta(offset_minutes[aware], unit="min")
    out = parsed.copy()
    out[aware] = to_shop_local(pd.DatetimeIndex(utc).tz_localize("UTC"), zone)
    return out


def _local_stamps(values: pd.Series, codes: np.ndarray, ctx: _Context) -> np.ndarray:
    """Date objects of an object column (XLSX cells, Python datetimes) as shop-local
    ``datetime64[us]``; aware ones converted to ``ctx.zone`` (refused without it)."""
    out = np.empty(len(values), dtype="datetime64[us]")
    for i, (key, value) in enumerate(values.items()):
        stamp = pd.Timestamp(value)
        if stamp.tz is not None:
            if ctx.zone is None:
                position = _first_position(codes, np.array([key]))
                raise ctx.error(_NEEDS_ZONE.format(what="a time zone-aware time"), position, str(value))
            stamp = stamp.tz_convert(ctx.zone).tz_localize(None)
        out[i] = np.datetime64("NaT") if stamp is pd.NaT else stamp.as_unit("us").to_datetime64()
    return out
