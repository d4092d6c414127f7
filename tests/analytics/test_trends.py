"""Monthly summary, weekday x hour, KPIs: the RFM toy by hand, naive recomputation, README."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from descriptive_toys import RFM_SNAPSHOT, make_log

from analytics.errors import AnalyticsError
from analytics.trends import KPI_NAMES, business_kpis, kpi_change, monthly_summary, weekday_hour

# The RFM toy (descriptive_toys.py) by month:
#   Jan: A 1001 +13, A return -5, C 1005 +30             -> revenue 38, gross 43, 2 orders
#   Feb: A 1003 +6, B 1004 +20, C 1006 +5, D return -5,
#        guest 1009 +5                                    -> revenue 31, gross 36, 4 orders


def test_monthly_summary_by_hand(rfm_log):
    monthly = monthly_summary(rfm_log.lines, RFM_SNAPSHOT)
    assert monthly["month"].tolist() == [pd.Timestamp("2011-01-01"), pd.Timestamp("2011-02-01")]
    assert monthly["revenue"].tolist() == pytest.approx([38.0, 31.0])
    assert monthly["gross_revenue"].tolist() == pytest.approx([43.0, 36.0])
    assert monthly["orders"].tolist() == [2, 4]
    assert monthly["average_order_value"].tolist() == pytest.approx([21.5, 9.0])
    assert monthly["active_customers"].tolist() == [2, 3]
    assert monthly["new_customers"].tolist() == [2, 1]
    assert monthly["returning_customers"].tolist() == [0, 2]
    assert monthly["revenue_new"].tolist() == pytest.approx([38.0, 20.0])
    # Feb returning: A +6, C +5 and D's return -5 (an identified non-new customer)
    assert monthly["revenue_returning"].tolist() == pytest.approx([0.0, 6.0])
    assert monthly["revenue_guests"].tolist() == pytest.approx([0.0, 5.0])
    parts = monthly[["revenue_new", "revenue_returning", "revenue_guests"]].sum(axis=1)
    assert np.allclose(parts, monthly["revenue"])


def test_monthly_gaps_are_filled_and_snapshot_cuts(rfm_log):
    lines = rfm_log.lines
    sparse = make_log([("1", "P1", "Apple", 1, "2011-01-05 10:00", 5.0, "A", "France"),
                       ("2", "P1", "Apple", 2, "2011-04-20 10:00", 5.0, "A", "France")])
    monthly = monthly_summary(sparse.lines)
    assert len(monthly) == 4 and monthly["orders"].tolist() == [1, 0, 0, 1]
    assert monthly["returning_customers"].tolist() == [0, 0, 0, 1]
    assert np.isnan(monthly.loc[2, "average_order_value"]) and monthly.loc[2, "revenue"] == 0
    assert len(monthly_summary(lines, "2011-02-01")) == 1
    assert monthly_summary(lines.iloc[:0]).empty


def test_weekday_hour_by_hand(rfm_log):
    grid = weekday_hour(rfm_log.lines, RFM_SNAPSHOT)
    assert len(grid) == 168 and grid["orders"].sum() == 6
    cell = grid.set_index(["weekday", "hour"])
    # 2011-01-10 (order 1001, 10:00) was a Monday; 2011-01-15 (return, 09:00) a Saturday
    assert cell.loc[(0, 10), "orders"] == 1 and cell.loc[(0, 10), "revenue"] == pytest.approx(13.0)
    assert cell.loc[(5, 9), "orders"] == 0 and cell.loc[(5, 9), "revenue"] == pytest.approx(-5.0)
    assert grid.loc[grid["weekday"] == 0, "weekday_name"].unique().tolist() == ["Monday"]
    assert grid["revenue"].sum() == pytest.approx(69.0)
    assert len(weekday_hour(rfm_log.lines.iloc[:0])) == 168


def test_business_kpis_by_hand(rfm_log):
    kpis = business_kpis(rfm_log.lines, "2011-02-01", "2011-03-01")
    assert kpis["revenue"] == pytest.approx(31.0)
    assert kpis["orders"] == 4 and kpis["customers"] == 3 and kpis["new_customers"] == 1
    assert kpis["average_order_value"] == pytest.approx(9.0)
    # A and C have 2 orders up to 03-01, B has 1
    assert kpis["repeat_customer_rate"] == pytest.approx(2 / 3)
    assert (kpis["start"], kpis["end"]) == ("2011-02-01", "2011-03-01")


def test_empty_window_and_bad_window(rfm_log):
    kpis = business_kpis(rfm_log.lines, "2012-01-01", "2012-02-01")
    assert kpis["revenue"] == 0 and kpis["orders"] == 0 and kpis["customers"] == 0
    assert np.isnan(kpis["average_order_value"]) and np.isnan(kpis["repeat_customer_rate"])
    with pytest.raises(AnalyticsError, match="must be after"):
        business_kpis(rfm_log.lines, "2011-03-01", "2011-02-01")
    with pytest.raises(AnalyticsError, match="not a date"):
        business_kpis(rfm_log.lines, "yesterday-ish", "2011-02-01")


def test_kpi_change_against_the_previous_window(rfm_log):
    table = kpi_change(rfm_log.lines, "2011-02-01", "2011-03-01")
    assert list(table.index) == list(KPI_NAMES)
    assert table.attrs["previous_window"] == ("2011-01-04", "2011-02-01")
    # previous window [01-04, 02-01): 1001, C1002, 1005 -> revenue 38, 2 orders, 2 new customers
    assert table.loc["revenue", "previous"] == pytest.approx(38.0)
    assert table.loc["revenue", "change_pct"] == pytest.approx(100 * (31 - 38) / 38)
    assert table.loc["orders", "change_pct"] == pytest.approx(100.0)
    assert table.loc["customers", "change_pct"] == pytest.approx(50.0)
    assert table.loc["average_order_value", "change_pct"] == pytest.approx(100 * (9 - 21.5) / 21.5)
    assert table.loc["repeat_customer_rate", "previous"] == 0.0
    assert np.isnan(table.loc["repeat_customer_rate", "change_pct"])  # previous is 0


@pytest.mark.realdata
def test_monthly_matches_a_naive_computation(online_retail):
    lines = online_retail.lines
    monthly = monthly_summary(lines).set_index("month")
    month = lines["invoice_date"].dt.to_period("M").dt.start_time
    sales = lines.loc[~lines["is_return"]]
    naive_revenue = lines.groupby(month)["revenue"].sum()
    naive_orders = sales.groupby(sales["invoice_date"].dt.to_period("M"))["invoice"].nunique()
    known = sales.loc[sales["customer_id"].notna()]
    naive_active = known.groupby(known["invoice_date"].dt.to_period("M"))["customer_id"].nunique()
    assert np.allclose(monthly["revenue"].to_numpy(), naive_revenue.to_numpy())
    assert monthly["orders"].tolist() == naive_orders.tolist()
    assert monthly["active_customers"].tolist() == naive_active.tolist()
    assert monthly["new_customers"].sum() == online_retail.report.customers
    assert monthly["orders"].sum() == online_retail.report.orders


@pytest.mark.realdata
def test_readme_best_month_and_average_order_value(online_retail_standard):
    monthly = monthly_summary(online_retail_standard).set_index("month")
    assert monthly["revenue"].idxmax() == pd.Timestamp("2011-11-01")
    assert monthly["revenue"].max() == pytest.approx(1_161_817.38, abs=0.01)
    kpis = business_kpis(online_retail_standard, "2010-12-01", "2011-12-10")
    assert kpis["average_order_value"] == pytest.approx(480.87, abs=0.005)
    assert kpis["customers"] == 4338 and kpis["orders"] == 18_532


def test_kpi_change_against_the_same_fiscal_period_a_year_earlier():
    """Fiscal year from April: FY 2011 to date [2011-04-01, 2011-06-01) against [2010-04-01, 2010-06-01)."""
    from analytics.periods import year_before

    log = make_log([("1", "P1", "Apple", 2, "2010-05-10 10:00", 5.0, "A", "France"),   # 10, last FY's span
                    ("2", "P1", "Apple", 1, "2010-12-20 10:00", 5.0, "B", "France"),   # 5, neither window
                    ("4", "P1", "Apple", 1, "2011-03-15 10:00", 5.0, "B", "France"),   # 5, the 61 days before
                    ("3", "P1", "Apple", 4, "2011-05-10 10:00", 5.0, "A", "France")])  # 20, this FY
    start, end = date(2011, 4, 1), date(2011, 6, 1)
    fiscal = kpi_change(log.lines, start, end, previous=year_before(start, end))
    assert fiscal.attrs["previous_window"] == ("2010-04-01", "2010-06-01")
    assert fiscal.loc["revenue", "value"] == 20.0 and fiscal.loc["revenue", "previous"] == 10.0
    assert fiscal.loc["revenue", "change_pct"] == pytest.approx(100.0)
    assert fiscal.loc["new_customers", "previous"] == 1 and fiscal.loc["new_customers", "value"] == 0
    default = kpi_change(log.lines, start, end)
    assert default.attrs["previous_window"] == ("2011-01-30", "2011-04-01")  # 61 days: March 31, February 28, January 2
    assert default.loc["revenue", "previous"] == 5.0 and default.loc["revenue", "change_pct"] == pytest.approx(300.0)
    with pytest.raises(AnalyticsError, match="must end by 2011-06-01"):
        kpi_change(log.lines, start, end, previous=(date(2011, 5, 1), date(2011, 7, 1)))
