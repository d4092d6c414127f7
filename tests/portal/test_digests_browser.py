"""In headless Chromium against gunicorn: subscribing a colleague from the Saved views page,
and printing a dashboard page to PDF (the file names the page, its filters and its window)."""
from __future__ import annotations

import io
import sys

import pytest
from digests_testlib import ctx_of, mail_app, write_logs
from portal_testlib import (
    BROWSER_MARKS,
    PASSWORD,
    chromium,
    free_port,
    Server,
    settings_env,
    wait_for_port,
    wait_until,
)

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def app(tmp_path_factory, mail):
    folder = tmp_path_factory.mktemp("digest-browser")
    app = mail_app(folder, write_logs(folder), mail.url)
    from portal.dashboard import saved_views as views

    with app.app_context():
        views.save_view(ctx_of("manager@alpha.test"), "/segments", "France for the team", {"query": "?country=France"},
                        shared=True)
    return app


@pytest.fixture(scope="module")
def server(app, mail):
    port = free_port()
    env = settings_env(app.extensions["portal"].settings) | {
        "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1", "SMTP_URL": mail.url,
        "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    process = Server([sys.executable, "-m", "gunicorn", "wsgi:server"], env, port)
    wait_for_port(port, timeout=90, process=process.process)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def page(server):
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.problems = []
        tab.on("console", lambda m: tab.problems.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: tab.problems.append(str(e)))
        tab.goto(server.url + "/login")
        tab.fill("#email", "manager@alpha.test")
        tab.fill("#password", PASSWORD)
        tab.click("button[type=submit]")
        tab.wait_for_selector("#nav-tenant", timeout=30000)
        yield tab
        context.close()


def _settled(page) -> None:
    page.wait_for_load_state("networkidle", timeout=60000)
    wait_until(page, "!document.querySelector('[data-dash-is-loading=\"true\"]')")


def _select_first_row(page, grid: str) -> None:
    page.locator(f"#{grid} .ag-row[row-index='0'] input.ag-checkbox-input").first.click()
    wait_until(page, f"document.querySelectorAll('#{grid} .ag-row-selected').length > 0", timeout=10)


def test_subscribe_a_colleague_from_the_saved_views_page(app, server, page):
    from portal.data.subscriptions import list_subscriptions

    page.goto(server.url + "/views")
    page.wait_for_selector("#views-grid .ag-row", timeout=60000)
    _settled(page)
    page.click("#digest-subscribe")  # nothing selected yet: a guiding message
    page.wait_for_selector("#digest-status .alert", timeout=30000)
    assert "Select a saved view" in page.inner_text("#digest-status")

    _select_first_row(page, "views-grid")
    page.select_option("#digest-recipient", "viewer@alpha.test")
    page.select_option("#digest-frequency", "weekly")
    page.select_option("#digest-weekday", "4")
    page.select_option("#digest-hour", "7")
    page.click("#digest-subscribe")
    wait_until(page, "!document.querySelector('#digest-status').innerText.includes('Select a saved view')",
               timeout=30)
    assert page.inner_text("#digest-status").strip() == (
        "Subscribed viewer@alpha.test: Weekly on Friday at 07:00 (Europe/London).")
    page.wait_for_selector("#digest-grid .ag-center-cols-container .ag-row", timeout=30000)
    row = page.inner_text("#digest-grid .ag-center-cols-container .ag-row >> nth=0")
    assert "France for the team" in row and "viewer@alpha.test" in row and "active" in row

    _select_first_row(page, "digest-grid")
    page.click("#digest-pause")
    wait_until(page, "document.querySelector('#digest-status').innerText.includes('Paused')", timeout=30)
    wait_until(page, "document.querySelector('#digest-grid .ag-center-cols-container .ag-row')"
                     ".innerText.includes('paused')", timeout=30)
    with app.app_context():
        [sub] = list_subscriptions(ctx_of("manager@alpha.test"))
    assert (sub.subscriber_email, sub.frequency, sub.weekday, sub.hour, sub.paused) == (
        "viewer@alpha.test", "weekly", 4, 7, True)
    assert page.problems == []


def test_print_a_page_to_pdf_with_title_filters_and_window(server, page, tmp_path):
    from pypdf import PdfReader

    page.goto(server.url + "/?start=2022-02-01&end=2022-03-31&country=France")
    page.wait_for_selector("#overview-products .main-svg", timeout=60000)
    _settled(page)
    # Plotly's client-side PNG export stays on every figure's toolbar
    assert page.evaluate("document.querySelectorAll('[data-title=\"Download plot as a PNG\" i]').length") >= 2
    page.emulate_media(media="print")
    wait_until(page, "Array.from(document.querySelectorAll('.js-plotly-plot')).every("
                     "g => g._fullLayout && g._fullLayout.width === 700)", timeout=30)
    pdf = tmp_path / "overview.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    page.emulate_media(media="screen")
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    first = reader.pages[0].extract_text()
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "Overview · Alpha Stores" in first
    assert "Filters: Country: France" in first
    assert "Date window: 2022-02-01 to 2022-03-31" in first
    assert "Log out" not in text  # the navigation bar is not printed
    assert float(reader.pages[0].mediabox.width) == pytest.approx(595.3, abs=1)  # A4 portrait, in points
