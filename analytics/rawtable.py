"""Reading an order export as it is, and parsing its cells leniently.

:func:`read_table` gives every column of a CSV/XLSX/Parquet file with its raw
values; the parsers turn cells into text, numbers and shop-local times per
distinct value (an export repeats order ids, dates and prices on many rows) and
give a missing value where a cell cannot be read, so that the caller
(:func:`analytics.mapping.apply_mapping`) refuses that row, not the file.
"""
from __future__ import annotations

import csv
import gzip
import io

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from .dates import to_shop_local
from .errors import LoadError
from .loading import SEPARATORS, Source, _read_bytes, text_encoding
from .parsing import DATE_FORMATS, OFFSET_PATTERN


def read_table(source: Source, filename: str | None = None, max_rows: int | None = None) -> pd.DataFrame:
    """Every column of a CSV/XLSX/Parquet file, values as read (CSV: text); LoadError if unreadable.

    The format is recognised from the first bytes, as :func:`analytics.load_transactions`
    does; an XLSX workbook gives its first sheet with data.  ``max_rows`` reads a preview.
    """
    data, name = _read_bytes(source, filename)
    if not data.strip():
        raise LoadError(f"{name} is empty: no header and no rows.")
    head = data[:8]
    try:
        if head.startswith(b"PAR1"):
            table = pq.read_table(io.BytesIO(data))
            frame = table.to_pandas()
        elif head.startswith(b"PK\x03\x04"):
            sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=object, engine="calamine",
                                   nrows=max_rows)
            frame = next((s for s in sheets.values() if not s.empty), None)
            if frame is None:
                raise LoadError(f"{name} has no sheet with data.")
        else:
            if head.startswith(b"\x1f\x8b"):
                data = gzip.decompress(data)
            encoding = text_encoding(data, name)
            first = data[:65536].decode(encoding, errors="replace").splitlines()
            sep = max(SEPARATORS, key=(first[0] if first else "").count)
            frame = pd.read_csv(io.BytesIO(data), sep=sep, encoding=encoding, dtype=str, keep_default_na=False,
                                na_values=[""], skip_blank_lines=True, nrows=max_rows, quoting=csv.QUOTE_MINIMAL)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - readers raise many types for corrupt files
        raise LoadError(f"{name} cannot be read as CSV, XLSX or Parquet: {str(exc).splitlines()[0]}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(set(frame.columns)) < len(frame.columns):
        raise LoadError(f"{name} has two columns with the same name; rename one.")
    frame.attrs["name"] = name
    return frame.reset_index(drop=True)



def per_unique(values: pd.Series, func) -> pd.Series:
    """``values.map(func)`` computed once per distinct value (missing stays missing)."""
    codes, uniques = pd.factorize(values)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [func(u) for u in uniques]
    mapped[-1] = None
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def blank_to_na(values: pd.Series) -> pd.Series:
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        return per_unique(values, lambda v: (v.strip() or None) if isinstance(v, str) else v)
    return values


def text_of(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if np.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    text = str(value).strip()
    return text or None


def texts(values: pd.Series) -> pd.Series:
    """:func:`text_of` of every value, computed per distinct value."""
    return per_unique(values, text_of)


def spread(values: pd.Series | None, key: pd.Series) -> pd.Series | None:
    """Fill an order's empty cells from its other rows (first value)."""
    if values is None or not values.isna().any():
        return values
    filled = values.groupby(key.to_numpy(), sort=False).transform("first")
    return values.where(values.notna(), filled)


def numbers(values: pd.Series) -> pd.Series:
    """Numbers from numbers or text (currency symbols, thousands separators, decimal comma)."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64")
    codes, uniques = pd.factorize(values)
    text = pd.Series(uniques, dtype=object).map(lambda v: str(v).strip())
    text = text.str.replace(r"[£$€¥\s]|[A-Z]{3}$", "", regex=True)
    comma_decimal = text.str.fullmatch(r"-?[\d.]*\d,\d{1,2}").fillna(False).astype(bool)
    text = text.where(~comma_decimal, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    text = text.str.replace(r"(?<=\d),(?=\d{3}\b)", "", regex=True)
    parsed = pd.to_numeric(text, errors="coerce").astype("float64")
    parsed = parsed.where(np.isfinite(parsed) & (parsed.abs() < 1e9)).to_numpy()
    return pd.Series(np.append(parsed, np.nan)[codes], index=values.index, dtype="float64")


def parse_dates(values: pd.Series, zone, column: str) -> tuple[pd.Series, np.ndarray]:
    """Shop-local ``datetime64[us]`` (NaT where unreadable) and which rows had a UTC offset."""
    n = len(values)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        if getattr(values.dtype, "tz", None) is not None:
            if zone is None:
                raise LoadError(f"Column {column!r} holds time zone-aware times: the shop's time zone is needed.")
            local = to_shop_local(pd.DatetimeIndex(values), zone)
            return pd.Series(local, index=values.index), np.ones(n, dtype=bool)
        return values.astype("datetime64[us]"), np.zeros(n, dtype=bool)
    codes, uniques = pd.factorize(values)
    uniq = pd.Series(uniques, dtype=object)
    is_stamp = uniq.map(lambda v: hasattr(v, "year")).to_numpy(dtype=bool)
    text = uniq.where(~is_stamp).map(lambda v: None if v is None else str(v).strip())
    parts = text.str.extract(OFFSET_PATTERN)
    has_offset = parts["local"].notna().to_numpy()
    if has_offset.any() and zone is None:
        example = text[has_offset].iloc[0]
        raise LoadError(f"Column {column!r} has times with a UTC offset (e.g. {example!r}): the shop's time zone "
                        "is needed to give shop-local days (set the tenant's time zone, or --time-zone).")
    local_text = text.where(~has_offset, parts["local"])
    best = None
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(local_text, format=fmt, errors="coerce")
        hits = int(parsed.notna().sum())
        if best is None or hits > best[0]:
            best = (hits, parsed)
        if hits == int(local_text.notna().sum()):
            break
    parsed = best[1].astype("datetime64[us]") if best is not None else pd.Series(pd.NaT, index=uniq.index)
    if has_offset.any():
        sign = np.where(parts["sign"].to_numpy() == "-", -1.0, 1.0)
        minutes = (pd.to_numeric(parts["hours"], errors="coerce").fillna(0).to_numpy() * 60
                   + pd.to_numeric(parts["minutes"], errors="coerce").fillna(0).to_numpy()) * sign
        utc = parsed[has_offset] - pd.to_timedelta(minutes[has_offset], unit="min")
        ok = utc.notna().to_numpy()
        converted = pd.Series(pd.NaT, index=utc.index, dtype="datetime64[us]")
        converted[ok] = to_shop_local(pd.DatetimeIndex(utc[ok]).tz_localize("UTC"), zone)
        parsed[has_offset] = converted
    if is_stamp.any():
        stamps = pd.to_datetime(uniq[is_stamp], errors="coerce", utc=False)
        parsed[is_stamp] = stamps.astype("datetime64[us]")
    parsed = parsed.where((parsed >= pd.Timestamp("1970-01-01")) & (parsed < pd.Timestamp("2100-01-01")))
    out = np.append(parsed.to_numpy(dtype="datetime64[us]"), np.datetime64("NaT", "us"))[codes]
    offsets = np.append(has_offset, False)[codes]
    return pd.Series(out, index=values.index), offsets
