"""Column mapping: known layouts give the same customers, orders and net revenue as
the UCI layout; proposals, corrections, refusals, refunds and time zones."""
from __future__ import annotations

import dataclasses
import io
import json

import numpy as np
import pandas as pd
import pytest

import analytics
from analytics.layouts import LAYOUTS, render_layout
from analytics.mapping import (
    ColumnMapping,
    apply_mapping,
    header_fingerprint,
    load_mapped,
    propose_mapping,
    read_table,
)
from analytics.synthetic import SyntheticParams, generate_transactions

FUTURE = pd.Timestamp("2100-01-01")


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def uci_clean():
    """A small synthetic log with returns, cleaned (the 'same data in the UCI layout')."""
    raw = generate_transactions(150, 8, seed=3, params=SyntheticParams(cancellation_rate=0.15, lines_mean=4))
    frame = analytics.load_transactions(_csv(raw), filename="uci.csv", time_zone="Europe/London")
    return analytics.clean_transactions(frame)


def _facts(cleaned) -> tuple[set, int, pd.Series]:
    lines = cleaned.lines
    net = lines.groupby(lines["customer_id"].astype(str), observed=True)["revenue"].sum().round(6)
    return set(net.index), cleaned.report.orders, net.sort_index()


@pytest.mark.parametrize("layout", ["Online Retail", "Online Retail II", "canonical", "Shopify orders",
                                    "WooCommerce orders", "generic"])
def test_each_known_layout_gives_the_same_customers_orders_and_net_revenue(uci_clean, layout):
    returns = int(uci_clean.lines["is_return"].sum())
    assert returns > 5, "the sample must exercise refunds"
    rendered = render_layout(uci_clean.lines, layout, "Europe/London")
    assert rendered.attrs.get("dropped_returns", []) == []
    raw = read_table(_csv(rendered), f"{layout}.csv")
    mapping = propose_mapping(list(raw.columns))
    assert mapping.layout == layout  # recognised by its header, without asking
    mapped = apply_mapping(raw, mapping, "Europe/London", today=FUTURE)
    assert mapped.report.rows_refused == 0 and mapped.report.rows_read == len(rendered)
    cleaned = analytics.clean_transactions(mapped.transactions)
    customers, orders, net = _facts(cleaned)
    expected_customers, expected_orders, expected_net = _facts(uci_clean)
    if layout in ("Shopify orders",):  # customers are identified by e-mail there
        net.index = net.index.str.removeprefix("c").str.removesuffix("@example.com")
        customers = set(net.index)
    assert customers == expected_customers
    assert orders == expected_orders
    assert cleaned.lines["revenue"].sum() == pytest.approx(uci_clean.lines["revenue"].sum(), rel=1e-9)
    pd.testing.assert_series_equal(net.sort_index(), expected_net, check_names=False, rtol=1e-9)


def test_shopify_refund_nets_on_cancellation_date_else_order_date():
    header = ["Name", "Email", "Financial Status", "Created at", "Lineitem quantity", "Lineitem name",
              "Lineitem price", "Lineitem sku", "Billing Country", "Refunded Amount", "Cancelled at", "Currency"]
    rows = [
        ["#1001", "A@x.com", "partially_refunded", "2024-03-01 10:00:00 +0000", "2", "Mug", "5.00", "MUG",
         "United Kingdom", "4.00", "2024-03-05 09:00:00 +0000", "GBP"],
        ["#1001", "", "", "2024-03-01 10:00:00 +0000", "1", "Tea", "3.50", "TEA", "", "", "", ""],
        ["#1002", "b@x.com", "refunded", "2024-03-02 11:00:00 +0000", "1", "Pot", "20.00", "POT", "France",
         "20.00", "", "GBP"],
        ["#1003", "c@x.com", "voided", "2024-03-03 12:00:00 +0000", "1", "Pot", "20.00", "POT", "France", "0", "",
         "GBP"],
    ]
    raw = read_table(_csv(pd.DataFrame(rows, columns=header)), "orders_export.csv")
    mapping = propose_mapping(header)
    assert mapping.layout == "Shopify orders"
    assert "cancellation date ('Cancelled at')" in mapping.returns_rule()
    mapped = apply_mapping(raw, mapping, "Europe/London", today=FUTURE)
    lines = mapped.transactions
    refunds = lines[lines["stock_code"] == "REFUND"].set_index("invoice")
    # 1001: 4.00 on its cancellation day; 1002: 20.00 on its order day (no Cancelled at)
    assert refunds.loc["C#1001", "unit_price"] == 4.0 and refunds.loc["C#1001", "quantity"] == -1
    assert refunds.loc["C#1001", "invoice_date"] == pd.Timestamp("2024-03-05 09:00")
    assert refunds.loc["C#1002", "invoice_date"] == pd.Timestamp("2024-03-02 11:00")
    assert mapped.report.rows_excluded_status == 1  # voided: never a sale
    # the tea line (order-level cells empty) belongs to a@x.com, from the order's first row
    assert set(lines["customer_id"].astype(str)) == {"a@x.com", "b@x.com"}
    cleaned = analytics.clean_transactions(lines)
    assert cleaned.lines["revenue"].sum() == pytest.approx(2 * 5 + 3.5 + 20 - 4 - 20)
    assert cleaned.report.orders == 2


def test_utc_log_for_a_new_york_shop_puts_late_evening_orders_on_the_local_day():
    frame = pd.DataFrame({"order_id": ["1", "2"], "customer_id": ["7", "7"],
                          "order_date": ["2024-01-10T03:30:00Z", "2024-01-10T15:00:00Z"],
                          "amount": ["10", "20"]})
    mapped = load_mapped(_csv(frame), filename="utc.csv", time_zone="America/New_York")
    days = mapped.transactions["invoice_date"].dt.strftime("%Y-%m-%d %H:%M").tolist()
    assert days == ["2024-01-09 22:30", "2024-01-10 10:00"]  # 03:30 UTC is 22:30 the evening before
    assert mapped.report.dates_with_offset == 2
    with pytest.raises(analytics.LoadError, match="time zone"):
        load_mapped(_csv(frame), filename="utc.csv")


def test_proposed_mapping_corrected_by_the_admin():
    frame = pd.DataFrame({"Bestellung": ["A1", "A1", "A2"], "Kunde": ["k1", "k1", "k2"],
                          "Zeitpunkt": ["2024-05-01 09:00", "2024-05-01 09:00", "2024-05-02 10:00"],
                          "Subtotal": ["9.00", "1.00", "5.00"], "Total": ["10.80", "1.20", "6.00"],
                          "Artikel": ["X", "Y", "X"]})
    raw = read_table(_csv(frame), "de.csv")
    proposal = propose_mapping(list(raw.columns))
    assert proposal.layout == "custom"
    assert proposal.fields["line_amount"] == "Total"
    assert proposal.missing() == ["order id", "order date-time", "customer id or customer e-mail"]
    with pytest.raises(analytics.LoadError) as refused:
        apply_mapping(raw, proposal, "Europe/Berlin")
    assert "no order id, no order date-time, no customer id or customer e-mail" in str(refused.value)
    corrected = dataclasses.replace(proposal, fields={**proposal.fields, "order_id": "Bestellung",
                                                      "customer_id": "Kunde", "order_date": "Zeitpunkt",
                                                      "line_amount": "Subtotal", "product_code": "Artikel"})
    mapped = apply_mapping(raw, corrected, "Europe/Berlin", today=FUTURE)
    cleaned = analytics.clean_transactions(mapped.transactions)
    assert cleaned.lines["revenue"].sum() == pytest.approx(15.0)  # the subtotals, not the totals
    assert cleaned.report.orders == 2 and cleaned.report.customers == 2
    # round trip through JSON, as saved per tenant and given to the CLI
    again = ColumnMapping.from_json(json.dumps(corrected.to_json()))
    assert again.fields == corrected.fields


def test_bad_rows_are_refused_with_row_numbers_and_the_rest_imported():
    frame = pd.DataFrame({"order_id": ["1", "2", "", "4", "5"], "customer_id": ["a", "b", "c", "", "e"],
                          "order_date": ["2024-01-01", "yesterday", "2024-01-03", "2024-01-04", "2099-01-01"],
                          "amount": ["10", "20", "30", "40", "x50"]})
    mapped = load_mapped(_csv(frame), filename="bad.csv", time_zone="Europe/London")
    report = mapped.report
    assert report.rows_read == 5 and report.rows_refused == 3 and report.rows_mapped == 2
    assert [(e["row"], e["line"], e["reason"]) for e in report.refused_examples] == [
        (2, 3, "not a date"), (3, 4, "no order id"), (5, 6, "amount is not a number")]
    assert report.customers_without_id == 1
    assert "Every time is midnight" in report.time_zone_doubts[0]


def test_future_dates_are_refused_and_counted():
    frame = pd.DataFrame({"order_id": ["1", "2"], "customer_id": ["a", "b"],
                          "order_date": ["2024-01-01 10:00", "2024-06-01 10:00"], "amount": ["1", "2"]})
    mapped = apply_mapping(read_table(_csv(frame), "f.csv"), propose_mapping(list(frame.columns)),
                           "Europe/London", today=pd.Timestamp("2024-03-01"))
    assert mapped.report.future_dates == 1 and mapped.report.refused_by_reason == {"date in the future": 1}


def test_a_mapping_with_no_valid_line_refuses_the_file():
    frame = pd.DataFrame({"order_id": ["1", "2"], "customer_id": ["a", "b"], "order_date": ["soon", "later"],
                          "amount": ["1", "2"]})
    with pytest.raises(analytics.LoadError, match=r"no valid line: 2 rows read, 2 refused \(not a date: 2\)"):
        load_mapped(_csv(frame), filename="f.csv", time_zone="Europe/London")


def test_currency_doubts_name_both_currencies():
    frame = pd.DataFrame({"order_id": ["1", "2"], "customer_id": ["a", "b"], "order_date": ["2024-01-01"] * 2,
                          "amount": ["1", "2"], "currency": ["USD", "EUR"]})
    mapping = propose_mapping(list(frame.columns))
    mapping = dataclasses.replace(mapping, fields={**mapping.fields, "currency": "currency"})
    mapped = apply_mapping(read_table(_csv(frame), "f.csv"), mapping, "Europe/London", currency="GBP",
                           today=FUTURE)
    doubts = " ".join(mapped.report.currency_doubts)
    assert "mixes currencies" in doubts and "tenant's is GBP" in doubts


def test_fingerprint_ignores_order_case_and_punctuation():
    assert header_fingerprint(["Order ID", "Amount"]) == header_fingerprint(["amount", "order_id"])
    assert header_fingerprint(["Order ID", "Amount"]) != header_fingerprint(["Order ID", "Total"])


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_shopify_layout_read_from_xlsx_and_parquet(uci_clean, fmt, tmp_path):
    rendered = render_layout(uci_clean.lines.head(40), "Shopify orders", "Europe/London")
    path = tmp_path / f"orders.{fmt}"
    if fmt == "xlsx":
        rendered.to_excel(path, index=False)
    else:
        rendered.astype(str).replace({"None": None, "nan": None}).to_parquet(path)
    mapped = load_mapped(path, time_zone="Europe/London")
    assert mapped.report.rows_refused == 0
    assert len(mapped.transactions) >= 40 - int(uci_clean.lines.head(40)["is_return"].sum())


def test_mapping_json_names_unknown_fields():
    with pytest.raises(analytics.LoadError, match="Unknown mapping field 'order'"):
        ColumnMapping.from_json({"fields": {"order": "x"}})


def test_known_layouts_map_only_their_own_columns():
    for layout in LAYOUTS.values():
        assert layout.signature <= set(layout.columns.values())
        assert propose_mapping(list(layout.columns.values())).layout == layout.name
    assert np.all([c in analytics.layouts.FIELDS for layout in LAYOUTS.values() for c in layout.columns])
