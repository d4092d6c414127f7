"""portal.data.jobs (and the ``python -m portal.fit`` process): model fitting with progress, heartbeat and stale jobs; stored results."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from portal_testlib import ROOT, build_app, make_settings, settings_env

from portal.data import jobs, results, storage
from portal.platform.db import session_scope
from portal.platform.models import Dataset, ModelRecord, utcnow
from sqlalchemy import select
from portal.platform.tenancy import system_context

@pytest.fixture
def jobs_app(tmp_path, alpha_csv, beta_csv):
    settings = make_settings(tmp_path)
    app = build_app(settings, logs={"alpha": alpha_csv, "beta": beta_csv})
    with app.app_context():
        yield app, settings


def _dataset(dataset_id):
    with session_scope() as session:
        return storage.DatasetInfo.of(session.get(Dataset, dataset_id))


def test_fit_stores_results_and_reports_progress(jobs_app):
    ctx = system_context("alpha")
    seen = []
    status = jobs.fit_dataset_models(ctx.dataset_id, progress=lambda f, m: seen.append((f, m)))
    assert status == "ready"
    row = _dataset(ctx.dataset_id)
    assert row.models_status == "ready" and row.models_progress == 1.0 and row.models_updated_at
    assert seen and seen[-1][0] == 1.0 and [f for f, _ in seen] == sorted(f for f, _ in seen)
    fitted = results.get_result(ctx, "models")
    assert type(fitted).__name__ == "ModelResults"
    assert results.get_result(ctx, "models") is fitted  # kept in the process LRU
    with pytest.raises(LookupError):
        jobs.load_model_results(system_context("beta"), ctx.dataset_id)
    assert results.get_result(system_context("beta"), "models") is None


def test_a_live_job_is_left_alone_and_a_stale_one_restarted(jobs_app):
    app, settings = jobs_app
    ctx = system_context("alpha")
    with session_scope() as session:
        row = session.get(Dataset, ctx.dataset_id)
        row.models_status, row.models_updated_at = "running", utcnow()
    assert jobs.fit_dataset_models(ctx.dataset_id) == "running"
    assert not jobs.is_stale(_dataset(ctx.dataset_id), settings.job_stale_minutes)
    with session_scope() as session:
        row = session.get(Dataset, ctx.dataset_id)
        row.models_updated_at = utcnow() - timedelta(minutes=settings.job_stale_minutes + 1)
    assert jobs.is_stale(_dataset(ctx.dataset_id), settings.job_stale_minutes)
    assert jobs.fit_dataset_models(ctx.dataset_id) == "ready"


def test_fit_in_a_separate_process(jobs_app, capsys):
    _, settings = jobs_app
    ctx = system_context("beta")
    result = subprocess.run([sys.executable, "-m", "portal.fit", str(ctx.dataset_id)], cwd=ROOT,
                            env=settings_env(settings), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert _dataset(ctx.dataset_id).models_status == "ready"
    with session_scope() as session:
        stored = session.scalars(select(ModelRecord).where(ModelRecord.dataset_id == ctx.dataset_id)).one()
        assert stored.name == "results" and stored.record.startswith(b"ANLXREC\n")
    # a usage error is answered before anything is built: in this process (the exit code of
    # ``python -m portal.fit`` is main's, as the run above shows)
    from portal.fit import main

    assert main(["x"]) == 2 and "usage" in capsys.readouterr().err
