"""Load a transaction log from CSV, XLSX or Parquet into the canonical schema.

Accepted layouts are the two UCI ones ("Online Retail", "Online Retail II",
see :data:`analytics.schema.LAYOUTS`) and the canonical one.  Header names are
matched after removing case, spaces and punctuation, so ``Customer ID``,
``CustomerID`` and ``customer_id`` are the same column; other columns are ignored.

The format is recognised from the file's first bytes, not its name: Parquet
(``PAR1``), XLSX (a zip), gzip-compressed CSV, otherwise CSV text in UTF-8
(with or without BOM) or, failing that, ISO-8859-1, separated by commas,
semicolons, tabs or pipes (read off the header line).  Every sheet of a
workbook whose header matches is read and the sheets are concatenated.

Anything unusable raises :class:`LoadError` naming the column, the row and the
value.  Row numbers count data rows from 1 (the header is not a row); for CSV
and XLSX the message also gives the line/row as a spreadsheet shows it.

Values are parsed once per distinct value (``pd.factorize``), which is what
makes a million-row file load in about a second.
"""
from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import pandas as pd

from .errors import AnalyticsError
from .schema import CANONICAL_COLUMNS, LAYOUTS, OPTIONAL_COLUMNS, UNKNOWN_COUNTRY

Source = Union[str, Path, bytes, bytearray, BinaryIO]

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
SEPARATORS = (",", ";", "\t", "|")
#: CSV files with at most this many columns are read whole, so that ragged rows are caught.
MAX_CHECKED_COLUMNS = 64


class LoadError(AnalyticsError):
    """A transaction file that cannot be used; ``str(error)`` is for humans."""

    def __init__(self, message: str, *, column: str | None = None,
                 row: int | None = None, value: object = None) -> None:
        super().__init__(message)
        self.column, self.row, self.value = column, row, value


@dataclass(frozen=True)
class _Part:
    """One table read from the source, before parsing: raw columns by name."""

    frame: pd.DataFrame
    where: str  # "sheet 'Year 2010-2011'" or "" for single-table files
    header_rows: int  # 1 when a header line precedes the data (CSV, XLSX)


def _norm(name: object) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


#: normalised header name -> canonical column, built from LAYOUTS.
SYNONYMS: dict[str, str] = {
    _norm(source): canonical
    for layout in LAYOUTS.values()
    for source, canonical in layout.items()
}


# --------------------------------------------------------------------------
# public API


def load_transactions(source: Source, *, filename: str | None = None) -> pd.DataFrame:
    """Read ``source`` (path, bytes or binary file) into the canonical schema.

    ``filename`` is only used in messages when ``source`` is not a path.
    ``frame.attrs["source"]`` describes what was read: format, layout,
    encoding, separator, sheets and the number of rows.
    """
    data, name = _read_bytes(source, filename)
    if not data.strip():
        raise LoadError(f"{name} is empty: no header and no rows.")
    fmt, parts, info = _read_parts(data, name)
    frames, layouts = [], []
    for part in parts:
        mapping, layout = match_columns(list(part.frame.columns), part.where)
        frames.append(_parse(part, mapping))
        layouts.append(layout)
    transactions = _concat(frames)
    if transactions.empty:
        raise LoadError(f"{name} has a header but no data rows.")
    transactions.attrs["source"] = {
        "name": name,
        "format": fmt,
        "layout": layouts[0] if len(set(layouts)) == 1 else "mixed",
        "rows": int(len(transactions)),
        **info,
    }
    return transactions


def match_columns(header: list[object], where: str = "") -> tuple[dict[str, str], str]:
    """Map a header to canonical columns; returns ``(source -> canonical, layout)``.

    Raises :class:`LoadError` for a missing column or two columns that mean
    the same thing.
    """
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for raw in header:
        canonical = SYNONYMS.get(_norm(raw))
        if canonical is None:
            continue
        if canonical in seen:
            raise LoadError(
                f"{_where(where)}columns {seen[canonical]!r} and {str(raw)!r} both give "
                f"{canonical!r}; keep one of them.",
                column=str(raw),
            )
        seen[canonical] = str(raw)
        mapping[str(raw)] = canonical
    missing = [c for c in CANONICAL_COLUMNS if c not in seen]
    if missing:
        names = {c: _closest_layout_name(c, header) for c in missing}
        layout_names = "; ".join(
            f"{layout}: {', '.join(cols)}" for layout, cols in LAYOUTS.items() if layout != "canonical"
        )
        raise LoadError(
            f"{_where(where)}missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(names.values())}. Expected one of the layouts ({layout_names}).",
            column=next(iter(names.values())),
        )
    header_set = {str(h) for h in header}
    layout = next(
        (name for name, cols in LAYOUTS.items() if set(cols) <= header_set), "custom"
    )
    return mapping, layout


# --------------------------------------------------------------------------
# reading bytes into raw tables


def _read_bytes(source: Source, filename: str | None) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            return path.read_bytes(), filename or path.name
        except FileNotFoundError:
            raise LoadError(f"File not found: {path}") from None
        except IsADirectoryError:
            raise LoadError(f"{path} is a folder, not a file.") from None
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), filename or "the file"
    return source.read(), filename or getattr(source, "name", None) or "the file"


def _read_parts(data: bytes, name: str) -> tuple[str, list[_Part], dict]:
    head = data[:8]
    if head.startswith(b"PAR1"):
        return "parquet", [_read_parquet(data, name)], {}
    if head.startswith(b"PK\x03\x04"):
        parts = _read_xlsx(data, name)
        return "xlsx", parts, {"sheets": [p.where for p in parts]}
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise LoadError(f"{name} is a legacy Excel .xls file; save it as .xlsx or CSV.")
    if head.startswith(b"\x1f\x8b"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise LoadError(f"{name} looks gzip-compressed but cannot be decompressed: {exc}") from None
        part, info = _read_csv(data, name)
        return "csv.gz", [part], info
    part, info = _read_csv(data, name)
    return "csv", [part], info


def _read_parquet(data: bytes, name: str) -> _Part:
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(io.BytesIO(data))
        header = file.schema_arrow.names
        mapping, _ = match_columns(header)
        table = file.read(columns=list(mapping))
    except LoadError:
        raise
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise LoadError(f"{name} is not a readable Parquet file: {exc}") from None
    frame = table.to_pandas()
    frame.columns = list(mapping)
    return _Part(frame, "", header_rows=0)


def _read_xlsx(data: bytes, name: str) -> list[_Part]:
    try:
        sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, header=None, engine="calamine")
    except Exception as exc:
        raise LoadError(f"{name} is not a readable XLSX workbook: {exc}") from None
    parts, problems = [], []
    for sheet, grid in sheets.items():
        if grid.empty:
            continue
        header = [str(v).strip() for v in grid.iloc[0].tolist()]
        where = f"sheet {sheet!r}"
        try:
            mapping, _ = match_columns(header, where)
        except LoadError as exc:
            problems.append(exc)
            continue
        columns = [i for i, h in enumerate(header) if h in mapping]
        frame = grid.iloc[1:, columns].reset_index(drop=True)
        frame.columns = [header[i] for i in columns]
        parts.append(_Part(frame, where, header_rows=1))
    if not parts:
        if problems:
            raise problems[0]
        raise LoadError(f"{name} has no sheet with data.")
    return parts


def _read_csv(data: bytes, name: str) -> tuple[_Part, dict]:
    if b"\x00" in data[:4096]:
        raise LoadError(f"{name} is not a text (CSV) file, nor Parquet or XLSX.")
    try:
        data.decode("utf-8")
        encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError:
        encoding = "latin-1"
    text_head = data[:65536].decode(encoding, errors="replace")
    first_line = text_head.splitlines()[0] if text_head.splitlines() else ""
    sep = max(SEPARATORS, key=first_line.count)
    header = next(csv.reader([first_line], delimiter=sep))
    mapping, _ = match_columns(header)
    # Reading every column of an ordinary file lets the parser refuse ragged rows
    # (an unquoted separator in a description); very wide files read only ours.
    usecols = list(mapping) if len(header) > MAX_CHECKED_COLUMNS else None
    try:
        frame = pd.read_csv(
            io.BytesIO(data), sep=sep, encoding=encoding, dtype=str, usecols=usecols,
            keep_default_na=False, na_values=[""], skip_blank_lines=True,
        )[list(mapping)]
    except pd.errors.ParserError as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f" at line {line.group(1)}" if line else ""
        raise LoadError(
            f"{name} is not a well-formed CSV{where}: {str(exc).split(':')[-1].strip()}",
            row=int(line.group(1)) - 1 if line else None,
        ) from None
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes any byte
        raise LoadError(f"{name} has bytes that are not text: {exc}") from None
    return _Part(frame, "", header_rows=1), {"encoding": encoding.replace("-sig", ""), "separator": sep}


# --------------------------------------------------------------------------
# parsing raw columns


def _parse(part: _Part, mapping: dict[str, str]) -> pd.DataFrame:
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
    part: _Part
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


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if len(frames) == 1:
        frame = frames[0]
    else:
        frame = pd.concat(frames, ignore_index=True)
        for column in ("invoice", "stock_code", "description", "customer_id", "country"):
            frame[column] = frame[column].astype("category")
    return frame


def _where(where: str) -> str:
    return f"{where[0].upper()}{where[1:]}: " if where else ""


def _closest_layout_name(canonical: str, header: list[object]) -> str:
    """The source name of a missing column in the layout the header resembles most."""
    header_set = {str(h) for h in header}
    best = max(
        (layout for name, layout in LAYOUTS.items() if name != "canonical"),
        key=lambda layout: len(set(layout) & header_set),
    )
    return next(source for source, c in best.items() if c == canonical)
