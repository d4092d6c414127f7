"""Campaign exports and the customer search on a hand-made shop export with e-mails.

Four orders of three customers, by hand (net revenue: Ann 30 + 20 = 50, Bob 12.50, Cy 8):
alpha keeps contacts (its customer-list CSVs carry e-mail and name), beta does not (its CSVs
say nothing of them, and a search by e-mail still finds the customer under the hashed id).
"""
from __future__ import annotations

import io

import pandas as pd
import pytest
from dashboard_testlib import as_user, components_by_id, page_module
from portal_testlib import build_app, logged_in, make_settings

from analytics.mapping import ColumnMapping
from portal.dashboard.customer_lists import EXPORTS, grid_rows
from portal.dashboard.view import View
from portal.data import privacy, tenant_settings
from portal.data.imports import import_dataset
from portal.platform.tenancy import current_context, system_context

ORDERS = ("order,when,email,name,amount,sku\n"
          "A1,2024-01-05 10:00,ann@example.com,Ann Smith,30.00,P1\n"
          "A2,2024-01-20 11:00,bob@example.com,Bob Jones,12.50,P2\n"
          "A3,2024-02-02 09:00,Ann@Example.com,Ann Smith,20.00,P1\n"
          "A4,2024-02-10 15:00,cy@example.com,,8.00,P3\n").encode()
MAPPING = ColumnMapping.from_json({"layout": "hand", "fields": {
    "order_id": "order", "order_date": "when", "email": "email", "name": "name", "line_amount": "amount",
    "product_code": "sku"}})


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    app = build_app(make_settings(tmp_path_factory.mktemp("campaign")))
    with app.app_context():
        tenant_settings.update_settings(system_context("alpha"), {"store_personal_data": True}, refit=False)
        for slug in ("alpha", "beta"):
            assert import_dataset(slug, ORDERS, filename="orders.csv", mapping=MAPPING).ok
        keys = {name: privacy.search_key(system_context("alpha"), f"{name}@example.com") for name in ("ann", "bob", "cy")}
        # the salt is per tenant: beta stores the same e-mails under other ids
        keys["beta bob"] = privacy.search_key(system_context("beta"), "bob@example.com")
    assert keys["beta bob"] != keys["bob"]
    return app, keys


def _csv(client, query: str = "") -> tuple[str, pd.DataFrame]:
    response = client.get("/export/customers.csv?" + query)
    assert response.status_code == 200, response.data[:300]
    text = response.get_data(as_text=True)
    return text.splitlines()[0], pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def test_managers_export_contacts_where_kept_and_never_an_empty_column(shop):
    app, keys = shop
    header, alpha = _csv(logged_in(app, "manager@alpha.test"))
    assert header.startswith("Customer,E-mail,Name,Segment,Country,Net revenue (£)")
    assert alpha[["Customer", "E-mail", "Name", "Net revenue (£)"]].values.tolist() == [
        [keys["ann"], "Ann@Example.com", "Ann Smith", "50.0"],  # one customer, the e-mail as last written
        [keys["bob"], "bob@example.com", "Bob Jones", "12.5"],
        [keys["cy"], "cy@example.com", "", "8.0"]]
    raw_header, raw = _csv(logged_in(app, "admin@alpha.test"), "raw=1&q=bob")
    assert raw_header.startswith("customer_id,email,name,segment") and raw["email"].tolist() == ["bob@example.com"]
    header, beta = _csv(logged_in(app, "manager@beta.test"))
    assert header.startswith("Customer,Segment,Country,Net revenue (£)")  # not kept: nothing about contacts
    assert "example.com" not in beta.to_csv() and beta["Net revenue (£)"].tolist() == ["50.0", "12.5", "8.0"]


def test_viewers_never_get_contacts(shop):
    app, _ = shop
    assert logged_in(app, "viewer@alpha.test").get("/export/customers.csv").status_code == 403
    for email in ("viewer@alpha.test", "manager@alpha.test"):
        with as_user(app, email):
            rows = grid_rows(EXPORTS["customers"], View(current_context(), ""), {"startRow": 0, "endRow": 10})
        assert len(rows["rowData"]) == 3 and not any({"email", "name"} & set(r) for r in rows["rowData"])


def test_search_by_e_mail_finds_hashed_customers_and_by_name_where_kept(shop):
    app, keys = shop
    alpha, beta = logged_in(app, "manager@alpha.test"), logged_in(app, "manager@beta.test")
    assert _csv(beta, "raw=1&q=%20Bob@Example.COM")[1]["customer_id"].tolist() == [keys["beta bob"]]  # hashed only
    assert _csv(beta, "raw=1&q=Smith")[1].empty  # beta keeps no names
    assert _csv(alpha, "raw=1&q=smith")[1]["customer_id"].tolist() == [keys["ann"]]
    assert _csv(alpha, "raw=1&q=JONES")[1]["email"].tolist() == ["bob@example.com"]
    assert _csv(alpha, "raw=1&q=example.com")[1]["customer_id"].tolist() == [keys["ann"], keys["bob"], keys["cy"]]
    assert _csv(alpha, "raw=1&q=100%25")[1].empty  # LIKE wildcards are text
    with as_user(app, "viewer@beta.test"):
        page = page_module("customers").layout(q="ann@example.com")
    exact = components_by_id(page)["customers-exact"]
    assert exact.href == f"/profile?customer={privacy.search_key(system_context('beta'), 'ann@example.com')}" and "Customer e-mail “ann@example.com”" in str(page)


def test_viewers_cannot_search_inside_kept_contacts(shop):
    """A viewer's search is the id or the exact e-mail (hashed): never text inside kept e-mails
    or names, which would read them back a character at a time."""
    from portal.data.contacts import search_ids

    app, keys = shop
    with as_user(app, "manager@alpha.test"):
        assert search_ids(current_context(), "smith") == {keys["ann"]}
        assert keys["bob"] in search_ids(current_context(), "bob@")
    with as_user(app, "viewer@alpha.test"):
        assert search_ids(current_context(), "smith") == set()
        assert search_ids(current_context(), "bob@") == {privacy.search_key(system_context("alpha"), "bob@")}
        assert keys["bob"] not in search_ids(current_context(), "bob@")
        assert search_ids(current_context(), "Bob@Example.com") == {keys["bob"]}
        page = page_module("customers").layout(q="smith")
    assert "Ann" not in str(page) and keys["ann"] not in str(page)


def test_erasure_and_turning_contacts_off_remove_them_from_exports(shop):
    app, keys = shop
    with app.app_context():
        privacy.erase_customer(system_context("alpha"), "bob@example.com")
    manager = logged_in(app, "manager@alpha.test")
    _, alpha = _csv(manager)
    assert alpha["Customer"].tolist() == [keys["ann"], keys["cy"]] and "bob" not in alpha.to_csv()
    with as_user(app, "admin@alpha.test"):
        settings = str(page_module("settings").layout())
    assert "Campaign exports need contacts kept" in settings
    with app.app_context():
        change = tenant_settings.update_settings(system_context("alpha"), {"store_personal_data": False}, refit=False)
    assert "2 stored e-mails and names were deleted" in change.message
    header, alpha = _csv(manager)
    assert header.startswith("Customer,Segment,") and "example.com" not in alpha.to_csv()
    with app.app_context():  # kept again, a file without names: an e-mail column and no empty "Name"
        tenant_settings.update_settings(system_context("alpha"), {"store_personal_data": True}, refit=False)
        no_names = ColumnMapping.from_json({"layout": "hand", "fields": {
            "order_id": "order", "order_date": "when", "email": "email", "line_amount": "amount"}})
        assert import_dataset("alpha", ORDERS, filename="orders.csv", mapping=no_names).ok
    header, alpha = _csv(manager)
    assert header.startswith("Customer,E-mail,Segment,")
    assert alpha["E-mail"].tolist() == ["Ann@Example.com", "bob@example.com", "cy@example.com"]
