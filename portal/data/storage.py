"""Dataset payloads: the canonical transactions of a dataset version, stored as
Parquet (zstd) bytes in ``dataset_payloads``, cut into chunks so that no single
row grows past what the database handles comfortably.

Readers take a :class:`~portal.platform.tenancy.PortalContext`: a dataset of another
tenant is not found, whatever id is asked for.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..platform.db import session_scope
from ..platform.models import Dataset, DatasetPayload
from ..platform.tenancy import PortalContext

CHUNK_BYTES = 8 * 1024 * 1024
PARQUET_COMPRESSION = "zstd"


class DatasetNotFound(LookupError):
    """No ready dataset with that id for the context's tenant."""


#: Ids and versions are 32-bit integer columns: anything outside is no dataset.
_INT_RANGE = (-(2 ** 31), 2 ** 31 - 1)


def _as_key(value, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise DatasetNotFound(f"{what} {str(value)[:40]} not found.") from None
    if not _INT_RANGE[0] <= number <= _INT_RANGE[1]:
        raise DatasetNotFound(f"{what} {str(value)[:40]} not found.")
    return number


def frame_to_parquet(frame: pd.DataFrame) -> bytes:
    """Serialise a canonical frame (dtypes, categoricals included) to Parquet bytes."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression=PARQUET_COMPRESSION)
    return buffer.getvalue()


def parquet_to_frame(data: bytes) -> pd.DataFrame:
    return pq.read_table(pa.BufferReader(data)).to_pandas()


def write_payload(session: Session, dataset_id: int, data: bytes, chunk_bytes: int = CHUNK_BYTES) -> int:
    """Add the payload rows of ``dataset_id`` to ``session`` (no commit); returns the chunk count."""
    session.execute(delete(DatasetPayload).where(DatasetPayload.dataset_id == dataset_id))
    view = memoryview(data)
    chunks = max(1, -(-len(data) // chunk_bytes))
    for number in range(chunks):
        piece = bytes(view[number * chunk_bytes:(number + 1) * chunk_bytes])
        session.add(DatasetPayload(dataset_id=dataset_id, chunk_no=number, data=piece))
        session.flush()  # one chunk in memory at a time on the way to the database
    return chunks


def read_payload(session: Session, dataset_id: int) -> bytes:
    rows = session.execute(
        select(DatasetPayload.data).where(DatasetPayload.dataset_id == dataset_id)
        .order_by(DatasetPayload.chunk_no)
    ).scalars()
    return b"".join(bytes(chunk) for chunk in rows)


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset row as plain data (safe to use after the session closes)."""

    id: int
    tenant_id: int
    version: int
    filename: str
    status: str
    created_at: Any
    rows_in: int | None
    rows_clean: int | None
    customers: int | None
    orders: int | None
    payload_bytes: int | None
    source: dict | None
    cleaning_report: dict | None
    error: str | None
    models_status: str
    models_progress: float
    models_message: str | None
    models_updated_at: Any
    quality_report: dict | None = None
    import_mode: str | None = None

    @classmethod
    def of(cls, row: Dataset) -> "DatasetInfo":
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


def get_dataset(ctx: PortalContext, dataset_id: int | None = None, *, ready_only: bool = True) -> DatasetInfo:
    """A dataset of the context's tenant (default: its current one)."""
    dataset_id = ctx.dataset_id if dataset_id is None else dataset_id
    if dataset_id is None:
        raise DatasetNotFound("No dataset has been imported yet.")
    dataset_id = _as_key(dataset_id, "Dataset")
    with session_scope() as session:
        row = session.get(Dataset, dataset_id)
        if row is None or row.tenant_id != ctx.tenant_id or (ready_only and row.status != "ready"):
            raise DatasetNotFound(f"Dataset {dataset_id} not found.")
        return DatasetInfo.of(row)


def get_dataset_by_version(ctx: PortalContext, version: int) -> DatasetInfo:
    version = _as_key(version, "Version")
    with session_scope() as session:
        row = session.scalars(
            select(Dataset).where(Dataset.tenant_id == ctx.tenant_id, Dataset.version == version)
        ).one_or_none()
        if row is None:
            raise DatasetNotFound(f"Version {version} not found.")
        return DatasetInfo.of(row)


def list_datasets(ctx: PortalContext) -> list[DatasetInfo]:
    with session_scope() as session:
        rows = session.scalars(
            select(Dataset).where(Dataset.tenant_id == ctx.tenant_id).order_by(Dataset.version.desc())
        )
        return [DatasetInfo.of(row) for row in rows]


def load_transactions(ctx: PortalContext, dataset_id: int | None = None) -> pd.DataFrame:
    """The stored canonical transactions of a ready dataset of the context's tenant."""
    info = get_dataset(ctx, dataset_id)
    with session_scope() as session:
        data = read_payload(session, info.id)
    frame = parquet_to_frame(data)
    frame.attrs["source"] = dict(info.source or {}, dataset_id=info.id, version=info.version)
    return frame
