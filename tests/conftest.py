"""Options of the whole suite.

``--update-screenshots``: the browser tests write their page screenshots into
docs/screenshots/ (the README's pictures); without it they go to the ignored
tests/.screenshots/, so a test run leaves ``git status`` clean.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# The test process's Prometheus counters (portal.platform.metrics, multiprocess mode) live in a
# folder of their own: the first app built in a test would otherwise put them in its DATA_DIR,
# which a gunicorn server started by a later test on the same DATA_DIR empties at start.
# Servers started by tests do not inherit it (portal_testlib.settings_env drops PROMETHEUS_*).
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="portal-test-metrics-")

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    parser.addoption("--update-screenshots", action="store_true", default=False,
                     help="write the browser tests' screenshots into docs/screenshots/ (README pictures)")


@pytest.fixture(scope="session")
def screenshot_dir(request) -> Path:
    """Where the browser tests save page screenshots (see the module docstring)."""
    folder = ROOT / ("docs/screenshots" if request.config.getoption("--update-screenshots")
                     else "tests/.screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
