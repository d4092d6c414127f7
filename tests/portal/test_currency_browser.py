"""A USD tenant's pages show dollars: no "£" anywhere, on every page of the sidebar
(headless Chromium against gunicorn)."""
from __future__ import annotations

import re

import pytest
from browser_testlib import settled, track_callbacks
from portal_testlib import BROWSER_MARKS, PASSWORD, build_app, chromium, gunicorn_server, make_settings

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def usd_server(tmp_path_factory, alpha_csv):
    settings = make_settings(tmp_path_factory.mktemp("usd"))
    app = build_app(settings)
    with app.app_context():
        from portal.data import tenant_settings
        from portal.data.imports import import_dataset
        from portal.platform.tenancy import system_context

        tenant_settings.update_settings(system_context("alpha"), {"currency": "USD",
                                                                  "time_zone": "America/New_York"}, refit=False)
        assert import_dataset("alpha", alpha_csv).ok
    process = gunicorn_server(settings, timeout=60)
    yield process
    process.stop()


def test_a_usd_tenant_sees_no_pound_sign_on_any_page(usd_server):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        track_callbacks(page)
        page.goto(usd_server.url + "/login")
        page.fill("#email", "admin@alpha.test")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#sidebar", timeout=20000)
        paths = [a.get_attribute("href") for a in page.query_selector_all("#sidebar a")]
        assert "/settings" in paths and "/data" in paths
        offenders = {}
        for path in paths:
            page.goto(usd_server.url + path)
            page.wait_for_selector("main h2, main #forbidden", timeout=30000)
            settled(page)  # figures and tables fill in after the layout
            text = page.inner_text("main")
            if "£" in text:
                offenders[path] = re.findall(r".{0,30}£.{0,15}", text)[:3]
        print("pages with a pound sign:", offenders)
        assert offenders == {}, offenders
