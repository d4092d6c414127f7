"""Distributions of customer metrics: histograms ready to plot, IQR outliers.

Missing (NaN) values are ignored everywhere.  On a log scale (``log=True``)
bins are evenly spaced in log10 over the positive values; non-positive values
cannot be placed and are counted in ``attrs["dropped"]`` of the result.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import AnalyticsError

HISTOGRAM_COLUMNS: tuple[str, ...] = ("left", "right", "count", "share")

#: RFM columns drawn by :func:`rfm_distributions` and the scale of their bins.
RFM_SCALES: dict[str, bool] = {"recency": False, "frequency": True, "monetary": True, "tenure": False}


def _empty_histogram(dropped: int = 0) -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series([], dtype="int64" if c == "count" else "float64") for c in HISTOGRAM_COLUMNS})
    out.attrs["dropped"] = dropped
    return out


def histogram(values: pd.Series | np.ndarray, bins: int = 30, log: bool = False) -> pd.DataFrame:
    """Counts of ``values`` in ``bins`` equal-width bins (equal in log10 if ``log``).

    Columns: ``left``, ``right`` (bin edges, original units; the last bin
    includes its right edge), ``count``, ``share`` (of the values binned).
    All values equal -> one bin of width 1 (x 10 on a log scale) around them.
    """
    if int(bins) != bins or bins < 1:
        raise AnalyticsError(f"bins must be a positive whole number, got {bins!r}.")
    data = np.asarray(values, dtype=np.float64)
    data = data[~np.isnan(data)]
    dropped = 0
    if log:
        dropped = int(np.sum(data <= 0))
        data = np.log10(data[data > 0])
    if len(data) == 0:
        return _empty_histogram(dropped)
    low, high = float(data.min()), float(data.max())
    if low == high:
        low, high, bins = low - 0.5, high + 0.5, 1
    counts, edges = np.histogram(data, bins=int(bins), range=(low, high))
    if log:
        edges = 10.0 ** edges
    out = pd.DataFrame(
        {"left": edges[:-1], "right": edges[1:], "count": counts.astype(np.int64), "share": counts / counts.sum()}
    )
    out.attrs["dropped"] = dropped
    return out


@dataclass(frozen=True)
class Outliers:
    """Result of :func:`iqr_outliers`: ``flags`` (True = outlier, aligned with the
    input; False for NaN), quartiles and the bounds ``q1 - k IQR``, ``q3 + k IQR``."""

    flags: pd.Series
    q1: float
    q3: float
    lower: float
    upper: float

    @property
    def count(self) -> int:
        return int(self.flags.sum())


def iqr_outliers(values: pd.Series | np.ndarray, k: float = 1.5) -> Outliers:
    """Tukey's fences: values below ``q1 - k*IQR`` or above ``q3 + k*IQR``.

    Quartiles by linear interpolation (numpy's default).  No values -> no
    flags and NaN bounds.
    """
    if k < 0:
        raise AnalyticsError("k must be zero or more.")
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=np.float64))
    data = series.to_numpy(dtype=np.float64)
    finite = data[~np.isnan(data)]
    if len(finite) == 0:
        return Outliers(pd.Series(np.zeros(len(series), dtype=bool), index=series.index), *(float("nan"),) * 4)
    q1, q3 = (float(q) for q in np.percentile(finite, [25, 75]))
    lower, upper = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
    with np.errstate(invalid="ignore"):
        flags = (data < lower) | (data > upper)
    return Outliers(pd.Series(flags, index=series.index, name=series.name), q1, q3, lower, upper)


@dataclass(frozen=True)
class BoxSummary:
    """Result of :func:`box_summary`, in the units of the values: quartiles
    ``q1``, ``median``, ``q3``; whiskers at the most extreme values inside Tukey's
    fences; ``outliers`` the values beyond them (:func:`iqr_outliers`); ``values``
    the number of non-missing values."""

    q1: float
    median: float
    q3: float
    lower_whisker: float
    upper_whisker: float
    outliers: Outliers
    values: int


def box_summary(values: pd.Series | np.ndarray, k: float = 1.5) -> BoxSummary:
    """The five numbers of a Tukey box plot, consistent with :func:`iqr_outliers`.

    Quartiles and median by linear interpolation (numpy's default) over the
    non-missing values; the whiskers end at the smallest and largest values
    within ``[q1 - k*IQR, q3 + k*IQR]`` (inclusive), so every value is either
    between the whiskers or an outlier.  No values -> NaN everywhere (whiskers
    also NaN when no value is inside the fences, possible only for ``k`` < 1).
    """
    outliers = iqr_outliers(values, k)
    data = np.asarray(values, dtype=np.float64)
    finite = ~np.isnan(data)
    if not finite.any():
        nan = float("nan")
        return BoxSummary(nan, nan, nan, nan, nan, outliers, 0)
    inside = data[finite & ~outliers.flags.to_numpy(dtype=bool)]
    return BoxSummary(
        q1=outliers.q1, median=float(np.median(data[finite])), q3=outliers.q3,
        lower_whisker=float(inside.min()) if len(inside) else float("nan"),
        upper_whisker=float(inside.max()) if len(inside) else float("nan"),
        outliers=outliers, values=int(finite.sum()),
    )


def rfm_distributions(rfm: pd.DataFrame, bins: int = 30) -> pd.DataFrame:
    """Histograms of the RFM columns present (:data:`RFM_SCALES`) in one long table.

    Columns ``feature``, ``log`` (bool: log10-spaced bins), ``left``, ``right``,
    ``count``, ``share``, ``dropped`` (values left out of a log histogram),
    ``outliers`` (IQR, k = 1.5, count over all of the feature's values).
    """
    parts = []
    for feature, log in RFM_SCALES.items():
        if feature not in rfm.columns:
            continue
        hist = histogram(rfm[feature], bins=bins, log=log)
        hist.insert(0, "feature", feature)
        hist.insert(1, "log", log)
        hist["dropped"] = hist.attrs.get("dropped", 0)
        hist["outliers"] = iqr_outliers(rfm[feature]).count
        parts.append(hist)
    if not parts or all(p.empty for p in parts):
        empty = _empty_histogram()
        empty.insert(0, "feature", pd.Series([], dtype="str"))
        empty.insert(1, "log", pd.Series([], dtype="bool"))
        empty["dropped"] = pd.Series([], dtype="int64")
        empty["outliers"] = pd.Series([], dtype="int64")
        return empty
    out = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    out["feature"] = out["feature"].astype("str")
    out.attrs = {}
    return out
