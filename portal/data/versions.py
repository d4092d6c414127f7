"""Dataset versions: append (with duplicate detection), time-zone re-derivation, pruning.

* **Append**: the new file's lines are added to the current version's as a new
  version.  A line whose key (every canonical column) is already loaded is a
  duplicate: it is counted and reported, never added twice.
* **Re-derivation in a new time zone**: times that came with a UTC offset name
  instants, so they move to the new zone's wall time; naive times are
  shop-local as written and stay.  A version mixing both cannot be re-derived
  row by row (which rows had offsets is not kept): the change is refused.
* **Pruning** keeps the last ``keep_versions`` versions of a tenant, never the
  current one and never one still importing.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from analytics.dates import time_zone as _zone
from analytics.schema import CANONICAL_COLUMNS

from ..platform.models import Dataset, DatasetPayload, DatasetResult


class VersionError(ValueError):
    """A version operation that cannot be done, with the reason."""


def append_lines(current: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``current`` + the lines of ``new`` not already in it; returns (merged, duplicates of loaded lines)."""
    columns = list(CANONICAL_COLUMNS)
    loaded = pd.MultiIndex.from_frame(_key_frame(current[columns]))
    incoming = pd.MultiIndex.from_frame(_key_frame(new[columns]))
    duplicate = incoming.isin(loaded)
    merged = pd.concat([current[columns], new.loc[~duplicate, columns]], ignore_index=True)
    for column in ("invoice", "stock_code", "description", "customer_id", "country"):
        merged[column] = merged[column].astype(str).where(merged[column].notna()).astype("category")
    merged["quantity"] = merged["quantity"].astype("int32") if merged["quantity"].abs().max() < 2**31 else \
        merged["quantity"]
    merged["invoice_date"] = merged["invoice_date"].astype("datetime64[us]")
    return merged, int(duplicate.sum())


def _key_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in ("invoice", "stock_code", "description", "customer_id", "country"):
        out[column] = out[column].astype(str).where(out[column].notna(), "")
    out["unit_price"] = out["unit_price"].round(6)
    out["quantity"] = out["quantity"].astype("int64")
    out["invoice_date"] = out["invoice_date"].astype("datetime64[us]")
    return out


def rezone(frame: pd.DataFrame, source: dict | None, old_zone: str, new_zone: str) -> pd.DataFrame:
    """The lines of a version re-derived for ``new_zone`` (see the module); VersionError if impossible."""
    source = source or {}
    rows = int(source.get("rows") or len(frame))
    with_offset = source.get("dates_with_offset", 0)
    out = frame.copy()
    if with_offset in (0, None):
        return out
    if with_offset == rows and with_offset > 0:
        aware = pd.DatetimeIndex(out["invoice_date"]).tz_localize(_zone(old_zone), ambiguous=False,
                                                                  nonexistent="shift_forward")
        out["invoice_date"] = aware.tz_convert(_zone(new_zone)).tz_localize(None).as_unit("us")
        return out
    raise VersionError(
        f"The current version mixes times with a UTC offset and times without one "
        f"({with_offset if with_offset != -1 else 'some'} of {rows:,} rows had an offset), so it cannot be "
        f"re-derived in {new_zone} row by row. Nothing was changed: import the file again after changing "
        f"the time zone with a replace import, or keep {old_zone}.")


def next_version(session: Session, tenant_id: int) -> int:
    """The tenant's next version number."""
    current = session.execute(select(func.max(Dataset.version)).where(Dataset.tenant_id == tenant_id)).scalar()
    return (current or 0) + 1


def prune(session: Session, tenant_id: int, keep: int, current_id: int | None) -> list[int]:
    """Delete all but the newest ``keep`` versions (payloads and results cascade); returns their numbers."""
    rows = session.execute(
        select(Dataset.id, Dataset.version, Dataset.status).where(Dataset.tenant_id == tenant_id)
        .order_by(Dataset.version.desc())).all()
    doomed = [(row.id, row.version) for row in rows[max(keep, 1):]
              if row.id != current_id and row.status != "importing"]
    if doomed:
        ids = [d for d, _ in doomed]
        session.execute(delete(DatasetPayload).where(DatasetPayload.dataset_id.in_(ids)))
        session.execute(delete(DatasetResult).where(DatasetResult.dataset_id.in_(ids)))
        session.execute(delete(Dataset).where(Dataset.id.in_(ids)))
    return sorted(v for _, v in doomed)
