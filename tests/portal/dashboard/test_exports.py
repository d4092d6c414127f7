"""CSV exports: exactly the filtered rows with the screen's columns, manager only, audited,
streamed, and safe to open in a spreadsheet."""
from __future__ import annotations

import io
import json
from urllib.parse import quote

import pandas as pd
import pytest
from dashboard_testlib import cleaned_log
from portal_testlib import build_app, logged_in, make_settings, small_log

from analytics.rfm import segmented_rfm
from portal.platform.accounts import audit_entries
from portal.dashboard.exports import csv_blocks, neutralise


def read_csv(response) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(response.get_data(as_text=True)), dtype={"customer_id": str})


@pytest.fixture(scope="module")
def reference(dashboard_logs):
    cleaned = cleaned_log(dashboard_logs["alpha"])
    return segmented_rfm(cleaned.lines, cleaned.snapshot_date)


def test_customer_list_export_is_the_filtered_customers(dashboard_app, reference):
    client = logged_in(dashboard_app, "manager@alpha.test")
    response = client.get("/export/segments.csv?country=France&segment=Champions&segment=Loyal+Customers&raw=1")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="alpha-segments-France-Champions-LoyalCustomers-v')
    assert response.headers["Content-Disposition"].endswith('-raw.csv"')
    exported = read_csv(response)
    expected = reference[(reference["country"] == "France")
                         & reference["segment"].isin(["Champions", "Loyal Customers"])]
    assert exported.columns[0] == "customer_id"
    assert sorted(exported["customer_id"]) == sorted(expected.index)
    assert int(response.headers["X-Export-Rows"]) == len(expected)
    # default order of the list: net revenue, highest first
    assert exported["monetary"].tolist() == sorted(expected["monetary"].tolist(), reverse=True)


def test_grid_filter_and_sort_models_travel_with_the_export(dashboard_app, reference):
    client = logged_in(dashboard_app, "manager@alpha.test")
    model = {"filterModel": {"monetary": {"filterType": "number", "type": "greaterThan", "filter": 1000}},
             "sortModel": [{"colId": "recency", "sort": "asc"}]}
    exported = read_csv(client.get("/export/segments.csv?raw=1&grid=" + quote(json.dumps(model))))
    expected = reference[reference["monetary"] > 1000]
    assert sorted(exported["customer_id"]) == sorted(expected.index)
    assert exported["recency"].is_monotonic_increasing


def test_export_format_is_the_screens(dashboard_app, alpha_reference):
    """Headers as on screen with units and currency, money rounded to pence, percentages as shown."""
    _, models, rfm = alpha_reference
    client = logged_in(dashboard_app, "manager@alpha.test")
    response = client.get("/export/churn.csv?country=France")
    assert 'filename="alpha-churn-France-v' in response.headers["Content-Disposition"]
    exported = pd.read_csv(io.StringIO(response.get_data(as_text=True)), dtype={"Customer": str})
    assert exported.columns[0] == "Customer"
    assert any(c.endswith("(£)") for c in exported.columns) and any(c.endswith("(%)") for c in exported.columns)
    assert not any(c in exported.columns for c in ("churn_probability", "net_revenue_at_risk", "net_clv_12m"))
    raw = read_csv(client.get("/export/churn.csv?country=France&raw=1"))
    assert len(raw) == len(exported) > 0
    fields = dict(zip(exported.columns, raw.columns))  # same columns, same order
    exported.columns = raw.columns
    for header, field in fields.items():
        if header.endswith("(£)"):  # money: the amount rounded to pence (by hand: round(x, 2))
            assert (exported[field] - raw[field].round(2)).abs().max() < 1e-9, header
        elif header.endswith("(%)"):  # a probability as the grid shows it: 100 x p, one decimal
            assert (exported[field] - (raw[field] * 100).round(1)).abs().max() < 1e-9, header
    assert fields["Customer"] == "customer_id" and "churn_probability" in fields.values()
    line = response.get_data(as_text=True).split("\r\n")[1].split(",")
    assert all(len(cell.split(".")[1]) <= 2 for cell in line if "." in cell and cell.replace(".", "").isdigit())
    assert set(raw["country"]) == {"France"} and len(raw) <= len(models.churn_scores)


def test_roles_and_unknown_lists(dashboard_app):
    assert logged_in(dashboard_app, "viewer@alpha.test").get("/export/segments.csv").status_code == 403
    assert dashboard_app.test_client().get("/export/segments.csv").status_code == 401
    assert logged_in(dashboard_app, "admin@alpha.test").get("/export/nope.csv").status_code == 404


def test_other_tenant_gets_its_own_customers_whatever_the_query(dashboard_app, reference, dashboard_logs):
    client = logged_in(dashboard_app, "manager@beta.test")
    beta = cleaned_log(dashboard_logs["beta"])
    beta_ids = set(beta.lines["customer_id"].dropna().astype(str))
    exported = read_csv(client.get("/export/segments.csv?raw=1&tenant=alpha&tenant_id=1&dataset_id=1"))
    assert set(exported["customer_id"]) <= beta_ids
    assert set(exported["customer_id"]).isdisjoint(set(reference.index) - beta_ids)


def test_formula_cells_are_neutralised_and_numbers_stay_numbers(tmp_path):
    log = small_log(30, 3, seed=4)
    log.loc[log.index[:3], "Description"] = ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "@SUM(A1)"]
    log.loc[log["CustomerID"] == log["CustomerID"].dropna().iloc[0], "Country"] = "-2+3"
    sale = log[log["CustomerID"].notna()].iloc[[5]].copy()
    sale["InvoiceNo"], sale["Quantity"] = "C" + sale["InvoiceNo"], -sale["Quantity"]
    sale["InvoiceDate"] = sale["InvoiceDate"] + pd.Timedelta(days=1)
    log = pd.concat([log, sale], ignore_index=True)
    path = tmp_path / "evil.csv"
    log.to_csv(path, index=False)
    app = build_app(make_settings(tmp_path), logs={"alpha": path})
    client = logged_in(app, "manager@alpha.test")
    text = client.get("/export/transactions.csv?raw=1").get_data(as_text=True)
    assert "'=HYPERLINK" in text and "'+cmd" in text and "'@SUM(A1)" in text  # (the loader strips tabs)
    assert "\n=" not in text and ",=" not in text and ",+cmd" not in text
    frame = pd.read_csv(io.StringIO(text))
    assert (frame["quantity"] < 0).any(), "negative quantities (returns) stay plain numbers"
    assert pd.api.types.is_numeric_dtype(frame["revenue"])
    countries = read_csv(client.get("/export/segments.csv?raw=1"))["country"]
    assert "'-2+3" in set(countries) and "-2+3" not in set(countries)
    with app.app_context():
        entries = [e for e in audit_entries(1) if e.action == "export"]
    assert [e.detail["export"] for e in entries] == ["segments", "transactions"]
    assert entries[-1].detail["rows"] == len(frame)


def test_neutralise_and_blocks_by_hand():
    frame = pd.DataFrame({"text": ["=1+1", "plain", "-x", None, "\rCR"], "number": [-1.5, 2, 3, 4, 5]})
    safe = neutralise(frame)
    assert safe["text"].tolist()[:3] == ["'=1+1", "plain", "'-x"] and pd.isna(safe["text"][3])
    assert safe["text"][4] == "'\rCR" and safe["number"].tolist() == [-1.5, 2, 3, 4, 5]
    text = "".join(csv_blocks(frame, block_rows=2))
    assert text.startswith("text,number\r\n") and text.count("\r\n") >= 6
    assert pd.read_csv(io.StringIO(text))["number"].tolist() == [-1.5, 2, 3, 4, 5]
