"""Helpers the segments page needs: a migration restricted to some customers and
the five numbers of a box plot, on values worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from descriptive_toys import MIGRATION_EXPECTED, MIGRATION_SNAPSHOT

from analytics.distributions import box_summary
from analytics.migration import NOT_YET_CUSTOMER, segment_migration


def test_migration_restricted_to_some_customers(migration_log):
    full = segment_migration(migration_log.lines, MIGRATION_SNAPSHOT, lookback_days=30)
    part = full.restrict(["U1", "U3", "N", "nobody"])
    assert list(part.customers.index) == ["N", "U1", "U3"]  # order of the full result
    assert part.counts.to_numpy().sum() == 3
    assert part.counts.loc["Lost", "Champions"] == 1
    assert part.counts.loc["Need Attention", "At Risk"] == 1
    assert part.counts.loc[NOT_YET_CUSTOMER, "Promising"] == 1
    assert part.counts.loc["Hibernating", "Hibernating"] == 0  # U2 left out
    assert part.revenue.loc["Lost", "Champions"] == pytest.approx(50.0)
    assert part.revenue.loc["Need Attention", "At Risk"] == pytest.approx(-10.0)
    assert part.revenue.to_numpy().sum() == pytest.approx(50.0 - 10.0 + 10.0)
    assert part.previous_date == full.previous_date and part.lookback_days == 30
    # segments are kept, not recomputed on the subset
    for customer, row in part.customers.iterrows():
        assert (row.previous, row.current) == MIGRATION_EXPECTED[customer][:2]
    # two previous customers, neither stayed
    assert part.stayed_share() == 0.0
    # everybody = the full result; nobody = empty grids
    pd.testing.assert_frame_equal(full.restrict(full.customers.index).counts, full.counts)
    empty = full.restrict([])
    assert empty.counts.to_numpy().sum() == 0 and empty.customers.empty
    assert np.isnan(empty.stayed_share())


def test_box_summary_by_hand():
    # 1..9 and 100: q1 = 3.25, median 5.5, q3 = 7.75, IQR 4.5, fences -3.5 and 14.5
    values = pd.Series([1, 2, 3, 4, 5, 6, 7, 8, 9, 100, np.nan], dtype=float)
    box = box_summary(values)
    assert (box.q1, box.median, box.q3) == pytest.approx((3.25, 5.5, 7.75))
    assert (box.lower_whisker, box.upper_whisker) == (1.0, 9.0)
    assert box.outliers.count == 1 and bool(box.outliers.flags.iloc[9])
    assert box.values == 10
    none = box_summary([np.nan])
    assert np.isnan(none.median) and np.isnan(none.lower_whisker) and none.values == 0
