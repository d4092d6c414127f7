"""K-means segmentation of customers on log-transformed, standardised RFM features.

Method (:func:`cluster_customers`):

1. Features (default recency, frequency, monetary, tenure) -> ``log1p`` (monetary
   clipped at 0 first, so net refunds count as zero spend) -> z-scores (mean 0,
   standard deviation 1; a constant feature stays 0).
2. A fixed random sample of ``sample_size`` customers (all when fewer) is drawn
   with ``numpy.random.default_rng(seed)`` from the customers sorted by id, so the
   result does not depend on row order.
3. For each k of ``k_range``, scikit-learn ``KMeans(n_clusters=k, n_init=N_INIT,
   random_state=seed)`` is fitted on the sample; its silhouette (mean over the
   sample, Euclidean, in z-score units) is computed for all k at once from one
   pass over the sample's distance matrix.
4. The k with the highest silhouette wins (ties: smaller k).  If the sample is
   not everybody, that model is refined on all customers (Lloyd iterations
   started from its centroids), then every customer gets the nearest centroid.
5. Clusters are renumbered 0..k-1 by decreasing mean monetary and named from
   their centroid relative to the overall median (:data:`LABEL_LEVELS`).

Single-threaded BLAS/OpenMP inside (``threadpool_limits(1)``): on a small shared
box that is faster and steadier than two threads.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import AnalyticsError, InsufficientDataError

DEFAULT_FEATURES: tuple[str, ...] = ("recency", "frequency", "monetary", "tenure")
N_INIT = 4
MIN_CUSTOMERS = 10
#: Rows of the sample's distance matrix computed at once (memory: rows x sample x 4 bytes).
_CHUNK = 256

#: Words describing a cluster centroid: feature -> ((upper bound, word), ...) where
#: the value compared is the centroid minus the overall median of the log1p
#: feature, in standard deviations of it; so the first word flips exactly at
#: the median ("high value" = above the median spender).  For recency a low
#: value is good ("recent").
LABEL_LEVELS: dict[str, tuple[tuple[float, str], ...]] = {
    "monetary": ((-1.0, "lowest value"), (0.0, "low value"), (1.0, "high value"), (np.inf, "top value")),
    "recency": ((-1.0, "very recent"), (0.0, "recent"), (1.0, "lapsing"), (np.inf, "lapsed")),
    "frequency": ((0.0, "infrequent"), (1.0, "frequent"), (np.inf, "very frequent")),
    "tenure": ((0.0, "new"), (np.inf, "long-standing")),
}
#: Order in which features are used to name clusters; two words to start with,
#: one more for clusters whose names collide, then a number.
LABEL_PRIORITY: tuple[str, ...] = ("monetary", "recency", "frequency", "tenure")


@dataclass(frozen=True)
class ClusterResult:
    """Result of :func:`cluster_customers`.

    * ``labels``: cluster number per customer (Series ``cluster``, index ``customer_id``).
    * ``k`` and ``silhouette``: chosen number of clusters and its sample silhouette.
    * ``curves``: one row per k tried: ``k``, ``inertia`` (sum of squared
      z-score distances on the sample), ``silhouette``.
    * ``profiles``: per cluster: ``size``, ``share``, mean ``recency``,
      ``frequency``, ``monetary``, ``tenure`` (original units), ``revenue_share``
      (of total monetary), ``label`` (unique, readable).
    * ``centroids``: cluster centres in original units (days, orders, currency).
    * ``coordinates``: per customer ``log_recency``, ``log_frequency``,
      ``log_monetary`` (log1p) and ``pc1``, ``pc2`` (principal components of the
      standardised features), plus ``cluster``, for 2D/3D scatter plots.
    """

    labels: pd.Series
    k: int
    silhouette: float
    curves: pd.DataFrame
    profiles: pd.DataFrame
    centroids: pd.DataFrame
    coordinates: pd.DataFrame
    features: tuple[str, ...]
    seed: int
    sample_size: int

    @property
    def cluster_labels(self) -> pd.Series:
        """Readable label per customer (``cluster_label``)."""
        names = self.profiles["label"].to_numpy(dtype=object)[self.labels.to_numpy()]
        return pd.Series(names, index=self.labels.index, name="cluster_label", dtype="str")


def _transform(rfm: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
    columns = []
    for name in features:
        values = rfm[name].to_numpy(dtype=np.float64)
        if name == "monetary":
            values = np.clip(values, 0.0, None)
        if np.nanmin(values) < 0:
            raise AnalyticsError(f"feature {name!r} has negative values; log1p needs values >= 0.")
        columns.append(np.log1p(values))
    return np.column_stack(columns)


def silhouette_many(x: np.ndarray, label_sets: Sequence[np.ndarray]) -> np.ndarray:
    """Mean silhouette of several labelings of the same points (Euclidean).

    Matches ``sklearn.metrics.silhouette_score``: a(i) = mean distance to the
    other members of its cluster, b(i) = smallest mean distance to another
    cluster, s(i) = (b - a) / max(a, b), and 0 for singletons.  The distance
    matrix is built once, chunk by chunk, and multiplied by the one-hot
    membership of every labeling at once.  NaN for a labeling with one cluster.
    """
    n = len(x)
    ks = [int(labels.max()) + 1 if len(labels) else 0 for labels in label_sets]
    offsets = np.concatenate([[0], np.cumsum(ks)]).astype(np.int64)
    onehot = np.zeros((n, offsets[-1]), dtype=np.float32)
    rows = np.arange(n)
    for labels, offset in zip(label_sets, offsets[:-1]):
        onehot[rows, offset + labels] = 1.0
    sums = np.empty((n, offsets[-1]), dtype=np.float64)
    # squared distances from one float32 GEMM: [-2x, 1, |x|^2] . [y, |y|^2, 1]
    xc = (x - x.mean(axis=0)).astype(np.float32)
    squares = np.einsum("ij,ij->i", xc, xc)[:, None]
    ones = np.ones((n, 1), dtype=np.float32)
    left = np.hstack([-2.0 * xc, ones, squares])
    right = np.hstack([xc, squares, ones])
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        d = left[start:stop] @ right.T
        d[np.arange(stop - start), np.arange(start, stop)] = 0.0
        np.maximum(d, 0.0, out=d)
        np.sqrt(d, out=d)
        sums[start:stop] = d @ onehot
    scores = np.full(len(label_sets), np.nan)
    for j, (labels, offset, k) in enumerate(zip(label_sets, offsets[:-1], ks)):
        block = sums[:, offset:offset + k]
        sizes = np.bincount(labels, minlength=k).astype(np.float64)
        if np.count_nonzero(sizes) < 2:
            continue
        own_size = sizes[labels]
        a = np.where(own_size > 1, block[rows, labels] / np.maximum(own_size - 1, 1), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            means = np.where(sizes > 0, block / sizes, np.inf)
        means[rows, labels] = np.inf
        b = means.min(axis=1)
        denominator = np.maximum(a, b)
        s = np.where((own_size > 1) & (denominator > 0), (b - a) / np.where(denominator > 0, denominator, 1), 0.0)
        scores[j] = float(s.mean())
    return scores


def _level(z: float, levels: tuple[tuple[float, str], ...]) -> str:
    return next(word for bound, word in levels if z < bound)


def _name_clusters(z: pd.DataFrame) -> list[str]:
    """Unique labels from centroid z-scores (rows = clusters, columns = features)."""
    order = [f for f in LABEL_PRIORITY if f in z.columns]
    words = {f: [_level(v, LABEL_LEVELS[f]) for v in z[f]] for f in order}
    if not order:
        return [f"cluster {i}" for i in range(len(z))]
    used = min(2, len(order))
    names = [", ".join(words[f][i] for f in order[:used]) for i in range(len(z))]
    for extra in order[used:]:
        duplicated = pd.Series(names).duplicated(keep=False).to_numpy()
        if not duplicated.any():
            break
        names = [f"{name}, {words[extra][i]}" if duplicated[i] else name for i, name in enumerate(names)]
    seen: dict[str, int] = {}
    counts = pd.Series(names).value_counts()
    unique = []
    for name in names:
        if counts[name] > 1:
            seen[name] = seen.get(name, 0) + 1
            unique.append(f"{name} ({seen[name]})")
        else:
            unique.append(name)
    return unique


def cluster_customers(
    rfm: pd.DataFrame,
    k_range: Iterable[int] = range(2, 11),
    seed: int = 0,
    sample_size: int = 10_000,
    features: Sequence[str] = DEFAULT_FEATURES,
) -> ClusterResult:
    """K-means clusters of an RFM table (:func:`analytics.rfm.rfm_table`); see the module doc.

    Raises :class:`InsufficientDataError` with fewer than :data:`MIN_CUSTOMERS`
    customers, fewer than 2 distinct feature rows, or no k of ``k_range`` with
    ``2 <= k < min(sample size, distinct rows)``.  Deterministic for a seed.
    """
    features = tuple(features)
    missing = [f for f in features if f not in rfm.columns]
    if not features or missing:
        raise AnalyticsError(f"RFM table lacks feature column(s) {', '.join(missing) or '(none given)'}.")
    if sample_size < 2:
        raise AnalyticsError("sample_size must be at least 2.")
    if not rfm.index.is_unique:
        raise AnalyticsError("RFM table has duplicate customer ids in its index.")
    if len(rfm) < MIN_CUSTOMERS:
        raise InsufficientDataError(
            f"{len(rfm)} customers: clustering needs at least {MIN_CUSTOMERS}."
        )
    ordered = rfm.sort_index(kind="stable")
    raw = _transform(ordered, features)
    if np.isnan(raw).any():
        raise AnalyticsError("features have missing values.")
    center, scale = raw.mean(axis=0), raw.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    x = (raw - center) / scale

    rng = np.random.default_rng(seed)
    n = len(x)
    sample_idx = np.sort(rng.choice(n, size=sample_size, replace=False)) if n > sample_size else np.arange(n)
    sample = x[sample_idx]
    distinct = len(np.unique(sample, axis=0))
    k_max = min(len(sample) - 1, distinct)
    ks = sorted({int(k) for k in k_range if 2 <= int(k) <= k_max})
    if not ks:
        raise InsufficientDataError(
            f"{n} customers with {distinct} distinct profiles in the sample: "
            f"no k in {list(k_range)} can be fitted (need 2 <= k < customers and k <= distinct profiles)."
        )
    # lazy: scikit-learn only when k-means runs, so the descriptive modules stay light
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        models = [KMeans(n_clusters=k, n_init=N_INIT, random_state=seed).fit(sample) for k in ks]
        silhouettes = silhouette_many(sample, [m.labels_.astype(np.int64) for m in models])
        curves = pd.DataFrame({"k": ks, "inertia": [float(m.inertia_) for m in models], "silhouette": silhouettes})
        if np.all(np.isnan(silhouettes)):
            raise InsufficientDataError("every candidate clustering put the sample in a single cluster.")
        best = int(np.nanargmax(silhouettes))
        model, k = models[best], ks[best]
        if len(sample_idx) < n:
            model = KMeans(n_clusters=k, init=model.cluster_centers_, n_init=1, random_state=seed).fit(x)
        labels = model.predict(x).astype(np.int64)
        centers = model.cluster_centers_

    # renumber by decreasing mean monetary (or first feature), then name
    monetary = ordered["monetary"].to_numpy(dtype=np.float64) if "monetary" in ordered else raw[:, 0]
    sizes = np.bincount(labels, minlength=k)
    mean_value = np.bincount(labels, weights=monetary, minlength=k) / np.maximum(sizes, 1)
    rank = np.empty(k, dtype=np.int64)
    rank[np.lexsort((np.arange(k), -mean_value))] = np.arange(k)
    labels = rank[labels]
    centers = centers[np.argsort(rank)]
    sizes = np.bincount(labels, minlength=k)

    median_z = (np.median(raw, axis=0) - center) / scale
    z = pd.DataFrame(centers - median_z, columns=list(features))
    index = pd.Index(range(k), name="cluster")
    centroids = pd.DataFrame(np.expm1(centers * scale + center), index=index, columns=list(features))
    profile_cols = [c for c in ("recency", "frequency", "monetary", "tenure") if c in ordered.columns]
    means = ordered[profile_cols].groupby(labels).mean().reindex(range(k))
    means.index = index
    total = float(ordered["monetary"].sum()) if "monetary" in ordered else np.nan
    profiles = pd.DataFrame({"size": sizes.astype(np.int64), "share": sizes / n}, index=index).join(means)
    if "monetary" in ordered:
        revenue = np.bincount(labels, weights=ordered["monetary"].to_numpy(dtype=np.float64), minlength=k)
        profiles["revenue_share"] = revenue / total if total else np.nan
    profiles["label"] = pd.array(_name_clusters(z), dtype="str")

    coordinates = pd.DataFrame(index=ordered.index)
    for name in ("recency", "frequency", "monetary"):
        if name in ordered.columns:
            values = ordered[name].to_numpy(dtype=np.float64)
            coordinates[f"log_{name}"] = np.log1p(np.clip(values, 0.0, None))
    _, _, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    components = x @ vt[: min(2, x.shape[1])].T
    signs = np.sign(vt[: components.shape[1]].sum(axis=1))  # deterministic orientation
    components = components * np.where(signs == 0, 1, signs)
    coordinates["pc1"] = components[:, 0]
    coordinates["pc2"] = components[:, 1] if components.shape[1] > 1 else 0.0
    coordinates["cluster"] = labels

    order_back = ordered.index.get_indexer(rfm.index)
    result_labels = pd.Series(labels[order_back], index=rfm.index, name="cluster")
    return ClusterResult(
        labels=result_labels, k=k, silhouette=float(silhouettes[best]), curves=curves,
        profiles=profiles, centroids=centroids, coordinates=coordinates.iloc[order_back],
        features=features, seed=seed, sample_size=len(sample_idx),
    )
