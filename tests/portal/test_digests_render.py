"""The digest of a page whose list needs the fitted models (Churn risk), built on the shared,
read-only dashboard app and checked against the churn model fitted straight from the log."""
from __future__ import annotations

import io
from datetime import datetime

import pandas as pd
import pytest
from digests_testlib import ctx_of


def _expected_order(scores: pd.DataFrame) -> list[str]:
    ordered = scores.sort_index().sort_values("net_revenue_at_risk", ascending=False, kind="stable",
                                              na_position="last")
    return ordered.index.astype(str).tolist()


def _digest(ctx, page: str, query: str):
    from portal.digests.render import build_digest
    from portal.platform.mail_settings import MailSettings

    return build_digest(ctx, view_name="High risk", page=page, query=query, schedule_text="Weekly",
                        owner_text="you subscribed", unsubscribe_url="http://portal.test/u", now=datetime(2026, 12, 7),
                        settings=MailSettings(public_url="http://portal.test"), with_charts=False)


def test_churn_digest_lists_the_high_risk_customers_of_the_model(dashboard_app, alpha_reference):
    cleaned, models, _ = alpha_reference
    high = models.churn_scores[models.churn_scores["risk_band"] == "high"]
    expected = _expected_order(high)
    with dashboard_app.app_context():
        digest = _digest(ctx_of("manager@alpha.test"), "/churn", "?risk=high")
        viewer = _digest(ctx_of("viewer@alpha.test"), "/churn", "?risk=high")
    assert (digest.list_name, digest.list_rows) == ("churn", len(expected))
    assert [row[0] for row in digest.top_rows] == expected[:10]
    assert digest.top_headers[:3] == ["Customer", "Churn prob. (%)", "Risk band"]  # headers as on screen, with units
    csv = pd.read_csv(io.BytesIO(digest.csv_bytes), dtype={0: str})
    assert csv.iloc[:, 0].tolist() == expected
    assert digest.csv_name == "alpha-churn-high-v1.csv"  # the filters in the file name (the export format)
    assert digest.view_url == "http://portal.test/churn?risk=high"
    assert viewer.csv_bytes is None and [row[0] for row in viewer.top_rows] == expected[:10]
    # KPIs of the high-risk customers over the last 90 days before the snapshot, by hand
    assert [k.name for k in digest.kpis] == ["revenue", "orders", "customers", "average_order_value",
                                             "repeat_customer_rate", "new_customers", "revenue_at_risk", "clv_12m"]
    lines = cleaned.lines[cleaned.lines["customer_id"].astype("string").isin(high.index.astype(str))]
    end = cleaned.snapshot_date
    in_window = lines[(lines["invoice_date"] >= end - pd.Timedelta(days=90)) & (lines["invoice_date"] < end)]
    kpis = {k.name: k for k in digest.kpis}
    assert kpis["revenue"].raw_value == pytest.approx(in_window["revenue"].sum())
    assert kpis["customers"].raw_value == in_window["customer_id"].nunique()
    assert kpis["revenue_at_risk"].raw_value == pytest.approx(high["net_revenue_at_risk"].sum())
