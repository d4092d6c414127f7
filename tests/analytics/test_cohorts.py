"""Cohort retention on a 3-cohort toy worked out by hand (descriptive_toys.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from descriptive_toys import COHORT_SNAPSHOT

from analytics.cohorts import average_retention_curve, cohort_table, cohorts_between, retention_matrix
from analytics.errors import AnalyticsError
from analytics.rfm import rfm_table

J, F, M = pd.Timestamp("2011-01-01"), pd.Timestamp("2011-02-01"), pd.Timestamp("2011-03-01")
# (cohort, period) -> (size, active, revenue)
EXPECTED = {
    (J, 0): (2, 2, 20.0), (J, 1): (2, 1, 10.0), (J, 2): (2, 2, 20.0),
    (F, 0): (3, 3, 30.0), (F, 1): (3, 1, 0.0),  # F1 buys 10, F3 returns 10
    (M, 0): (1, 1, 10.0),
}


def test_cohort_table_by_hand(cohort_log):
    table = cohort_table(cohort_log.lines, COHORT_SNAPSHOT)
    got = {
        (row.cohort, row.period): (row.cohort_size, row.active_customers, row.revenue)
        for row in table.itertuples(index=False)
    }
    assert got == EXPECTED
    by_key = table.set_index(["cohort", "period"])
    assert by_key.loc[(J, 1), "retention"] == pytest.approx(0.5)
    assert by_key.loc[(F, 1), "retention"] == pytest.approx(1 / 3)
    assert by_key.loc[(J, 2), "revenue_per_customer"] == pytest.approx(10.0)
    assert by_key.loc[(J, 1), "revenue_per_customer"] == pytest.approx(5.0)  # per original member
    assert by_key.loc[(F, 1), "month"] == M
    assert (table.loc[table["period"] == 0, "retention"] == 1.0).all()


def test_retention_matrix_is_a_triangle(cohort_log):
    matrix = retention_matrix(cohort_table(cohort_log.lines, COHORT_SNAPSHOT))
    assert list(matrix.index) == [J, F, M] and list(matrix.columns) == [0, 1, 2]
    assert matrix.loc[J].tolist() == pytest.approx([1.0, 0.5, 1.0])
    assert np.isnan(matrix.loc[F, 2]) and np.isnan(matrix.loc[M, 1])
    revenue = retention_matrix(cohort_table(cohort_log.lines, COHORT_SNAPSHOT), value="revenue")
    assert revenue.loc[F, 1] == 0.0
    with pytest.raises(AnalyticsError, match="value must be"):
        retention_matrix(cohort_table(cohort_log.lines, COHORT_SNAPSHOT), value="period")


def test_average_curve_weights_by_size_over_cohorts_that_have_the_period(cohort_log):
    curve = average_retention_curve(cohort_table(cohort_log.lines, COHORT_SNAPSHOT)).set_index("period")
    assert curve["cohorts"].tolist() == [3, 2, 1]
    assert curve["customers"].tolist() == [6, 5, 2]
    # period 1: (1 + 1) / (2 + 3); period 2: only January, 2 / 2
    assert curve["retention"].tolist() == pytest.approx([1.0, 0.4, 1.0])
    assert curve["revenue_per_customer"].tolist() == pytest.approx([60 / 6, 10 / 5, 20 / 2])


def test_months_are_calendar_months_and_snapshot_cuts(cohort_log):
    # J2 ordered on 01-31 and 03-01: periods 0 and 2, never 1
    table = cohort_table(cohort_log.lines, "2011-03-01")  # March not observed yet
    assert table["period"].max() == 1 and M not in set(table["cohort"])
    jan = table.loc[table["cohort"] == J].set_index("period")
    assert jan["active_customers"].tolist() == [2, 1]


def test_cohort_revenue_adds_up_to_rfm_monetary(cohort_log):
    table = cohort_table(cohort_log.lines, COHORT_SNAPSHOT)
    assert table["revenue"].sum() == pytest.approx(rfm_table(cohort_log.lines, COHORT_SNAPSHOT)["monetary"].sum())
    sizes = table.groupby("cohort")["cohort_size"].first()
    assert sizes.sum() == 6


def test_empty_input(cohort_log):
    empty = cohort_table(cohort_log.lines.iloc[:0], COHORT_SNAPSHOT)
    assert empty.empty and str(empty["period"].dtype) == "int64"
    assert average_retention_curve(empty).empty
    assert retention_matrix(empty).empty


@pytest.mark.realdata
def test_cohorts_match_a_naive_computation(online_retail):
    lines, snapshot = online_retail.lines, online_retail.snapshot_date
    table = cohort_table(lines, snapshot)
    sales = lines.loc[~lines["is_return"] & lines["customer_id"].notna()]
    sales = sales.assign(customer_id=sales["customer_id"].astype("str"))
    first = sales.groupby("customer_id")["invoice_date"].min().dt.to_period("M")
    month_number = sales["invoice_date"].dt.year * 12 + sales["invoice_date"].dt.month
    cohort = sales["customer_id"].map(first)
    period = month_number - (cohort.dt.year * 12 + cohort.dt.month)
    naive_active = sales.assign(cohort=cohort, period=period).groupby(["cohort", "period"])["customer_id"].nunique()
    ours = table.set_index([table["cohort"].dt.to_period("M"), "period"])["active_customers"]
    ours = ours[ours > 0]
    assert ours.to_dict() == naive_active.to_dict()
    assert first.value_counts().sort_index().to_list() == table.groupby("cohort")["cohort_size"].first().to_list()


def test_cohorts_between_keeps_the_months_the_window_touches(cohort_log):
    table = cohort_table(cohort_log.lines, COHORT_SNAPSHOT)
    # J1, J2 acquired in January; F1, F2, F3 in February; M1 in March
    feb_mar = cohorts_between(table, "2011-02-15", "2011-03-01")  # touches February and March
    assert sorted(feb_mar["cohort"].unique()) == [F, M]
    assert feb_mar.loc[feb_mar["cohort"] == F, "period"].tolist() == [0, 1]  # followed to the snapshot
    assert feb_mar.loc[feb_mar["cohort"] == F, "cohort_size"].tolist() == [3, 3]
    assert sorted(cohorts_between(table, end="2011-01-31")["cohort"].unique()) == [J]
    assert sorted(cohorts_between(table, start="2011-02-01")["cohort"].unique()) == [F, M]
    assert cohorts_between(table).equals(table)
    assert cohorts_between(table, "2011-05-01").empty
    assert retention_matrix(feb_mar).index.tolist() == [F, M]
