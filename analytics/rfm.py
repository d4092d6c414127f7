"""RFM: recency, frequency, monetary value per customer, quintile scores and segments.

Definitions (see :mod:`analytics.cleaning` for line, order, return, net revenue):

* **recency**: calendar days from the date of the customer's last order to the
  snapshot date (a customer who ordered on the last day before the snapshot has
  recency 1).  **tenure**: the same from the first order.
* **frequency**: distinct orders.  **monetary**: net revenue of all the
  customer's lines (sales minus returns, currency); it may be zero or negative.
* Only lines strictly before the snapshot date count.  Customers with returns
  but no order before the snapshot are **not** in the table (they are not
  customers yet), so ``rfm.monetary.sum()`` equals the net revenue of the
  customers who have at least one order.

Scores (:func:`rfm_scores`) are quintiles 1..5 of each column over the scored
customers (5 = best: most recent, most orders, most money).  **Ties never
split**: every customer sharing a value gets the score of the tie group's
mid-percentile ``p = (first_rank + last_rank - 1) / (2 n)``, score
``1 + floor(5 p)``.  With distinct values this is exactly equal-sized quintiles;
when everybody is tied everybody gets 3; when 40 % of customers have one order
they all get F = 2 (their mid-percentile is 20 %).

Segments come from the (R, F) grid :data:`SEGMENT_MAP`, read as a 5 x 5 table::

    F ->   1            2               3               4                5
    R=5    New Cust.    Potential Loy.  Potential Loy.  Champions        Champions
    R=4    Promising    Potential Loy.  Potential Loy.  Loyal Customers  Loyal Customers
    R=3    About to Sl. About to Sleep  Need Attention  Loyal Customers  Loyal Customers
    R=2    Hibernating  Hibernating     At Risk         At Risk          Can't Lose Them
    R=1    Lost         Hibernating     At Risk         At Risk          Can't Lose Them
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from . import _lines as L
from .errors import AnalyticsError, InsufficientDataError

RFM_COLUMNS: tuple[str, ...] = (
    "recency", "frequency", "monetary", "tenure", "first_order", "last_order", "country",
)
SCORE_COLUMNS: tuple[str, ...] = ("r_score", "f_score", "m_score")

#: (regex on the two-character "<r_score><f_score>" string, segment).  The
#: patterns are disjoint and cover all 25 cells (checked at import).
SEGMENT_MAP: pd.DataFrame = pd.DataFrame(
    [
        ("11", "Lost"),
        ("12|2[1-2]", "Hibernating"),
        ("[1-2][3-4]", "At Risk"),
        ("[1-2]5", "Can't Lose Them"),
        ("3[1-2]", "About to Sleep"),
        ("33", "Need Attention"),
        ("[3-4][4-5]", "Loyal Customers"),
        ("41", "Promising"),
        ("51", "New Customers"),
        ("[4-5][2-3]", "Potential Loyalists"),
        ("5[4-5]", "Champions"),
    ],
    columns=["pattern", "segment"],
)

#: Display order: best to worst.
SEGMENT_ORDER: tuple[str, ...] = (
    "Champions", "Loyal Customers", "Potential Loyalists", "New Customers", "Promising",
    "Need Attention", "About to Sleep", "At Risk", "Can't Lose Them", "Hibernating", "Lost",
)

#: One line per segment: what it means, then a suggested action.
SEGMENT_DESCRIPTIONS: dict[str, str] = {
    "Champions": "Bought very recently and most often. Reward them; ask for reviews; early access to new lines.",
    "Loyal Customers": "Buy often and fairly recently. Upsell higher-value items; loyalty programme.",
    "Potential Loyalists": "Recent, a few orders. Offer membership or bundles to build the habit.",
    "New Customers": "First order very recently. Onboard well: welcome series, second-order incentive.",
    "Promising": "Recent but a single order. Build awareness of the range; a small time-limited offer.",
    "Need Attention": "Average recency and frequency. Personalised recommendations, limited offers.",
    "About to Sleep": "Fading recency, few orders. Reactivate with popular products and discounts.",
    "At Risk": "Used to buy regularly, not for a long time. Win-back e-mails, personal outreach.",
    "Can't Lose Them": "Among the most frequent buyers, but gone quiet. Call them; win them back at cost.",
    "Hibernating": "Long ago, few orders. Offer other relevant products; low-cost reactivation only.",
    "Lost": "Lowest recency and frequency. Ignore in campaigns or try one last low-cost revival.",
}


def _build_grid() -> np.ndarray:
    grid = np.empty((5, 5), dtype=np.int64)
    position = {name: i for i, name in enumerate(SEGMENT_ORDER)}
    for r in range(1, 6):
        for f in range(1, 6):
            hits = [seg for pattern, seg in SEGMENT_MAP.itertuples(index=False) if re.fullmatch(pattern, f"{r}{f}")]
            if len(hits) != 1:
                raise AssertionError(f"SEGMENT_MAP must match cell {r}{f} exactly once, got {hits}")
            grid[r - 1, f - 1] = position[hits[0]]
    return grid


#: ``_GRID[r - 1, f - 1]`` = position of the segment in :data:`SEGMENT_ORDER`.
_GRID = _build_grid()
assert set(SEGMENT_DESCRIPTIONS) == set(SEGMENT_ORDER) == set(SEGMENT_MAP["segment"])


def empty_rfm() -> pd.DataFrame:
    """Zero-row RFM table with the documented dtypes."""
    return pd.DataFrame(
        {
            "recency": pd.Series([], dtype="int64"),
            "frequency": pd.Series([], dtype="int64"),
            "monetary": pd.Series([], dtype="float64"),
            "tenure": pd.Series([], dtype="int64"),
            "first_order": pd.Series([], dtype="datetime64[us]"),
            "last_order": pd.Series([], dtype="datetime64[us]"),
            "country": pd.Series([], dtype="str"),
        },
        index=pd.Index([], dtype="str", name="customer_id"),
    )


def rfm_table(lines: pd.DataFrame, snapshot_date: L.DateLike | None = None) -> pd.DataFrame:
    """RFM per customer with at least one order before ``snapshot_date``.

    Index ``customer_id`` (str, sorted).  Columns: ``recency`` and ``tenure``
    (int days), ``frequency`` (int orders), ``monetary`` (net revenue, currency),
    ``first_order`` / ``last_order`` (timestamps), ``country`` (of the latest
    order; ties on time by invoice number).  ``snapshot_date`` defaults to the day
    after the last line.
    """
    L.require_columns(lines)
    snapshot = L.resolve_snapshot(lines, snapshot_date)
    lines = L.before(lines, snapshot)
    if snapshot is None or lines.empty:
        return empty_rfm()
    arrays = L.line_arrays(lines)
    stats = L.customer_arrays(arrays, L.order_arrays(arrays))
    codes = np.flatnonzero(stats.has_orders)
    if len(codes) == 0:
        return empty_rfm()
    snap_day = L.day_number(snapshot)
    first, last = stats.first_time[codes], stats.last_time[codes]
    table = pd.DataFrame(
        {
            "recency": snap_day - L.day_of(last),
            "frequency": stats.orders[codes].astype(np.int64),
            "monetary": stats.net[codes],
            "tenure": snap_day - L.day_of(first),
            "first_order": first.view("datetime64[us]"),
            "last_order": last.view("datetime64[us]"),
            "country": pd.array(arrays.countries.to_numpy(dtype=object)[stats.last_country[codes]], dtype="str"),
        },
        index=L.string_index(arrays.customers, codes, "customer_id"),
    )
    return table.sort_index(kind="stable")


def quintile_scores(values: pd.Series | np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1..5 by quintile of ``values``; tied values share one score (module doc)."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if np.isnan(values).any():
        raise AnalyticsError("cannot score missing (NaN) values.")
    _, inverse, counts = np.unique(values if higher_is_better else -values, return_inverse=True, return_counts=True)
    last_rank = np.cumsum(counts)
    first_rank = last_rank - counts + 1
    score = 1 + (5 * (first_rank + last_rank - 1)) // (2 * n)
    return score[inverse].astype(np.int64)


def rfm_scores(rfm: pd.DataFrame) -> pd.DataFrame:
    """``rfm`` plus ``r_score``, ``f_score``, ``m_score`` (int 1..5), ``rfm_score``
    ("545": R, F, M digits) and ``fm_score`` (mean of F and M rounded half up, 1..5).

    Lower recency is better.  Quintiles are taken over the rows given;
    monetary values equal to 1e-6 are ties.
    """
    missing = [c for c in ("recency", "frequency", "monetary") if c not in rfm.columns]
    if missing:
        raise AnalyticsError(f"RFM table lacks column(s) {', '.join(missing)}: use rfm_table(...).")
    out = rfm.copy()
    out["r_score"] = quintile_scores(rfm["recency"], higher_is_better=False)
    out["f_score"] = quintile_scores(rfm["frequency"])
    # money compared at 1e-6 so float summation noise cannot split a tie
    out["m_score"] = quintile_scores(np.round(rfm["monetary"].to_numpy(dtype=np.float64), 6))
    digits = out["r_score"] * 100 + out["f_score"] * 10 + out["m_score"]
    out["rfm_score"] = digits.astype("str") if len(out) else pd.Series([], dtype="str", index=out.index)
    out["fm_score"] = (out["f_score"] + out["m_score"] + 1) // 2
    return out


def assign_segments(scores: pd.DataFrame) -> pd.Series:
    """Segment of every row from ``r_score`` and ``f_score`` (:data:`SEGMENT_MAP`).

    Returns a categorical Series named ``segment`` with categories in
    :data:`SEGMENT_ORDER`, indexed like ``scores``.
    """
    missing = [c for c in ("r_score", "f_score") if c not in scores.columns]
    if missing:
        raise AnalyticsError(f"scores lack column(s) {', '.join(missing)}: use rfm_scores(...).")
    r = scores["r_score"].to_numpy(dtype=np.int64)
    f = scores["f_score"].to_numpy(dtype=np.int64)
    if len(r) and (r.min() < 1 or r.max() > 5 or f.min() < 1 or f.max() > 5):
        raise AnalyticsError("r_score and f_score must be whole numbers from 1 to 5.")
    codes = _GRID[r - 1, f - 1] if len(r) else np.zeros(0, dtype=np.int64)
    categorical = pd.Categorical.from_codes(codes, categories=pd.Index(SEGMENT_ORDER, dtype="str"), ordered=True)
    return pd.Series(categorical, index=scores.index, name="segment")


def segment_summary(rfm_with_segments: pd.DataFrame) -> pd.DataFrame:
    """Per segment, in :data:`SEGMENT_ORDER` (all present, even when empty).

    Columns: ``customers``, ``share`` (of customers), ``revenue`` (sum of
    monetary), ``revenue_share`` (of the total monetary; NaN if that is 0),
    ``mean_recency``, ``mean_frequency``, ``mean_monetary`` (NaN when empty),
    ``description``.
    """
    frame = rfm_with_segments
    if "segment" not in frame.columns:
        frame = frame.assign(segment=assign_segments(frame))
    segment = pd.Categorical(frame["segment"], categories=list(SEGMENT_ORDER))
    if pd.isna(segment).any() and len(frame):
        raise AnalyticsError("unknown segment name(s); expected one of SEGMENT_ORDER.")
    grouped = frame[["recency", "frequency", "monetary"]].groupby(segment, observed=False)
    summary = pd.DataFrame(
        {
            "customers": grouped.size().astype(np.int64),
            "revenue": grouped["monetary"].sum().astype(np.float64),
            "mean_recency": grouped["recency"].mean().astype(np.float64),
            "mean_frequency": grouped["frequency"].mean().astype(np.float64),
            "mean_monetary": grouped["monetary"].mean().astype(np.float64),
        }
    ).reindex(list(SEGMENT_ORDER))
    total_customers, total_revenue = len(frame), float(frame["monetary"].sum())
    summary.insert(1, "share", summary["customers"] / total_customers if total_customers else np.nan)
    summary.insert(3, "revenue_share", summary["revenue"] / total_revenue if total_revenue else np.nan)
    summary["description"] = pd.Series(SEGMENT_DESCRIPTIONS, dtype="str")
    summary.index = pd.Index(list(SEGMENT_ORDER), dtype="str", name="segment")
    return summary


def rfm_segment_grid(rfm_scored: pd.DataFrame) -> pd.DataFrame:
    """Customer counts by ``r_score`` (rows 1..5) x ``f_score`` (columns 1..5), zeros kept."""
    r = rfm_scored["r_score"].to_numpy(dtype=np.int64)
    f = rfm_scored["f_score"].to_numpy(dtype=np.int64)
    counts = np.bincount((r - 1) * 5 + (f - 1), minlength=25)[:25] if len(r) else np.zeros(25, np.int64)
    return pd.DataFrame(
        counts.reshape(5, 5).astype(np.int64),
        index=pd.Index(range(1, 6), name="r_score"),
        columns=pd.Index(range(1, 6), name="f_score"),
    )


def _positive_sorted(monetary: pd.Series | np.ndarray) -> np.ndarray:
    values = np.asarray(monetary, dtype=np.float64)
    values = values[~np.isnan(values)]
    clipped = np.sort(np.clip(values, 0.0, None))
    if len(clipped) == 0 or clipped.sum() <= 0:
        raise InsufficientDataError("no customer has positive net revenue: revenue shares are undefined.")
    return clipped


def _lorenz_points(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(sorted_values)
    x = np.arange(n + 1) / n
    y = np.concatenate([[0.0], np.cumsum(sorted_values) / sorted_values.sum()])
    return x, y


def revenue_concentration(monetary: pd.Series | np.ndarray) -> dict[str, float]:
    """Share of revenue held by the top 1 %, 10 %, 20 % of customers, and the Gini.

    Non-positive monetary values count as 0: those customers stay in the
    population (they are customers) but hold no revenue.  Shares are read off
    the Lorenz curve, interpolated linearly between customers (so the top 1 % of
    250 customers is 2.5 customers).  Gini = 1 - 2 x area under the Lorenz
    curve.  Raises :class:`InsufficientDataError` without positive revenue.
    """
    values = _positive_sorted(monetary)
    x, y = _lorenz_points(values)
    n = len(values)
    ranks = np.arange(1, n + 1)
    gini = float(2 * np.sum(ranks * values) / (n * values.sum()) - (n + 1) / n)
    return {
        "customers": int(n),
        "non_positive_customers": int(np.sum(values <= 0)),
        "positive_revenue": float(values.sum()),
        "top_1pct_share": float(1 - np.interp(0.99, x, y)),
        "top_10pct_share": float(1 - np.interp(0.90, x, y)),
        "top_20pct_share": float(1 - np.interp(0.80, x, y)),
        "gini": gini,
    }


def lorenz_curve(monetary: pd.Series | np.ndarray, points: int = 101) -> pd.DataFrame:
    """Lorenz curve on ``points`` evenly spaced customer shares (0..1).

    Columns ``customer_share`` (poorest first) and ``revenue_share`` (cumulative);
    non-positive monetary counts as 0 (see :func:`revenue_concentration`).
    """
    if points < 2:
        raise AnalyticsError("points must be at least 2.")
    x, y = _lorenz_points(_positive_sorted(monetary))
    grid = np.linspace(0.0, 1.0, points)
    return pd.DataFrame({"customer_share": grid, "revenue_share": np.interp(grid, x, y)})


def segmented_rfm(lines: pd.DataFrame, snapshot_date: L.DateLike | None = None) -> pd.DataFrame:
    """:func:`rfm_table` + :func:`rfm_scores` + ``segment`` in one call."""
    scored = rfm_scores(rfm_table(lines, snapshot_date))
    scored["segment"] = assign_segments(scored)
    return scored
