"""Helpers the churn, value and profile pages read: P(alive) grid, risk-band summary,
the recency rule as an ROC point, segment history, invoice table -- each checked
against figures worked out by hand (or lifetimes' own formula)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from descriptive_toys import MIGRATION_EXPECTED, MIGRATION_SNAPSHOT

from analytics.btyd_models import _lifetimes
from analytics.churn import baseline_rule_point, risk_band_summary
from analytics.clv import p_alive_grid
from analytics.errors import AnalyticsError
from analytics.migration import NOT_YET_CUSTOMER, segment_history, segment_migration
from analytics.orders import invoice_table, order_table
from analytics.rfm import segmented_rfm

PARAMS = {"r": 0.5, "alpha": 10.0, "a": 0.8, "b": 2.0}


# --------------------------------------------------------------------------
# P(alive) grid


def test_p_alive_grid_cells_by_hand():
    grid = p_alive_grid(PARAMS, T=100, frequencies=[0, 2, 5], recencies=[0, 60, 95, 120])
    assert list(grid.index) == [0, 2, 5] and list(grid.columns) == [0, 60, 95, 120]
    # x = 2, t_x = 60: 1 / (1 + 0.8 / (2 + 2 - 1) x (110 / 70)^2.5)
    assert grid.loc[2, 60] == pytest.approx(0.5478018166530622, rel=1e-12)
    # x = 5, t_x = 95: 1 / (1 + 0.8 / 6 x (110 / 105)^5.5)
    assert grid.loc[5, 95] == pytest.approx(0.8530897539873008, rel=1e-12)
    assert grid.loc[0, 0] == 1.0  # no repeat purchase: alive by the model's assumption
    # impossible cells: t_x > T, x = 0 with t_x > 0, t_x < x
    assert np.isnan(grid.loc[2, 120]) and np.isnan(grid.loc[0, 60]) and np.isnan(grid.loc[2, 0])


def test_p_alive_grid_equals_lifetimes():
    fitter = _lifetimes().BetaGeoFitter()
    fitter.params_ = pd.Series(PARAMS)
    frequencies, recencies = [1, 3, 10], [10, 50, 200]
    grid = p_alive_grid(PARAMS, T=200, frequencies=frequencies, recencies=recencies)
    for x in frequencies:
        for tx in recencies:
            expected = float(np.asarray(fitter.conditional_probability_alive(x, tx, 200)).ravel()[0])
            assert grid.loc[x, tx] == pytest.approx(expected, rel=1e-10), (x, tx)


def test_p_alive_grid_rejects_bad_input():
    with pytest.raises(ValueError):
        p_alive_grid(PARAMS, T=10, frequencies=[], recencies=[0])
    with pytest.raises(ValueError):
        p_alive_grid(PARAMS, T=-1, frequencies=[0], recencies=[0])


# --------------------------------------------------------------------------
# churn: risk bands and the recency rule


def test_risk_band_summary_by_hand():
    customers = pd.DataFrame({
        "churn_probability": [0.9, 0.75, 0.5, 0.1, np.nan],
        "risk_band": pd.Categorical(["high", "high", "medium", "low", None], categories=["high", "medium", "low"]),
        "net_revenue_at_risk": [90.0, 30.0, 10.0, np.nan, np.nan],
    }, index=pd.Index(list("abcde"), name="customer_id"))
    out = risk_band_summary(customers)
    assert list(out.index) == ["high", "medium", "low"]
    assert out["customers"].tolist() == [2, 1, 1]  # e (no band) left out
    assert out["share"].tolist() == pytest.approx([0.5, 0.25, 0.25])
    assert out["net_revenue_at_risk"].tolist() == pytest.approx([120.0, 10.0, 0.0])
    assert out["net_revenue_at_risk_share"].tolist() == pytest.approx([120 / 130, 10 / 130, 0.0])
    assert out["mean_churn_probability"].tolist() == pytest.approx([0.825, 0.5, 0.1])
    only_high = risk_band_summary(customers.iloc[:2])
    assert only_high["customers"].tolist() == [2, 0, 0]
    assert only_high.loc["medium", "net_revenue_at_risk"] == 0.0
    assert np.isnan(only_high.loc["medium", "mean_churn_probability"])
    nobody = risk_band_summary(customers.iloc[:0])
    assert nobody["customers"].sum() == 0 and nobody["share"].isna().all()


def test_baseline_rule_point_by_hand():
    # 100 evaluated, 60 churned, 40 retained; the rule flags 40 of whom 30 churned:
    # recall 30/60 = 0.5, precision 30/40 = 0.75 -> FPR 10/40, TPR 0.5
    model = SimpleNamespace(n_eval=100, churn_rate_eval=0.6,
                            baseline={"rule_recall": 0.5, "rule_precision": 0.75})
    assert baseline_rule_point(model) == pytest.approx({"fpr": 0.25, "tpr": 0.5})
    nobody_flagged = SimpleNamespace(n_eval=100, churn_rate_eval=0.6,
                                     baseline={"rule_recall": 0.0, "rule_precision": float("nan")})
    assert baseline_rule_point(nobody_flagged) == pytest.approx({"fpr": 0.0, "tpr": 0.0})


# --------------------------------------------------------------------------
# segment history


def test_segment_history_on_the_migration_toy(migration_log):
    history = segment_history(migration_log.lines, MIGRATION_SNAPSHOT, (0, 30, 400))
    assert history.offsets == (0, 30, 400)
    assert history.dates == (MIGRATION_SNAPSHOT, pd.Timestamp("2011-03-01"), pd.Timestamp("2010-02-24"))
    got = {c: (row[30], row[0]) for c, row in history.segments.iterrows()}
    assert got == {c: (previous, current) for c, (previous, current, _) in MIGRATION_EXPECTED.items()}
    assert (history.segments[400] == NOT_YET_CUSTOMER).all()  # before the log: nobody was a customer
    u1 = history.of("U1")
    assert u1["segment"].tolist() == ["Champions", "Lost", NOT_YET_CUSTOMER]
    assert u1["offset_days"].tolist() == [0, 30, 400]
    assert history.of("nobody").empty


def test_segment_history_agrees_with_rfm_and_migration(migration_log):
    lines = migration_log.lines
    history = segment_history(lines, MIGRATION_SNAPSHOT, (0, 30))
    current = segmented_rfm(lines.loc[lines["invoice_date"] < MIGRATION_SNAPSHOT], MIGRATION_SNAPSHOT)
    assert history.segments[0].astype(str).to_dict() == current["segment"].astype(str).to_dict()
    migration = segment_migration(lines, MIGRATION_SNAPSHOT, 30)
    assert history.segments[30].astype(str).to_dict() == migration.customers["previous"].astype(str).to_dict()
    with pytest.raises(AnalyticsError):
        segment_history(lines, MIGRATION_SNAPSHOT, (-1,))


# --------------------------------------------------------------------------
# invoices (orders and returns)


def test_invoice_table_on_the_rfm_toy(rfm_log):
    table = invoice_table(rfm_log.lines)
    a = table[table["customer_id"] == "A"]
    # A: 1001 (01-10: 2x5 + 1x3 = 13), return C1002 (01-15: -5), 1003 (02-27: 2x3 = 6)
    assert a["invoice"].tolist() == ["1001", "C1002", "1003"]
    assert a["is_return"].tolist() == [False, True, False]
    assert a["revenue"].tolist() == pytest.approx([13.0, -5.0, 6.0])
    assert a["quantity"].tolist() == [3, -1, 2]
    assert a["lines"].tolist() == [2, 1, 1]
    assert table["customer_id"].isna().sum() == 1  # the guest's order 1009
    orders = table[~table["is_return"]].drop(columns="is_return").reset_index(drop=True)
    expected = order_table(rfm_log.lines)[orders.columns]
    pd.testing.assert_frame_equal(orders, expected, check_dtype=False)
    assert invoice_table(rfm_log.lines.iloc[:0]).empty
