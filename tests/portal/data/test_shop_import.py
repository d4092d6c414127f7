"""Shops' own exports through the portal: saved mappings, append, atomic failures, time zones,
tenant settings, personal data (hashing, erasure, export, deletion), pruning."""
from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
import pytest
from portal_testlib import build_app, make_settings, small_log
from sqlalchemy import select

import analytics
from analytics.layouts import render_layout
from analytics.mapping import ColumnMapping
from portal.data import mappings, privacy, storage, tenant_settings
from portal.data.imports import import_dataset
from portal.platform.db import session_scope
from portal.platform.models import AuditEntry, CustomerContact, Dataset, Tenant
from portal.platform.tenancy import context_for_user, system_context


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue()


@pytest.fixture
def shop_app(tmp_path):
    app = build_app(make_settings(tmp_path))
    with app.app_context():
        yield app


@pytest.fixture(scope="module")
def clean_log():
    raw = small_log(40, 3, seed=5)
    return analytics.clean_transactions(analytics.load_transactions(_csv(raw), filename="uci.csv"))


def _net(ctx) -> float:
    return float(analytics.clean_transactions(storage.load_transactions(ctx)).lines["revenue"].sum())


def test_shopify_export_imported_with_hashed_customer_ids_and_its_quality_report(shop_app, clean_log):
    shopify = _csv(render_layout(clean_log.lines, "Shopify orders", "Europe/London"))
    outcome = import_dataset("alpha", shopify, filename="orders_export_1.csv")
    assert outcome.ok, outcome.error
    ctx = system_context("alpha")
    stored = storage.load_transactions(ctx)
    ids = set(stored["customer_id"].dropna().astype(str))
    assert ids and all(i.startswith("h") and "@" not in i for i in ids)  # no e-mail stored
    some_customer = str(clean_log.lines["customer_id"].dropna().iloc[0])
    assert privacy.search_key(ctx, f"C{some_customer}@Example.com ") in ids  # the search hashes the same way
    assert _net(ctx) == pytest.approx(float(clean_log.lines["revenue"].sum()))
    with session_scope() as session:
        assert session.scalars(select(CustomerContact)).all() == []  # not opted in
    info = storage.get_dataset(ctx)
    with session_scope() as session:
        quality = session.get(Dataset, info.id).quality_report
    assert quality["layout"] == "Shopify orders" and quality["rows_read"] == outcome.quality["rows_read"]
    assert "Cancelled at" in quality["returns_rule"] and quality["mapping_origin"] == "known layout"


def test_a_saved_mapping_is_reused_for_the_same_header(shop_app):
    header = ["Beleg", "Kunde", "Zeit", "Netto", "Brutto"]
    first = pd.DataFrame([["A1", "k1", "2024-05-01 09:00", "10", "12"], ["A2", "k2", "2024-05-02 09:00", "5", "6"]],
                         columns=header)
    ctx = system_context("alpha")
    proposal = mappings.preview(ctx, _csv(first), "m.csv")
    assert proposal["missing"] == ["order id", "order date-time", "unit price or line amount",
                                   "customer id or customer e-mail"]
    corrected = ColumnMapping.from_json({"layout": "custom", "fields": {
        "order_id": "Beleg", "customer_id": "Kunde", "order_date": "Zeit", "line_amount": "Netto"}})
    assert mappings.save_mapping(ctx, header, corrected) == proposal["fingerprint"]
    again = mappings.preview(ctx, _csv(first), "m.csv")
    assert again["origin"] == "saved" and again["rows"][0]["invoice"] == "A1"
    assert again["rows"][0]["invoice_date"] == "2024-05-01 09:00" and again["rows"][0]["unit_price"] == 10.0
    second = pd.DataFrame([["B1", "k1", "2024-06-01 10:00", "7", "8.4"]], columns=header)
    outcome = import_dataset("alpha", _csv(second[["Brutto", "Netto", "Zeit", "Kunde", "Beleg"]]), filename="n.csv")
    assert outcome.ok, outcome.error
    assert outcome.quality["mapping_origin"] == "saved"
    assert _net(system_context("alpha")) == pytest.approx(7.0)  # Netto, as corrected, not Brutto


def test_append_with_overlapping_lines_counts_duplicates_once(shop_app, clean_log):
    generic = render_layout(clean_log.lines, "generic")
    cut = len(generic) * 2 // 3
    older, newer = generic.iloc[:cut], generic.iloc[cut // 2:]  # rows cut//2 .. cut-1 overlap
    assert import_dataset("alpha", _csv(older), filename="jan.csv").ok
    appended = import_dataset("alpha", _csv(newer), filename="feb.csv", mode="append")
    assert appended.ok, appended.error
    overlap = cut - cut // 2
    assert appended.quality["duplicates_of_loaded"] == overlap
    assert f"{overlap:,} lines were already loaded" in appended.message
    ctx = system_context("alpha")
    expected = float(generic["amount"].sum())
    assert _net(ctx) == pytest.approx(expected)
    whole = analytics.clean_transactions(storage.load_transactions(ctx))
    assert whole.report.orders == len(generic) - int(generic["order_id"].str.startswith("C").sum())
    info = storage.get_dataset(ctx)
    assert info.version == 2 and info.rows_in == len(generic)


def test_a_failed_append_leaves_the_previous_version_in_use(shop_app, clean_log, monkeypatch):
    generic = render_layout(clean_log.lines, "generic")
    first = import_dataset("alpha", _csv(generic.iloc[:20]), filename="base.csv")
    ctx = system_context("alpha")
    before = storage.load_transactions(ctx)
    # 1. a file whose mapping gives no valid line
    bad = generic.iloc[20:25].assign(order_date="not a date")
    refused = import_dataset("alpha", _csv(bad), filename="bad.csv", mode="append")
    assert not refused.ok and "no valid line" in refused.error and "not a date: 5" in refused.error
    # 2. the database fails while the new version is being stored
    from portal.data import imports

    def broken(session, dataset_id, data, chunk_bytes=0):
        storage.write_payload(session, dataset_id, data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(imports, "write_payload", broken)
    failed = import_dataset("alpha", _csv(generic.iloc[20:]), filename="more.csv", mode="append")
    assert not failed.ok and "disk full" in failed.error
    after_ctx = system_context("alpha")
    assert after_ctx.dataset_id == first.dataset_id
    pd.testing.assert_frame_equal(storage.load_transactions(after_ctx), before)
    assert [d.status for d in storage.list_datasets(after_ctx)] == ["failed", "failed", "ready"]


def test_unmappable_columns_are_named_and_nothing_is_lost(shop_app, alpha_csv):
    first = import_dataset("alpha", alpha_csv)
    outcome = import_dataset("alpha", _csv(pd.DataFrame({"foo": [1], "bar": [2]})), filename="x.csv")
    assert not outcome.ok
    assert "no order id, no order date-time, no unit price or line amount, no customer id or customer e-mail" \
        in outcome.error and "foo, bar" in outcome.error
    assert system_context("alpha").dataset_id == first.dataset_id


def test_utc_log_of_a_new_york_shop_through_the_portal_and_a_time_zone_change(shop_app):
    ctx = system_context("alpha")
    tenant_settings.update_settings(ctx, {"time_zone": "America/New_York", "currency": "usd"}, refit=False)
    ctx = system_context("alpha")
    assert (ctx.time_zone, ctx.currency) == ("America/New_York", "USD")
    log = pd.DataFrame({"order_id": ["1", "2", "3"], "customer_id": ["a", "a", "b"],
                        "order_date": ["2024-01-10T03:30:00Z", "2024-01-10T15:00:00Z", "2024-01-11T04:59:00Z"],
                        "amount": ["10", "20", "30"]})
    outcome = import_dataset(ctx, _csv(log), filename="utc.csv")
    assert outcome.ok, outcome.error
    days = storage.load_transactions(system_context("alpha"))["invoice_date"].dt.strftime("%Y-%m-%d %H:%M")
    assert days.tolist() == ["2024-01-09 22:30", "2024-01-10 10:00", "2024-01-10 23:59"]
    # the shop moves to London: every result is re-derived as a new version, never mixed
    change = tenant_settings.update_settings(system_context("alpha"), {"time_zone": "Europe/London"}, refit=False)
    assert change.rezoned_version == 2
    ctx = system_context("alpha")
    info = storage.get_dataset(ctx)
    assert info.version == 2 and info.source["time_zone"] == "Europe/London"
    days = storage.load_transactions(ctx)["invoice_date"].dt.strftime("%Y-%m-%d %H:%M")
    assert days.tolist() == ["2024-01-10 03:30", "2024-01-10 15:00", "2024-01-11 04:59"]


def test_naive_times_stay_when_the_zone_changes_and_bad_settings_are_refused(shop_app, alpha_csv):
    import_dataset("alpha", alpha_csv)
    ctx = system_context("alpha")
    before = storage.load_transactions(ctx)
    change = tenant_settings.update_settings(ctx, {"time_zone": "Asia/Tokyo"}, refit=False)
    after = storage.load_transactions(system_context("alpha"))
    assert change.rezoned_version == 2
    pd.testing.assert_series_equal(after["invoice_date"], before["invoice_date"])  # naive = shop-local as written
    for bad, words in [({"currency": "XX"}, "ISO 4217"), ({"time_zone": "Mars/Base"}, "unknown time zone"),
                       ({"week_start": 7}, "from 0 to 6"), ({"keep_versions": 0}, "from 1 to 100"),
                       ({"store_personal_data": "yes"}, "true or false")]:
        with pytest.raises(tenant_settings.SettingsError, match=words):
            tenant_settings.update_settings(ctx, bad, refit=False)
    with session_scope() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action == "settings_changed")).all()
    assert len(actions) == 1


def test_keep_last_n_versions(shop_app, alpha_csv, beta_csv):
    ctx = system_context("alpha")
    tenant_settings.update_settings(ctx, {"keep_versions": 2}, refit=False)
    for path in (alpha_csv, beta_csv, alpha_csv):
        outcome = import_dataset("alpha", path)
    assert outcome.pruned == [1]
    assert [d.version for d in storage.list_datasets(system_context("alpha"))] == [3, 2]


def test_erase_one_customer_everywhere_and_the_page_promise(shop_app, clean_log):
    ctx = system_context("alpha")
    tenant_settings.update_settings(ctx, {"store_personal_data": True}, refit=False)
    shopify = render_layout(clean_log.lines, "Shopify orders", "Europe/London")
    assert import_dataset("alpha", _csv(shopify.iloc[: len(shopify) // 2]), filename="a.csv").ok
    assert import_dataset("alpha", _csv(shopify), filename="b.csv").ok
    email = shopify["Email"].dropna().iloc[0]
    key = privacy.search_key(ctx, email)
    with session_scope() as session:
        contact = session.get(CustomerContact, (ctx.tenant_id, key))
        assert contact is not None and contact.email == email  # opted in: stored under the hash
    from portal.platform.accounts import record

    record("export", tenant_id=ctx.tenant_id, detail={"customer": key})
    lines_of_customer = sum(
        int((storage.load_transactions(ctx, d.id)["customer_id"].astype(str) == key).sum())
        for d in storage.list_datasets(ctx))
    erasure = privacy.erase_customer(ctx, email)
    assert erasure.lines_removed == lines_of_customer and erasure.versions_rewritten == 2
    assert "cannot be recalled" in erasure.message
    ctx = system_context("alpha")
    for dataset in storage.list_datasets(ctx):
        assert key not in set(storage.load_transactions(ctx, dataset.id)["customer_id"].astype(str))
    assert storage.get_dataset(ctx).version == 3  # the current data is a new version: no cache holds it
    with session_scope() as session:
        assert session.get(CustomerContact, (ctx.tenant_id, key)) is None
        entries = session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == ctx.tenant_id)).all()
    text = json.dumps([e.detail for e in entries])
    assert key not in text and email not in text
    erased = [e for e in entries if e.action == "customer_erased"]
    assert erased and erased[0].detail["lines_removed"] == lines_of_customer
    with pytest.raises(privacy.PrivacyError, match="No stored data"):
        privacy.erase_customer(ctx, email)


def test_export_and_delete_the_whole_tenant(shop_app, alpha_csv):
    import_dataset("alpha", alpha_csv)
    ctx = system_context("alpha")
    archive = zipfile.ZipFile(io.BytesIO(privacy.export_tenant(ctx)))
    names = set(archive.namelist())
    assert {"tenant.json", "users.json", "audit_log.json", "versions/1.json", "versions/1.parquet"} <= names
    assert "password" not in archive.read("users.json").decode()
    exported = pd.read_parquet(io.BytesIO(archive.read("versions/1.parquet")))
    assert len(exported) == storage.get_dataset(ctx).rows_in
    with pytest.raises(privacy.PrivacyError, match="Type the tenant's slug"):
        privacy.delete_tenant(ctx, "beta")
    counts = privacy.delete_tenant(ctx, "alpha")
    assert counts == {"users": 3, "versions": 1}
    with session_scope() as session:
        assert session.scalars(select(Tenant).where(Tenant.slug == "alpha")).one_or_none() is None
        assert session.scalars(select(Dataset)).all() == []
        deleted = session.scalars(select(AuditEntry).where(AuditEntry.action == "tenant_deleted")).one()
    assert deleted.tenant_id is None and deleted.detail["tenant_slug"] == "alpha"
    with pytest.raises(LookupError):
        system_context("alpha")
    assert system_context("beta").tenant_slug == "beta"


def test_context_carries_the_tenant_currency(shop_app):
    ctx = system_context("beta")
    tenant_settings.update_settings(ctx, {"currency": "EUR"}, refit=False)
    with session_scope() as session:
        from portal.platform.models import User

        user = session.scalars(select(User).where(User.email == "viewer@beta.test")).one()
        user_id = user.id
    assert context_for_user(user_id).currency == "EUR"
