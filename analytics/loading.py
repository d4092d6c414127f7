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

Column values are parsed by :mod:`analytics.parsing`.  Dates follow
:mod:`analytics.dates`: naive dates are shop-local; dates with a UTC offset
and time zone-aware Parquet columns are converted to the shop's ``time_zone``
(an IANA name), and refused with a :class:`LoadError` when none is given.
"""
from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .dates import time_zone as _zone
from .errors import LoadError
from .parsing import RawTable, parse_table
from .schema import CANONICAL_COLUMNS, LAYOUTS

Source = str | Path | bytes | bytearray | BinaryIO

SEPARATORS = (",", ";", "\t", "|")
#: CSV files with at most this many columns are read whole, so that ragged rows are caught.
MAX_CHECKED_COLUMNS = 64


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


def load_transactions(source: Source, *, filename: str | None = None,
                      time_zone: str | None = None) -> pd.DataFrame:
    """Read ``source`` (path, bytes or binary file) into the canonical schema.

    ``filename`` is only used in messages when ``source`` is not a path.
    ``time_zone`` (IANA name, e.g. ``"Europe/London"``) is the shop's: dates
    with a UTC offset or a time zone are converted to its wall time; without
    it they are refused (naive dates are shop-local either way).
    ``frame.attrs["source"]`` describes what was read: format, layout,
    encoding, separator, sheets, the number of rows and the time zone (when given).
    """
    zone = None if time_zone is None else _zone(time_zone)
    data, name = _read_bytes(source, filename)
    if not data.strip():
        raise LoadError(f"{name} is empty: no header and no rows.")
    fmt, parts, info = _read_parts(data, name)
    del data  # the raw bytes (a decompressed CSV can be gigabytes) are not needed to parse
    frames, layouts = [], []
    for part in parts:
        mapping, layout = match_columns(list(part.frame.columns), part.where)
        frames.append(parse_table(part, mapping, zone))
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
        **({} if zone is None else {"time_zone": zone.key}),
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


def _read_parts(data: bytes, name: str) -> tuple[str, list[RawTable], dict]:
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


def _read_parquet(data: bytes, name: str) -> RawTable:
    try:
        schema = pq.ParquetFile(io.BytesIO(data)).schema_arrow
        mapping, _ = match_columns(schema.names)
        # Text columns come back dictionary-encoded (pandas Categorical): no million
        # Python strings, and parsing factorizes integer codes (about 2x faster, far
        # less memory).  Values and their order of first appearance are unchanged.
        text = [name for name in mapping if _is_text(schema.field(name).type)]
        file = pq.ParquetFile(io.BytesIO(data), read_dictionary=text)
        table = file.read(columns=list(mapping))
    except LoadError:
        raise
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise LoadError(f"{name} is not a readable Parquet file: {exc}") from None
    frame = table.to_pandas()
    frame.columns = list(mapping)
    del table, file
    _release_arrow_memory()
    return RawTable(frame, "", header_rows=0)


def _release_arrow_memory() -> None:
    """Give the reader's buffers back to the system now rather than keeping them in
    Arrow's pool for a next read that a report never makes (peak memory at 10M lines)."""
    pa.default_memory_pool().release_unused()


def _is_text(arrow_type: object) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _read_xlsx(data: bytes, name: str) -> list[RawTable]:
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
        parts.append(RawTable(frame, where, header_rows=1))
    if not parts:
        if problems:
            raise problems[0]
        raise LoadError(f"{name} has no sheet with data.")
    return parts


def text_encoding(data: bytes, name: str) -> str:
    """The encoding of a CSV file's bytes: UTF-8 (with or without BOM) when they decode as
    such, else Latin-1; a LoadError when they are not text at all."""
    if b"\x00" in data[:4096]:
        raise LoadError(f"{name} is not a text (CSV) file, nor Parquet or XLSX.")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"


def _read_csv(data: bytes, name: str) -> tuple[RawTable, dict]:
    encoding = text_encoding(data, name)
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
    return RawTable(frame, "", header_rows=1), {"encoding": encoding.replace("-sig", ""), "separator": sep}


# --------------------------------------------------------------------------
# helpers


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
