"""portal.data.storage and portal.data.imports on SQLite and PostgreSQL: payload round trip,
versions, atomic switch, failures recorded, tenant scoping, size limit."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from portal_testlib import build_app, make_settings
from sqlalchemy import select

from portal.data import storage
from portal.data.imports import import_dataset
from portal.platform.models import AuditEntry, Dataset, DatasetPayload, Tenant
from portal.platform.tenancy import system_context


@pytest.fixture(params=["sqlite", "postgresql"])
def store_app(request, tmp_path):
    if request.param == "postgresql":
        settings = make_settings(tmp_path, database_url=request.getfixturevalue("pg_url"))
    else:
        settings = make_settings(tmp_path)
    app = build_app(settings)
    with app.app_context():
        yield app


def _db():
    from portal.platform.db import session_scope

    return session_scope()


def test_payload_round_trip_in_chunks_keeps_the_canonical_frame(store_app, alpha_csv):
    import analytics

    frame = analytics.load_transactions(alpha_csv)
    data = storage.frame_to_parquet(frame)
    outcome = import_dataset("alpha", alpha_csv)
    assert outcome.ok and outcome.version == 1 and outcome.rows_in == len(frame)
    with _db() as session:
        storage.write_payload(session, outcome.dataset_id, data, chunk_bytes=max(1, len(data) // 5))
    with _db() as session:
        chunks = session.scalars(select(DatasetPayload.chunk_no).where(
            DatasetPayload.dataset_id == outcome.dataset_id)).all()
    assert len(chunks) >= 5
    loaded = storage.load_transactions(system_context("alpha"))
    pd.testing.assert_frame_equal(loaded, frame, check_categorical=False)
    assert dict(loaded.dtypes.astype(str)) == dict(frame.dtypes.astype(str))
    assert loaded.attrs["source"]["version"] == 1


def test_import_switches_versions_and_records_the_report(store_app, alpha_csv, beta_csv):
    first = import_dataset("alpha", alpha_csv)
    second = import_dataset("alpha", beta_csv, filename="second.csv")
    assert (first.version, second.version) == (1, 2)
    ctx = system_context("alpha")
    assert ctx.dataset_id == second.dataset_id
    info = storage.get_dataset(ctx)
    assert info.filename == "second.csv" and info.status == "ready" and info.models_status == "pending"
    assert info.cleaning_report["rows_in"] == second.rows_in
    assert info.customers == second.report["customers"] and info.payload_bytes > 0
    assert [d.version for d in storage.list_datasets(ctx)] == [2, 1]
    with _db() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.tenant_id == ctx.tenant_id)).all()
    assert actions.count("import") == 2


def test_failed_import_keeps_the_previous_version_and_records_the_error(store_app, alpha_csv, bad_csv):
    good = import_dataset("alpha", alpha_csv)
    bad = import_dataset("alpha", bad_csv)
    assert not bad.ok and bad.version == 2
    assert "Column 'Quantity', row 2" in bad.error and "'six'" in bad.error
    ctx = system_context("alpha")
    assert ctx.dataset_id == good.dataset_id
    failed = storage.get_dataset_by_version(ctx, 2)
    assert failed.status == "failed" and failed.error == bad.error
    with _db() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "import_failed")).one()
        assert audit.detail["error"] == bad.error and audit.tenant_id == ctx.tenant_id
        assert session.scalars(select(DatasetPayload).where(DatasetPayload.dataset_id == failed.id)).first() is None
    assert len(storage.load_transactions(ctx)) == good.rows_in


def test_datasets_are_scoped_to_the_tenant(store_app, alpha_csv, beta_csv):
    a = import_dataset("alpha", alpha_csv)
    b = import_dataset("beta", beta_csv)
    alpha = system_context("alpha")
    with pytest.raises(storage.DatasetNotFound):
        storage.load_transactions(alpha, b.dataset_id)
    with pytest.raises(storage.DatasetNotFound):
        storage.get_dataset(alpha, b.dataset_id)
    assert storage.get_dataset_by_version(alpha, 1).id == a.dataset_id
    assert {d.id for d in storage.list_datasets(alpha)} == {a.dataset_id}


def test_upload_over_the_limit_is_refused_before_reading(store_app, tmp_path):
    from dataclasses import replace

    from flask import current_app

    services = current_app.extensions["portal"]
    services.settings = replace(services.settings, max_upload_mb=1)
    big = tmp_path / "big.csv"
    with open(big, "wb") as handle:
        handle.truncate(2 * 1024 * 1024)  # sparse: 2 MB of nothing, never read

    class Unreadable(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the content must not be read")

    outcome = import_dataset("alpha", big)
    assert not outcome.ok and "largest accepted upload is 1 MB" in outcome.error
    stream = Unreadable(b"x" * (2 * 1024 * 1024))
    assert "1 MB" in import_dataset("alpha", stream, filename="stream.csv").error
    with _db() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == "alpha")).one()
        assert tenant.current_dataset_id is None
        assert {d.status for d in session.scalars(select(Dataset))} == {"failed"}


def test_progress_is_reported_in_order(store_app, alpha_csv):
    seen = []
    outcome = import_dataset("alpha", alpha_csv, progress=lambda f, m: seen.append((f, m)))
    assert outcome.ok
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] < 0.1
    assert any("Storing" in m for _, m in seen) and any("Stored version 1" in m for _, m in seen)
