"""Jobs under faults (issue 14, item 9), on the real databases and a real (absent) Redis:

* a new upload becomes current only once usable: after its models are fitted, or when
  fitting failed (explicitly descriptive-only, with the reason); a tenant's FIRST upload
  becomes current as soon as its descriptive results are stored;
* a re-delivered import job (same job key) does not import the file twice, and marks
  the version its lost run left ``importing`` as failed;
* a dead job (no heartbeat for a minute) is shown as stopped, with Retry, on the Data page;
* one import or fit per tenant at a time: a second job of the same tenant is refused
  at once (and queued again by Celery), another tenant's job runs meanwhile;
* a host whose Redis does not answer answers a refit and an upload at once with a
  clear message (not a bare 500 after 19 s).
"""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from portal_testlib import build_app, dash_headers, dash_post, free_port, logged_in, make_settings

from portal.dashboard.components.datasets import dataset_rows, job_status
from portal.data import jobs, storage
from portal.data.imports import import_dataset
from portal.data.tenant_locks import TenantBusy, tenant_job_lock
from portal.platform.db import session_scope
from portal.platform.models import AuditEntry, Dataset, utcnow
from portal.platform.tenancy import system_context


@pytest.fixture
def fault_app(tmp_path, alpha_csv, beta_csv):
    settings = make_settings(tmp_path)
    app = build_app(settings, logs={"alpha": alpha_csv})
    with app.app_context():
        yield app, settings


def _row(dataset_id: int) -> Dataset:
    with session_scope() as session:
        return session.get(Dataset, dataset_id)


def test_an_upload_becomes_current_once_its_models_are_fitted(fault_app, beta_csv):
    previous = system_context("alpha").dataset_id
    outcome = import_dataset("alpha", beta_csv, activate=False)
    assert outcome.ok and outcome.version == 2
    assert system_context("alpha").dataset_id == previous  # dashboards stay on version 1
    state = job_status(storage.list_datasets(system_context("alpha")), previous, 10)
    assert state is not None and "becomes the current version when its models are ready" in state[0]
    assert jobs.fit_dataset_models(outcome.dataset_id) == "ready"
    assert system_context("alpha").dataset_id == outcome.dataset_id
    # a refit of the OLD version switches nothing back
    assert jobs.fit_dataset_models(previous) == "ready"
    assert system_context("alpha").dataset_id == outcome.dataset_id
    # a re-delivered job whose models were fitted since it was sent does not fit again
    stamp = _row(outcome.dataset_id).models_updated_at
    assert jobs.fit_dataset_models(outcome.dataset_id, fitted_since=stamp - timedelta(seconds=1)) == "ready"
    assert _row(outcome.dataset_id).models_updated_at == stamp


def test_a_first_upload_is_current_once_its_descriptive_results_are_stored(fault_app, beta_csv):
    from portal.data import results
    from portal.data.cache import MISSING

    assert system_context("beta").dataset_id is None  # beta has no version yet
    steps = []
    outcome = import_dataset("beta", beta_csv, activate=False, progress=lambda _f, m: steps.append(m))
    assert outcome.ok and "describe_s" in outcome.timings
    ctx = system_context("beta")
    assert ctx.dataset_id == outcome.dataset_id  # current before any model is fitted
    row = _row(outcome.dataset_id)
    assert row.models_status == "pending" and "descriptive pages are ready" in row.models_message
    # the descriptive results are in the shared cache already: this version's customers
    stored, _size = results.result_cache().shared_get(results.result_key(ctx, row.id, "describe"))
    assert stored is not MISSING and len(stored.customers()) == row.customers
    assert steps.index("Computing the descriptive results") < len(steps) - 1
    message, _colour, _retry = job_status(storage.list_datasets(ctx), ctx.dataset_id, 10)
    assert "becomes the current version" not in message
    # a second upload waits for its models: the first version stays current meanwhile
    second = import_dataset("beta", beta_csv, activate=False)
    assert system_context("beta").dataset_id == outcome.dataset_id
    assert jobs.fit_dataset_models(second.dataset_id) == "ready"
    assert system_context("beta").dataset_id == second.dataset_id


def test_a_failed_fit_makes_the_version_current_as_descriptive_only(fault_app, beta_csv, monkeypatch, caplog):
    import analytics.models

    def broken(*_args, **_kwargs):
        raise RuntimeError("the optimiser exploded")

    monkeypatch.setattr(analytics.models, "fit_models", broken)
    outcome = import_dataset("alpha", beta_csv, activate=False)
    assert jobs.fit_dataset_models(outcome.dataset_id, job_id="job-42") == "failed"
    row = _row(outcome.dataset_id)
    assert system_context("alpha").dataset_id == outcome.dataset_id
    assert row.models_status == "failed" and "job-42" in row.models_message and "exploded" in row.models_message
    # logged as an error with its job id, and shown to the tenant's admins
    errors = [r for r in caplog.records if getattr(r, "event", None) == "models_failed"]
    assert errors and errors[0].levelname == "ERROR" and errors[0].job_id == "job-42"
    with session_scope() as session:
        entry = session.query(AuditEntry).filter_by(action="models_failed").one()
        assert entry.tenant_id == row.tenant_id and entry.detail["job_id"] == "job-42"
    message, colour, retry = job_status(storage.list_datasets(system_context("alpha")), row.id, 10)
    assert "descriptive pages only" in message and "exploded" in message and retry and colour == "warning"


def test_a_redelivered_import_is_not_imported_twice(fault_app, beta_csv):
    first = import_dataset("alpha", beta_csv, activate=False, job_key="k1")
    again = import_dataset("alpha", beta_csv, activate=False, job_key="k1")
    assert (again.dataset_id, again.version) == (first.dataset_id, first.version) == (first.dataset_id, 2)
    # a run of job k2 that was lost half-way left its version importing
    with session_scope() as session:
        session.add(Dataset(tenant_id=system_context("alpha").tenant_id, version=3, filename="lost.csv",
                            status="importing", source={"job_key": "k2"}, models_status="pending",
                            models_progress=0.0, created_at=utcnow()))
    retried = import_dataset("alpha", beta_csv, activate=False, job_key="k2")
    assert retried.ok and retried.version == 4
    lost = storage.get_dataset_by_version(system_context("alpha"), 3)
    assert lost.status == "failed" and "interrupted" in lost.error


def test_a_dead_job_is_shown_as_stopped_within_a_minute_with_retry(fault_app):
    ctx = system_context("alpha")
    with session_scope() as session:
        row = session.get(Dataset, ctx.dataset_id)
        row.models_status, row.models_progress = "running", 0.65
        row.models_updated_at = utcnow() - timedelta(seconds=30)
    datasets = storage.list_datasets(ctx)
    assert "fitting models, 65%" in job_status(datasets, ctx.dataset_id, 10)[0]
    later = utcnow() + timedelta(seconds=31)
    with session_scope() as session:
        session.get(Dataset, ctx.dataset_id).models_updated_at = utcnow() - timedelta(seconds=61)
    datasets = storage.list_datasets(ctx)
    message, colour, retry = job_status(datasets, ctx.dataset_id, 10)
    assert "stopped at 65%" in message and colour == "danger" and retry
    assert dataset_rows(datasets, ctx.dataset_id, 10)[0]["models"] == "stalled"
    # an import without a heartbeat for a minute reads "interrupted"
    with session_scope() as session:
        session.add(Dataset(tenant_id=ctx.tenant_id, version=2, filename="big.csv", status="importing",
                            models_status="pending", models_progress=0.0, created_at=utcnow(),
                            models_updated_at=utcnow()))
    datasets = storage.list_datasets(ctx)
    assert job_status(datasets, ctx.dataset_id, 10, now=later - timedelta(seconds=20))[0].endswith(
        "current version when its models are ready.")
    assert "import stopped" in job_status(datasets, ctx.dataset_id, 10, now=later + timedelta(seconds=40))[0]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_one_job_per_tenant_and_the_others_run_meanwhile(request, tmp_path, alpha_csv, beta_csv, backend):
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    app = build_app(make_settings(tmp_path, database_url=url), logs={"alpha": alpha_csv})
    with app.app_context():
        _one_job_per_tenant(app, beta_csv)


def _one_job_per_tenant(app, beta_csv):
    alpha = system_context("alpha")
    outcome = import_dataset("beta", beta_csv)
    held, release = threading.Event(), threading.Event()

    def hold():
        with app.app_context(), tenant_job_lock(alpha.tenant_id):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        with pytest.raises(TenantBusy):
            jobs.fit_dataset_models(alpha.dataset_id, wait=False)
        row = _row(alpha.dataset_id)
        assert row.models_status == "pending" and row.models_message.startswith("queued")
        assert jobs.fit_dataset_models(outcome.dataset_id, wait=False) == "ready"  # beta is not held up
    finally:
        release.set()
        holder.join(10)
    assert jobs.fit_dataset_models(alpha.dataset_id, wait=False) == "ready"


@pytest.fixture
def no_redis_app(tmp_path, alpha_csv):
    """Scaled mode whose Redis does not answer (nothing listens on its port)."""
    settings = make_settings(tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    assert settings.uses_celery
    return build_app(settings, logs={"alpha": alpha_csv})


def test_a_host_without_redis_answers_refits_and_uploads_at_once(no_redis_app, alpha_csv):
    client = logged_in(no_redis_app, "admin@alpha.test")
    started = time.monotonic()
    refit = dash_post(client, "refit-status.children", [{"id": "refit-models", "property": "n_clicks", "value": 1}])
    assert time.monotonic() - started < 5
    assert refit.status_code == 200
    assert "job queue (Redis) cannot be reached" in refit.json["response"]["refit-status"]["children"]["props"][
        "children"]

    staged = client.post("/upload", data=alpha_csv.read_bytes(), content_type="application/octet-stream",
                         headers={**dash_headers(client), "X-Filename": "alpha.csv"})
    assert staged.status_code == 201, staged.data[:300]  # staging needs the database only
    ref = {"upload": staged.json["upload"], "filename": "alpha.csv"}
    started = time.monotonic()
    upload = dash_post(client, "import-status.children", [{"id": "upload-ref", "property": "data", "value": ref}])
    assert time.monotonic() - started < 5
    assert upload.status_code == 200, upload.data[:300]
    alert = upload.json["response"]["import-status"]["children"]
    assert "cannot be reached" in alert["props"]["children"] and "alert-danger" in alert["props"]["className"]
    # nothing was imported
    with no_redis_app.app_context():
        assert [d.version for d in storage.list_datasets(system_context("alpha"))] == [1]
    # a non-Dash request that needs the queue gets a 503 with the message
    with no_redis_app.test_request_context("/"):
        from portal.data.background import send_fit_task
        from portal.data.queue import JobQueueUnavailable

        with pytest.raises(JobQueueUnavailable, match="cannot be reached"):
            send_fit_task(no_redis_app.extensions["portal"].celery, 1)
