"""An import killed inside its database transaction leaves the previous version
current and intact (SQLite and PostgreSQL)."""
from __future__ import annotations

import os
import select as select_module
import signal
import subprocess
import sys
import time

import pytest
from portal_testlib import ROOT, build_app, make_settings, settings_env
from sqlalchemy import select

from portal.data import storage
from portal.platform.models import Dataset, DatasetPayload
from portal.platform.tenancy import system_context


def _wait_for_line(process: subprocess.Popen, needle: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = select_module.select([process.stderr], [], [], 0.5)
        if ready:
            line = process.stderr.readline()
            if not line and process.poll() is not None:
                break
            seen.append(line)
            if needle in line:
                return line
    raise AssertionError(f"{needle!r} not seen; stderr: {''.join(seen)[-2000:]}")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_killed_import_leaves_the_previous_version_current(request, tmp_path, alpha_csv, beta_csv, backend):
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    settings = make_settings(tmp_path, database_url=url)
    app = build_app(settings, logs={"alpha": alpha_csv})
    with app.app_context():
        before = storage.load_transactions(system_context("alpha"))
        previous_id = system_context("alpha").dataset_id

    env = settings_env(settings) | {"PORTAL_TEST_IMPORT_SLEEP": "60"}
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "import", "alpha", str(beta_csv), "--no-models"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        _wait_for_line(process, "sleeping")  # inside the transaction, payload written
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)

    with app.app_context():
        from portal.platform.db import session_scope

        ctx = system_context("alpha")
        assert ctx.dataset_id == previous_id
        after = storage.load_transactions(ctx)
        assert after.equals(before)
        with session_scope() as session:
            statuses = dict(session.execute(select(Dataset.version, Dataset.status)).all())
            payload_ids = set(session.scalars(select(DatasetPayload.dataset_id)))
        assert statuses == {1: "ready", 2: "importing"} and payload_ids == {previous_id}

        # the admin sees it: once older than the stale limit the version reads "interrupted"
        from datetime import timedelta

        from portal.dashboard.components.datasets import dataset_rows

        killed = storage.get_dataset_by_version(ctx, 2)
        rows = dataset_rows(storage.list_datasets(ctx), ctx.dataset_id, stale_minutes=10,
                            now=killed.created_at + timedelta(minutes=11))
        assert [(r["version"], r["status"], r["current"]) for r in rows] == [(2, "interrupted", ""), (1, "ready", "yes")]
        assert "stopped before it finished" in rows[0]["message"]
        fresh = dataset_rows(storage.list_datasets(ctx), ctx.dataset_id, stale_minutes=10,
                             now=killed.created_at + timedelta(minutes=1))
        assert fresh[0]["status"] == "importing"

        # the database is usable afterwards: the next import takes version 3
        from portal.data.imports import import_dataset

        outcome = import_dataset("alpha", beta_csv)
        assert outcome.ok and outcome.version == 3
