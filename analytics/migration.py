"""Segment migration: where each customer's RFM segment was ``lookback_days`` ago
and where it is now.

Both segmentations are computed independently, each from its own date's RFM
table and quintiles (:func:`analytics.rfm.segmented_rfm`), so a customer can move
because of their own behaviour or because the population moved around them.
Customers whose first order is in the lookback window come from the row
:data:`NOT_YET_CUSTOMER`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _lines as L
from .errors import AnalyticsError
from .rfm import SEGMENT_ORDER, segmented_rfm

NOT_YET_CUSTOMER = "Not yet a customer"
PREVIOUS_ORDER: tuple[str, ...] = SEGMENT_ORDER + (NOT_YET_CUSTOMER,)


@dataclass(frozen=True)
class SegmentMigration:
    """Result of :func:`segment_migration`.

    * ``customers``: per customer of the current snapshot (index ``customer_id``):
      ``previous`` and ``current`` segment (categoricals), ``window_revenue``
      (net revenue of their lines in ``[previous_date, snapshot_date)``).
    * ``counts``: customers, rows = previous segment (:data:`PREVIOUS_ORDER`),
      columns = current segment (:data:`SEGMENT_ORDER`); all cells present.
    * ``revenue``: same grid, sum of ``window_revenue`` (currency).
    """

    customers: pd.DataFrame
    counts: pd.DataFrame
    revenue: pd.DataFrame
    lookback_days: int
    previous_date: pd.Timestamp
    snapshot_date: pd.Timestamp

    def to_long(self) -> pd.DataFrame:
        """Tidy form: ``previous``, ``current``, ``customers``, ``revenue``, one row per cell."""
        counts = self.counts.stack().rename("customers")
        revenue = self.revenue.stack().rename("revenue")
        out = pd.concat([counts, revenue], axis=1).reset_index()
        out.columns = ["previous", "current", "customers", "revenue"]
        return out

    def stayed_share(self) -> float:
        """Share of previous customers still in the same segment (NaN if none)."""
        existing = self.counts.loc[list(SEGMENT_ORDER)]
        total = existing.to_numpy().sum()
        return float(np.trace(existing.to_numpy()) / total) if total else float("nan")

    def restrict(self, customer_ids) -> SegmentMigration:
        """The same migration for a subset of the customers (e.g. a dashboard filter).

        Each kept customer keeps their ``previous`` and ``current`` segment and
        ``window_revenue`` from this result: the segments are NOT recomputed on
        the subset (quintiles stay those of the whole population), only the
        ``counts`` and ``revenue`` grids are summed over the kept customers.
        Ids that are not current customers are ignored; row order is kept.
        """
        keep = self.customers.index.isin(pd.Index(list(customer_ids), dtype="str"))
        customers = self.customers.loc[keep]
        prev = customers["previous"].cat.codes.to_numpy().astype(np.int64)
        cur = customers["current"].cat.codes.to_numpy().astype(np.int64)
        counts = _grid(np.ones(len(cur)), prev, cur).astype(np.int64)
        revenue = _grid(customers["window_revenue"].to_numpy(dtype=np.float64), prev, cur)
        return SegmentMigration(customers, counts, revenue, self.lookback_days, self.previous_date,
                                self.snapshot_date)


def _grid(values: np.ndarray, prev: np.ndarray, cur: np.ndarray) -> pd.DataFrame:
    n_rows, n_cols = len(PREVIOUS_ORDER), len(SEGMENT_ORDER)
    flat = np.bincount(prev * n_cols + cur, weights=values, minlength=n_rows * n_cols)
    return pd.DataFrame(
        flat.reshape(n_rows, n_cols),
        index=pd.Index(PREVIOUS_ORDER, dtype="str", name="previous"),
        columns=pd.Index(SEGMENT_ORDER, dtype="str", name="current"),
    )


def segment_migration(
    lines: pd.DataFrame, snapshot_date: L.DateLike | None = None, lookback_days: int = 90
) -> SegmentMigration:
    """Segments at ``snapshot_date - lookback_days`` versus at ``snapshot_date``.

    ``snapshot_date`` defaults to the day after the last line; lines on or after
    it are ignored.  ``lookback_days`` must be a positive whole number of days.
    """
    L.require_columns(lines)
    if int(lookback_days) != lookback_days or lookback_days < 1:
        raise AnalyticsError(f"lookback_days must be a positive whole number, got {lookback_days!r}.")
    lookback_days = int(lookback_days)
    snapshot = L.resolve_snapshot(lines, snapshot_date)
    if snapshot is None:
        raise AnalyticsError("no lines and no snapshot date: nothing to compare.")
    previous_date = snapshot - pd.Timedelta(days=lookback_days)
    lines = L.before(lines, snapshot)
    current = segmented_rfm(lines, snapshot)
    previous = segmented_rfm(L.before(lines, previous_date), previous_date)

    prev_codes = np.full(len(current), len(SEGMENT_ORDER), dtype=np.int64)  # NOT_YET_CUSTOMER
    rows = current.index.get_indexer(previous.index)
    if (rows < 0).any():  # cannot happen: an earlier customer is a customer now
        raise AnalyticsError("inconsistent snapshots: a previous customer has no current row.")
    prev_codes[rows] = previous["segment"].cat.codes.to_numpy()
    cur_codes = current["segment"].cat.codes.to_numpy().astype(np.int64)

    in_window = L.micros(lines["invoice_date"]) >= np.datetime64(previous_date, "us").astype(np.int64)
    codes, names = L.codes_of(lines["customer_id"])
    per_code = np.bincount(
        codes[in_window] + 1, weights=lines["revenue"].to_numpy(dtype=np.float64)[in_window],
        minlength=len(names) + 1,
    )[1:]
    position = names.get_indexer(current.index)
    window_revenue = np.where(position >= 0, per_code[np.maximum(position, 0)], 0.0)

    customers = pd.DataFrame(
        {
            "previous": pd.Categorical.from_codes(prev_codes, categories=pd.Index(PREVIOUS_ORDER, dtype="str")),
            "current": current["segment"].array,
            "window_revenue": window_revenue,
        },
        index=current.index,
    )
    counts = _grid(np.ones(len(cur_codes)), prev_codes, cur_codes).astype(np.int64)
    revenue = _grid(window_revenue, prev_codes, cur_codes)
    return SegmentMigration(customers, counts, revenue, lookback_days, previous_date, snapshot)


#: Look-backs of :func:`segment_history` (days before the snapshot).
HISTORY_OFFSETS: tuple[int, ...] = (0, 90, 180, 270, 360)


@dataclass(frozen=True)
class SegmentHistory:
    """Result of :func:`segment_history`.

    ``segments``: per customer of the snapshot (index ``customer_id``), one
    column per offset (int, days before the snapshot; 0 = the snapshot) with
    the segment at that date (categorical over :data:`PREVIOUS_ORDER`:
    :data:`NOT_YET_CUSTOMER` before their first order).  ``dates``: the date
    of each offset (snapshot - offset days).
    """

    segments: pd.DataFrame
    offsets: tuple[int, ...]
    dates: tuple[pd.Timestamp, ...]
    snapshot_date: pd.Timestamp

    def of(self, customer_id: str) -> pd.DataFrame:
        """One customer's history: ``offset_days``, ``date``, ``segment`` (newest first);
        empty when the customer is not in the table."""
        if customer_id not in self.segments.index:
            return pd.DataFrame({"offset_days": pd.Series([], dtype="int64"),
                                 "date": pd.Series([], dtype="datetime64[us]"),
                                 "segment": pd.Series([], dtype="str")})
        row = self.segments.loc[customer_id]
        return pd.DataFrame({"offset_days": list(self.offsets), "date": list(self.dates),
                             "segment": [str(row[o]) for o in self.offsets]})


def segment_history(
    lines: pd.DataFrame, snapshot_date: L.DateLike | None = None, offsets_days: tuple[int, ...] = HISTORY_OFFSETS
) -> SegmentHistory:
    """Every customer's RFM segment at ``snapshot_date - d`` for each ``d`` of ``offsets_days``.

    Each date is segmented independently from its own RFM table and quintiles
    (:func:`analytics.rfm.segmented_rfm` on the lines before it), exactly as
    :func:`segment_migration` does for its two dates: the column of offset 0 is
    the snapshot's segment and the column of offset ``d`` equals
    ``segment_migration(lines, snapshot, d).customers["previous"]``.  Rows: the
    customers of the snapshot.  Offsets must be whole days >= 0.
    """
    L.require_columns(lines)
    offsets = tuple(int(d) for d in offsets_days)
    if not offsets or any(d < 0 or d != o for d, o in zip(offsets, offsets_days)):
        raise AnalyticsError(f"offsets_days must be whole numbers of days >= 0, got {offsets_days!r}.")
    snapshot = L.resolve_snapshot(lines, snapshot_date)
    if snapshot is None:
        raise AnalyticsError("no lines and no snapshot date: nothing to segment.")
    lines = L.before(lines, snapshot)
    current = segmented_rfm(lines, snapshot)
    categories = pd.Index(PREVIOUS_ORDER, dtype="str")
    columns: dict[int, pd.Categorical] = {}
    dates = []
    for offset in offsets:
        date = snapshot - pd.Timedelta(days=offset)
        dates.append(date)
        past = current if offset == 0 else segmented_rfm(L.before(lines, date), date)
        codes = np.full(len(current), len(SEGMENT_ORDER), dtype=np.int64)  # NOT_YET_CUSTOMER
        rows = current.index.get_indexer(past.index)
        codes[rows] = past["segment"].cat.codes.to_numpy()
        columns[offset] = pd.Categorical.from_codes(codes, categories=categories)
    segments = pd.DataFrame(columns, index=current.index)
    return SegmentHistory(segments, offsets, tuple(dates), snapshot)
