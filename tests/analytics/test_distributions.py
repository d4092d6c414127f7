"""Histograms, IQR outliers and RFM distributions on vectors worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from descriptive_toys import RFM_SNAPSHOT
from hypothesis import given
from hypothesis import strategies as st

from analytics.distributions import histogram, iqr_outliers, rfm_distributions
from analytics.errors import AnalyticsError
from analytics.rfm import rfm_table


def test_linear_histogram_by_hand():
    hist = histogram([1, 2, 2, 3, 4, np.nan], bins=3)
    assert hist["left"].tolist() == pytest.approx([1, 2, 3])
    assert hist["right"].tolist() == pytest.approx([2, 3, 4])
    assert hist["count"].tolist() == [1, 2, 2]  # the last bin holds its right edge
    assert hist["share"].tolist() == pytest.approx([0.2, 0.4, 0.4])


def test_log_histogram_drops_non_positive_values():
    hist = histogram(pd.Series([1.0, 10.0, 100.0, 0.0, -5.0]), bins=2, log=True)
    assert hist["left"].tolist() == pytest.approx([1, 10]) and hist["right"].tolist() == pytest.approx([10, 100])
    assert hist["count"].tolist() == [1, 2]
    assert hist.attrs["dropped"] == 2


def test_degenerate_histograms():
    single = histogram([7.0, 7.0], bins=10)
    assert len(single) == 1 and single["count"].tolist() == [2]
    assert single["left"].iloc[0] < 7 < single["right"].iloc[0]
    assert histogram([], bins=5).empty
    assert histogram([-1.0], log=True).attrs["dropped"] == 1
    with pytest.raises(AnalyticsError, match="bins"):
        histogram([1.0], bins=0)


def test_iqr_outliers_by_hand():
    result = iqr_outliers(pd.Series([1.0, 2.0, 3.0, 4.0, 100.0], index=list("abcde")))
    assert (result.q1, result.q3) == (2.0, 4.0)
    assert (result.lower, result.upper) == (-1.0, 7.0)
    assert result.flags.tolist() == [False, False, False, False, True]
    assert result.flags.index.tolist() == list("abcde") and result.count == 1
    assert iqr_outliers([1.0, 2.0, 3.0, 4.0, 100.0], k=100).count == 0
    empty = iqr_outliers([])
    assert empty.count == 0 and np.isnan(empty.upper)


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50), st.integers(1, 20))
def test_histogram_counts_every_value(values, bins):
    assert histogram(values, bins=bins)["count"].sum() == len(values)


def test_rfm_distributions(rfm_log):
    rfm = rfm_table(rfm_log.lines, RFM_SNAPSHOT)
    table = rfm_distributions(rfm, bins=4)
    assert set(table["feature"]) == {"recency", "frequency", "monetary", "tenure"}
    for feature, part in table.groupby("feature"):
        assert part["count"].sum() == 3, feature
    assert table.loc[table["feature"] == "monetary", "log"].all()
    assert rfm_distributions(rfm.iloc[:0]).empty
