"""Caps on what a compressed upload expands to, checked BEFORE it is parsed.

A 1 MB XLSX can hold gigabytes of sheet XML; a .gz the same.  Before
:func:`analytics.load_transactions` sees a file, :func:`check_expansion`
streams through it with a small, bounded buffer and refuses it, with a message
naming the limit, when it would decompress to more than ``MAX_DECOMPRESSED_MB``
or hold more than ``MAX_IMPORT_ROWS`` rows:

* XLSX (a zip): the declared sizes of all members first (free), then the
  worksheets are inflated piece by piece, counting bytes and ``<row`` tags (a
  member that lies about its size is caught by the count, not trusted);
* gzip: inflated piece by piece, counting bytes and lines;
* Parquet: the footer's row count and uncompressed size (no data is read);
* plain CSV: lines are counted (its size is already capped by ``MAX_UPLOAD_MB``).
"""
from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO, Union

import pyarrow.parquet as pq

Source = Union[str, Path, bytes, bytearray, BinaryIO]
PIECE = 1024 * 1024


class ExpansionRefused(ValueError):
    """The file would expand past a cap; the message names the cap and the setting."""


def _open(source: Source) -> BinaryIO:
    if isinstance(source, (str, Path)):
        return open(source, "rb")
    if isinstance(source, (bytes, bytearray)):
        return io.BytesIO(source)
    return source


def check_expansion(source: Source, name: str, max_bytes: int, max_rows: int) -> None:
    """Raise :class:`ExpansionRefused` if ``source`` decompresses past ``max_bytes`` or
    holds more than ``max_rows`` rows; leaves a file object at its starting position."""
    if isinstance(source, (str, Path)) and not Path(source).is_file():
        return  # the loader says clearly what is wrong with the path
    handle = _open(source)
    start = handle.tell()
    try:
        head = handle.read(8)
        handle.seek(start)
        if head.startswith(b"PK\x03\x04"):
            _check_zip(handle, name, max_bytes, max_rows)
        elif head.startswith(b"\x1f\x8b"):
            _check_stream(gzip.GzipFile(fileobj=handle), name, max_bytes, max_rows, compressed=True)
        elif head.startswith(b"PAR1"):
            _check_parquet(handle, name, max_bytes, max_rows)
        else:
            _check_stream(handle, name, max_bytes, max_rows, compressed=False)
    finally:
        if handle is not source:
            handle.close()
        else:
            handle.seek(start)


def _too_big(name: str, max_bytes: int) -> ExpansionRefused:
    return ExpansionRefused(f"{name} expands to more than {max_bytes // 1024 // 1024:,} MB when decompressed "
                            "(MAX_DECOMPRESSED_MB); split it or upload it as CSV.")


def _too_many(name: str, max_rows: int) -> ExpansionRefused:
    return ExpansionRefused(f"{name} holds more than {max_rows:,} rows (MAX_IMPORT_ROWS); split it into "
                            "smaller files.")


def _check_stream(stream: BinaryIO, name: str, max_bytes: int, max_rows: int, *, compressed: bool) -> None:
    total, lines = 0, 0
    try:
        while True:
            piece = stream.read(PIECE)
            if not piece:
                break
            total += len(piece)
            lines += piece.count(b"\n")
            if compressed and total > max_bytes:
                raise _too_big(name, max_bytes)
            if lines > max_rows + 1:  # + the header line
                raise _too_many(name, max_rows)
    except (OSError, EOFError, zlib.error) as exc:
        raise ExpansionRefused(f"{name} looks gzip-compressed but cannot be decompressed: {exc}") from None


def _check_zip(handle: BinaryIO, name: str, max_bytes: int, max_rows: int) -> None:
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExpansionRefused(f"{name} is not a readable XLSX workbook: {exc}") from None
    with archive:
        members = archive.infolist()
        if sum(m.file_size for m in members) > max_bytes:
            raise _too_big(name, max_bytes)
        total, rows = 0, 0
        for member in members:
            sheet = member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml")
            tail = b""
            try:
                with archive.open(member) as stream:
                    while True:
                        piece = stream.read(PIECE)
                        if not piece:
                            break
                        total += len(piece)
                        if total > max_bytes:
                            raise _too_big(name, max_bytes)
                        if sheet:
                            window = tail + piece
                            rows += window.count(b"<row ") + window.count(b"<row>") - \
                                tail.count(b"<row ") - tail.count(b"<row>")
                            tail = piece[-5:]
                            if rows > max_rows + 1:  # + the header row
                                raise _too_many(name, max_rows)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                raise ExpansionRefused(f"{name} is not a readable XLSX workbook: {exc}") from None


def _check_parquet(handle: BinaryIO, name: str, max_bytes: int, max_rows: int) -> None:

    try:
        metadata = pq.ParquetFile(handle).metadata
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for corrupt files
        raise ExpansionRefused(f"{name} is not a readable Parquet file: {exc}") from None
    if metadata.num_rows > max_rows:
        raise _too_many(name, max_rows)
    expanded = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if expanded > max_bytes:
        raise _too_big(name, max_bytes)
