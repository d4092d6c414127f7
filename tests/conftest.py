"""Options of the whole suite.

``--update-screenshots``: the browser tests write their page screenshots into
docs/screenshots/ (the README's pictures); without it they go to the ignored
tests/.screenshots/, so a test run leaves ``git status`` clean.
"""
from __future__ import annotations

from pathlib import Path

import pytest

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
