"""End to end in headless Chromium against gunicorn: login, CSP without console
errors, the offline world map, an upload through the background callback with
the CSRF header, logout, and what a viewer sees."""
from __future__ import annotations


import pytest
from portal_testlib import (
    BROWSER_MARKS,
    PASSWORD,
    build_app,
    chromium,
    gunicorn_server,
    make_settings,
    wait_until,
)

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory, alpha_csv, beta_csv):
    settings = make_settings(tmp_path_factory.mktemp("browser"))
    build_app(settings, logs={"alpha": alpha_csv, "beta": beta_csv})
    process = gunicorn_server(settings, timeout=60)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as instance:
        yield instance


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []
    page.csrf_headers = []
    page.asset_status = {}
    page.on("console", lambda m: page.problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("request", lambda r: page.csrf_headers.append(r.headers.get("x-csrftoken"))
            if "_dash-update-component" in r.url else None)
    page.on("response", lambda r: page.asset_status.__setitem__(r.url.split("/assets/")[-1], r.status)
            if "/assets/" in r.url else None)
    yield page
    context.close()


def sign_in(page, server, email, path="/"):
    page.goto(server.url + path)
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    try:
        page.wait_for_selector("#nav-tenant", timeout=20000)
    except Exception:
        page.screenshot(path="/tmp/signin-failure.png")
        raise AssertionError(f"no shell at {page.url}; problems: {page.problems}; log: {server.output()[-3000:]}")


def test_overview_works_under_the_csp(page, server):
    sign_in(page, server, "viewer@alpha.test")
    page.wait_for_selector("#kpi-revenue", timeout=20000)
    page.wait_for_selector("#overview-trend .bars", timeout=20000)
    assert page.asset_status.get("bootstrap.min.css") == 200
    assert page.inner_text("#nav-tenant") == "Alpha Stores"
    assert page.inner_text("#nav-user-role") == "viewer"
    assert page.query_selector("#nav-data") is None  # viewers do not see the Data page
    page.goto(server.url + "/data")
    page.wait_for_selector("#forbidden", timeout=20000)
    assert page.problems == [], page.problems


def test_upload_through_the_background_callback(page, server, tmp_path, bad_csv):
    from portal_testlib import small_log

    upload = tmp_path / "upload.csv"
    small_log(25, 2, seed=9).to_csv(upload, index=False)
    sign_in(page, server, "admin@alpha.test", "/data")
    page.wait_for_selector("#datasets-grid .ag-row", timeout=20000)
    posted: list[tuple[str, int]] = []
    page.on("request", lambda r: posted.append((r.url.split("?")[0].rsplit("/", 1)[-1], len(r.post_data_buffer or b"")))
            if r.method == "POST" else None)
    with page.expect_response("**/upload") as staged:
        page.set_input_files("#upload input[type=file]", str(upload))
    # the file went to POST /upload, streamed as it is; the callbacks carry only its reference
    assert staged.value.status == 201 and staged.value.request.headers["x-filename"] == "upload.csv"
    page.wait_for_selector("#import-status .alert-success", timeout=60000)
    assert "Imported version 2" in page.inner_text("#import-status")
    assert [name for name, _ in posted].count("upload") == 1
    assert max(size for name, size in posted if name == "_dash-update-component") < 4096, posted
    wait_until(page, "document.querySelectorAll('#datasets-grid .ag-center-cols-container .ag-row').length >= 2",
               timeout=20)
    page.set_input_files("#upload input[type=file]", str(bad_csv))
    page.wait_for_selector("#import-status .alert-danger", timeout=60000)
    assert "Column 'Quantity', row 2" in page.inner_text("#import-status")

    cookie = [c["value"] for c in page.context.cookies() if c["name"] == "_csrf_token"][0]
    assert page.csrf_headers and all(page.csrf_headers), "every callback POST carries X-CSRFToken"
    assert page.csrf_headers[-1] == cookie
    assert page.problems == [], page.problems

    page.click("#logout-button")
    page.wait_for_selector("#email", timeout=20000)
    assert "signed out" in page.content()
