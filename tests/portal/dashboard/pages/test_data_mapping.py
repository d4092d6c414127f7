"""Data page, "Bring your own export": proposal, correction with drop-downs, preview,
saving, import (replace/append), the returns rule of the tenant's layout and the quality
report kept with the version; admins only."""
from __future__ import annotations

import base64
import io

import pandas as pd
import pytest
from portal_testlib import build_app, callback_outputs, dash_post, logged_in, make_settings, small_log

import analytics
from analytics.layouts import FIELDS, render_layout
from portal.data import storage
from portal.platform.tenancy import system_context


def _contents(frame: pd.DataFrame) -> str:
    buffer = io.BytesIO()
    frame.to_csv(buffer, index=False)
    return "data:text/csv;base64," + base64.b64encode(buffer.getvalue()).decode()


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def page_app(tmp_path):
    return build_app(make_settings(tmp_path))


@pytest.fixture(scope="module")
def shopify_frame():
    raw = small_log(15, 2, seed=8)
    buffer = io.BytesIO()
    raw.to_csv(buffer, index=False)
    cleaned = analytics.clean_transactions(analytics.load_transactions(buffer.getvalue(), filename="x.csv"))
    return render_layout(cleaned.lines, "Shopify orders", "Europe/London")


def _field_state(values: dict[str, str | None]) -> list[dict]:
    return [{"id": {"type": "map-field", "field": name}, "property": "value", "value": values.get(name)}
            for name in FIELDS]


def _field_ids() -> list[dict]:
    return [{"id": {"type": "map-field", "field": name}, "property": "id", "value": {"type": "map-field",
                                                                                        "field": name}}
            for name in FIELDS]


def _propose(client, frame, filename="orders_export.csv"):
    output = next(o for o in callback_outputs(client) if "mapping-editor.children" in o)
    return dash_post(client, output, [{"id": "mapping-upload", "property": "contents", "value": _contents(frame)}],
                     [{"id": "mapping-upload", "property": "filename", "value": filename}])


def test_a_shopify_export_is_recognised_previewed_and_imported(page_app, shopify_frame):
    client = logged_in(page_app, "admin@alpha.test")
    response = _propose(client, shopify_frame)
    assert response.status_code == 200
    text = _text(response)
    assert "Shopify orders layout, recognised by its header" in text
    assert "nets as one return line of that amount on the order's cancellation date" in text  # the rule, stated
    first_order = str(shopify_frame["Name"].iloc[0])
    assert first_order in text and "First rows as the portal will read them" in text
    state = response.json["response"]["mapping-state"]["data"]
    mapping = {"order_id": "Name", "email": "Email", "status": "Financial Status", "order_date": "Created at",
               "quantity": "Lineitem quantity", "product_name": "Lineitem name", "unit_price": "Lineitem price",
               "product_code": "Lineitem sku", "country": "Billing Country", "refund_amount": "Refunded Amount",
               "cancelled_at": "Cancelled at", "currency": "Currency", "name": "Billing Name"}
    output = next(o for o in callback_outputs(client) if "mapping-status.children" in o)
    common = [_field_state(mapping), _field_ids(),
              {"id": "mapping-upload", "property": "contents", "value": _contents(shopify_frame)},
              {"id": "mapping-upload", "property": "filename", "value": "orders_export.csv"},
              {"id": "mapping-state", "property": "data", "value": state}]
    imported = dash_post(client, output, [{"id": "mapping-save", "property": "n_clicks", "value": None},
                                          {"id": "mapping-import", "property": "n_clicks", "value": 1}],
                         common + [{"id": "mapping-mode", "property": "value", "value": "replace"}],
                         changed=["mapping-import.n_clicks"])
    assert imported.status_code == 200 and "Imported version 1" in _text(imported), _text(imported)[:500]
    with page_app.app_context():
        ctx = system_context("alpha")
        info = storage.get_dataset(ctx)
    assert info.quality_report["layout"] == "Shopify orders"
    report = dash_post(client, "dataset-report.children",
                       [{"id": "datasets-grid", "property": "selectedRows", "value": [{"version": 1}]}])
    assert "Data quality of this import" in _text(report) and "Cancelled at" in _text(report)


def test_a_proposal_corrected_with_the_drop_downs_changes_the_preview(page_app):
    frame = pd.DataFrame({"Beleg": ["A1", "A2"], "Kunde": ["k1", "k2"],
                          "Zeit": ["2024-05-01 09:00", "2024-05-02 10:00"], "Netto": ["10", "5"],
                          "Total": ["12", "6"]})
    client = logged_in(page_app, "admin@alpha.test")
    proposed = _propose(client, frame, "de.csv")
    text = _text(proposed)
    assert "a proposal from the column names" in text and "Map a column to: order id; order date-time" in text
    state = proposed.json["response"]["mapping-state"]["data"]
    corrected = {"order_id": "Beleg", "customer_id": "Kunde", "order_date": "Zeit", "line_amount": "Netto"}
    preview = dash_post(client, "mapping-preview.children", [_field_state(corrected)],
                        [_field_ids(), {"id": "mapping-upload", "property": "contents", "value": _contents(frame)},
                         {"id": "mapping-upload", "property": "filename", "value": "de.csv"},
                         {"id": "mapping-state", "property": "data", "value": state}],
                        changed=['{"field":"order_id","type":"map-field"}.value'])
    assert preview.status_code == 200, _text(preview)[:300]
    shown = _text(preview)
    assert "Map a column to" not in shown and "2024-05-01 09:00" in shown and "10.0" in shown
    wrong = dash_post(client, "mapping-preview.children", [_field_state({**corrected, "order_id": "Nope"})],
                      [_field_ids(), {"id": "mapping-upload", "property": "contents", "value": _contents(frame)},
                       {"id": "mapping-upload", "property": "filename", "value": "de.csv"},
                       {"id": "mapping-state", "property": "data", "value": state}],
                      changed=['{"field":"order_id","type":"map-field"}.value'])
    assert "not in the file" in _text(wrong)


def test_mapping_callbacks_need_the_admin_role(page_app, shopify_frame):
    client = logged_in(page_app, "manager@alpha.test")
    response = _propose(client, shopify_frame)
    assert response.status_code in (200, 403)
    assert "First rows" not in _text(response)
