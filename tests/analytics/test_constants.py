"""Shared constants and the date normaliser are defined once (analytics.constants,
analytics.dates) and imported everywhere else, by analytics and by the portal."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import analytics.churn as churn
import analytics.churn_features as churn_features
import analytics.clv as clv
from analytics import constants

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "analytics").rglob("*.py")) + sorted((ROOT / "portal").rglob("*.py"))


def _definitions(name: str) -> list[str]:
    """Files that bind ``name`` at module level by assignment or ``def``."""
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, ast.AnnAssign) else [])
            if any(isinstance(t, ast.Name) and t.id == name for t in targets) or (
                    isinstance(node, ast.FunctionDef) and node.name == name):
                found.append(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize(("name", "home"), [
    ("DAYS_PER_MONTH", "analytics/constants.py"),
    ("RISK_BANDS", "analytics/constants.py"),
    ("RISK_BAND_LABELS", "analytics/constants.py"),
    ("as_day", "analytics/dates.py"),
])
def test_defined_once(name, home):
    assert _definitions(name) == [home]


def test_no_second_month_length_or_date_parameter_truncation():
    """Only analytics.dates turns a value into a day; data columns may still be cut to
    their day (``series.dt.normalize()``), parameters never (``Timestamp(x).normalize()``)."""
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        if path.name != "constants.py":
            assert "365.25 / 12" not in text, path
        if path.parent.name == "analytics" and path.name != "dates.py":
            assert not re.search(r"Timestamp\([^()]*\)\.normalize\(\)", text), path


def test_everyone_uses_the_same_objects():
    assert clv.DAYS_PER_MONTH is churn_features.DAYS_PER_MONTH is constants.DAYS_PER_MONTH == 365.25 / 12
    assert churn.RISK_BANDS is constants.RISK_BANDS
    assert constants.RISK_BAND_LABELS == ("high", "medium", "low")
    cuts = [cut for _, cut in constants.RISK_BANDS]
    assert cuts == sorted(cuts, reverse=True) and all(0 < c < 1 for c in cuts)


def test_risk_band_summary_lists_every_band_in_order():
    import pandas as pd

    scores = pd.DataFrame({"churn_probability": [0.9, 0.5, 0.1, 0.2], "risk_band": ["high", "medium", "low", "low"],
                           "net_clv_12m": [10.0, 20.0, 30.0, 40.0], "net_revenue_at_risk": [9.0, 10.0, 3.0, 8.0]})
    summary = churn.risk_band_summary(scores)
    assert list(summary.index) == list(constants.RISK_BAND_LABELS)
    assert summary["customers"].tolist() == [1, 1, 2] and summary["net_revenue_at_risk"].tolist() == [9.0, 10.0, 11.0]
