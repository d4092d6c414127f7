"""Valuable customers at risk by hand; P(alive) / churn agreement; record version in step."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_churn import UK, make_lines

from analytics.model_store import PROJECT_VERSION
from analytics.risk import p_alive_churn_agreement, valuable_at_risk

SNAP = pd.Timestamp("2024-07-01")


def toy():
    """Ten customers c0..c9 with net revenue 1000, 900, ..., 100 in the last year (one order
    each on 2024-06-01), except c1 who bought on 2024-01-01, 2024-01-11, 2024-01-21 (300 each:
    mean gap 10 days, silent 162 days: overdue) and c0 who also returned 100 (net 900, still top)."""
    rows = [(f"i{i}", f"c{i}", "2024-06-01", "P1", 1, 1000.0 - 100 * i, UK) for i in range(10) if i != 1]
    rows += [(f"i1{d}", "c1", f"2024-01-{d:02d}", "P1", 1, 300.0, UK) for d in (1, 11, 21)]
    rows += [("C9", "c0", "2024-06-05", "P1", -1, 100.0, UK)]
    return make_lines(rows)


def test_valuable_at_risk_by_hand():
    lines = toy()
    scores = pd.DataFrame({"churn_probability": [0.45, 0.05] + [0.9] * 8,
                           "net_clv_12m": [200.0, 300.0] + [50.0] * 8},
                          index=[f"c{i}" for i in range(10)])
    out = valuable_at_risk(lines, SNAP, scores, base_rate=0.2)
    # net revenue: c0 900, c1 900, c2 800, ...: top 20 % of 10 = ranks <= 2 -> c0 and c1 (tied at 900)
    assert out.n_valuable == 2 and out.value_threshold == pytest.approx(900.0)
    assert out.risk_threshold == pytest.approx(0.4)
    table = out.customers
    assert list(table.index) == ["c0", "c1"]  # ranked by net revenue at risk: 0.45 x 200 = 90 > 0.05 x 300 = 15
    assert table.loc["c0", "selected_because"] == "churn risk"
    assert table.loc["c1", "selected_because"] == "overdue"
    assert table.loc["c1", "mean_gap_days"] == 10 and table.loc["c1", "days_since_last_purchase"] == 162
    assert table["net_revenue_at_risk"].tolist() == pytest.approx([90.0, 15.0])
    assert out.reason is None and out.net_revenue_at_risk == pytest.approx(105.0)


def test_nobody_selected_says_why():
    lines = toy()
    scores = pd.DataFrame({"churn_probability": 0.1, "net_clv_12m": 10.0}, index=[f"c{i}" for i in range(10)])
    recent = lines.loc[lines["customer_id"].astype(str) != "c1"]
    out = valuable_at_risk(recent, SNAP, scores, base_rate=0.3)
    assert out.customers.empty
    # 9 customers left: rank / 9 <= 20 % keeps rank 1 only (c0, 900); 2 / 9 = 22 %
    assert "None of the 1 valuable customers" in out.reason and "at least 60%" in out.reason
    assert "highest among them is 10%" in out.reason


def test_agreement_flags_disagreement_and_skips_uninformative():
    idx = [f"c{i}" for i in range(50)]
    rng = np.random.default_rng(0)
    p_alive = pd.Series(rng.uniform(0, 1, 50), index=idx)
    agree = p_alive_churn_agreement(p_alive, 1 - p_alive + rng.normal(0, 0.01, 50), True)
    assert agree["spearman"] > 0.95 and agree["disagree"] is False
    against = p_alive_churn_agreement(p_alive, p_alive, True)
    assert against["spearman"] == pytest.approx(-1.0) and against["disagree"] is True
    skipped = p_alive_churn_agreement(p_alive, p_alive, False)
    assert skipped["spearman"] is None and "no dropout" in skipped["note"]


def test_record_project_version_is_the_pyproject_version():
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', text, re.M).group(1) == PROJECT_VERSION


def test_net_to_gross_ratio_by_hand():
    """c0 bought 1000 and returned 100: 0.9; everybody else 1 (no returns)."""
    from analytics.clv import net_to_gross_ratio

    ratio = net_to_gross_ratio(toy(), SNAP)
    assert ratio["c0"] == pytest.approx(0.9)
    assert (ratio.drop("c0") == 1.0).all() and len(ratio) == 10
