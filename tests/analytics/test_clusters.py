"""K-means segmentation: silhouette against scikit-learn, determinism, labels, edge cases."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from analytics.clusters import LABEL_LEVELS, MIN_CUSTOMERS, cluster_customers, silhouette_many
from analytics.errors import AnalyticsError, InsufficientDataError


def fake_rfm(n: int, seed: int = 0) -> pd.DataFrame:
    """Two obvious groups: recent big spenders and lapsed one-off buyers."""
    rng = np.random.default_rng(seed)
    big = rng.random(n) < 0.3
    frame = pd.DataFrame(
        {
            "recency": np.where(big, rng.integers(1, 20, n), rng.integers(200, 400, n)),
            "frequency": np.where(big, rng.integers(8, 30, n), rng.integers(1, 3, n)),
            "monetary": np.where(big, rng.lognormal(8, 0.3, n), rng.lognormal(4, 0.3, n)),
            "tenure": rng.integers(300, 700, n),
        },
        index=pd.Index([f"c{i:05d}" for i in range(n)], dtype="str", name="customer_id"),
    )
    if n >= 3:
        frame.loc[frame.index[:3], "monetary"] = [-20.0, 0.0, -1.0]  # refunds: clipped at 0 before log
    return frame


def test_silhouette_many_matches_scikit_learn():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 3))
    x[:200] += 4
    labelings = [KMeans(k, n_init=2, random_state=0).fit(x).labels_ for k in (2, 3, 6)]
    labelings.append(np.r_[np.zeros(599, dtype=int), 1])  # a singleton cluster scores 0
    ours = silhouette_many(x, labelings)
    theirs = [silhouette_score(x, labels) for labels in labelings]
    assert ours == pytest.approx(theirs, abs=1e-5)


def test_two_obvious_groups_are_found_and_named():
    rfm = fake_rfm(400)
    result = cluster_customers(rfm, k_range=range(2, 7), seed=0)
    assert result.k == 2
    assert result.labels.index.equals(rfm.index) and result.labels.name == "cluster"
    big = rfm["frequency"] >= 8
    labels = result.labels.iloc[3:]  # the first three have refunds (monetary <= 0)
    assert (labels[big.iloc[3:]] == 0).all() and (labels[~big.iloc[3:]] == 1).all()  # 0 = higher value
    profiles = result.profiles
    assert profiles["size"].sum() == 400 and profiles["share"].sum() == pytest.approx(1.0)
    assert profiles["revenue_share"].sum() == pytest.approx(1.0)
    assert profiles.loc[0, "label"].startswith(("high value", "top value"))
    assert profiles.loc[0, "label"].endswith("recent") and profiles.loc[1, "label"].startswith("low value")
    assert list(result.curves["k"]) == [2, 3, 4, 5, 6]
    assert result.silhouette == pytest.approx(result.curves["silhouette"].max())
    assert result.centroids.loc[0, "frequency"] > result.centroids.loc[1, "frequency"]
    assert set(result.coordinates.columns) >= {"log_recency", "log_frequency", "log_monetary", "pc1", "pc2"}
    assert result.coordinates.loc["c00000", "log_monetary"] == 0.0  # -20 clipped at 0
    first_big = big.iloc[3:].idxmax()
    assert result.cluster_labels.loc[first_big] == profiles.loc[0, "label"]


def test_labels_are_unique_for_many_clusters():
    result = cluster_customers(fake_rfm(600, seed=3), k_range=[8], seed=0)
    assert result.k == 8
    assert result.profiles["label"].is_unique
    words = {word for levels in LABEL_LEVELS.values() for _, word in levels}
    assert all(part.split(" (")[0] in words for label in result.profiles["label"] for part in label.split(", "))


def test_deterministic_for_a_seed_and_independent_of_row_order():
    rfm = fake_rfm(500, seed=5)
    first = cluster_customers(rfm, seed=7, sample_size=200)
    again = cluster_customers(rfm, seed=7, sample_size=200)
    shuffled = cluster_customers(rfm.sample(frac=1.0, random_state=1), seed=7, sample_size=200)
    pd.testing.assert_series_equal(first.labels, again.labels)
    pd.testing.assert_frame_equal(first.curves, again.curves)
    pd.testing.assert_series_equal(first.labels, shuffled.labels.reindex(rfm.index))
    assert first.sample_size == 200


def test_too_few_customers_raise_insufficient_data():
    with pytest.raises(InsufficientDataError, match=f"at least {MIN_CUSTOMERS}"):
        cluster_customers(fake_rfm(MIN_CUSTOMERS - 1))
    with pytest.raises(InsufficientDataError):
        cluster_customers(fake_rfm(0))
    identical = pd.DataFrame(
        {"recency": [5] * 20, "frequency": [1] * 20, "monetary": [10.0] * 20, "tenure": [5] * 20},
        index=pd.Index([f"c{i}" for i in range(20)], dtype="str", name="customer_id"),
    )
    with pytest.raises(InsufficientDataError, match="distinct"):
        cluster_customers(identical)
    with pytest.raises(InsufficientDataError):
        cluster_customers(fake_rfm(12), k_range=[20])


def test_k_range_is_capped_by_the_customers():
    result = cluster_customers(fake_rfm(12), k_range=range(2, 30))
    assert result.curves["k"].max() <= 11


def test_bad_features_are_named():
    with pytest.raises(AnalyticsError, match="basket"):
        cluster_customers(fake_rfm(50), features=("recency", "basket"))
