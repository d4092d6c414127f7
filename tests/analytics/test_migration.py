"""Segment migration on a toy where every move is worked out by hand (descriptive_toys.py)."""
from __future__ import annotations

import pandas as pd
import pytest
from descriptive_toys import MIGRATION_EXPECTED, MIGRATION_PREVIOUS, MIGRATION_SNAPSHOT

from analytics.errors import AnalyticsError
from analytics.migration import NOT_YET_CUSTOMER, PREVIOUS_ORDER, segment_migration
from analytics.rfm import SEGMENT_ORDER


def test_who_moved_where(migration_log):
    result = segment_migration(migration_log.lines, MIGRATION_SNAPSHOT, lookback_days=30)
    assert result.previous_date == MIGRATION_PREVIOUS and result.snapshot_date == MIGRATION_SNAPSHOT
    assert result.lookback_days == 30
    got = {
        customer: (row.previous, row.current, row.window_revenue)
        for customer, row in result.customers.iterrows()
    }
    assert got == MIGRATION_EXPECTED


def test_count_and_revenue_matrices(migration_log):
    result = segment_migration(migration_log.lines, MIGRATION_SNAPSHOT, lookback_days=30)
    assert list(result.counts.index) == list(PREVIOUS_ORDER) and list(result.counts.columns) == list(SEGMENT_ORDER)
    expected = pd.DataFrame(0, index=result.counts.index, columns=result.counts.columns)
    for previous, current, _ in MIGRATION_EXPECTED.values():
        expected.loc[previous, current] += 1
    assert (result.counts == expected).all().all()
    assert result.counts.to_numpy().sum() == 6
    assert result.revenue.loc["Lost", "Champions"] == pytest.approx(50.0)
    assert result.revenue.loc["Need Attention", "At Risk"] == pytest.approx(-10.0)
    assert result.revenue.loc[NOT_YET_CUSTOMER, "Promising"] == pytest.approx(10.0)
    assert result.revenue.to_numpy().sum() == pytest.approx(50.0)
    # only U2 stayed (Hibernating) among the 5 previous customers
    assert result.stayed_share() == pytest.approx(1 / 5)
    long = result.to_long()
    assert len(long) == len(PREVIOUS_ORDER) * len(SEGMENT_ORDER)
    assert long["customers"].sum() == 6


def test_snapshot_defaults_and_cutoff(migration_log):
    # the line of 2011-04-05 is after the snapshot and must not matter
    lines = migration_log.lines
    explicit = segment_migration(lines, MIGRATION_SNAPSHOT, 30)
    cut = segment_migration(lines.loc[lines["invoice_date"] < MIGRATION_SNAPSHOT], MIGRATION_SNAPSHOT, 30)
    pd.testing.assert_frame_equal(explicit.customers, cut.customers)
    default = segment_migration(lines, lookback_days=30)
    assert default.snapshot_date == pd.Timestamp("2011-04-06")


def test_everybody_new_when_the_lookback_precedes_the_log(migration_log):
    result = segment_migration(migration_log.lines, MIGRATION_SNAPSHOT, lookback_days=400)
    assert (result.customers["previous"] == NOT_YET_CUSTOMER).all()
    assert result.counts.loc[NOT_YET_CUSTOMER].sum() == 6


def test_empty_input_and_bad_lookback(migration_log):
    empty = segment_migration(migration_log.lines.iloc[:0], MIGRATION_SNAPSHOT, 30)
    assert empty.customers.empty and empty.counts.to_numpy().sum() == 0
    assert empty.counts.shape == (len(PREVIOUS_ORDER), len(SEGMENT_ORDER))
    with pytest.raises(AnalyticsError, match="lookback_days"):
        segment_migration(migration_log.lines, MIGRATION_SNAPSHOT, 0)
    with pytest.raises(AnalyticsError, match="no lines"):
        segment_migration(migration_log.lines.iloc[:0])
