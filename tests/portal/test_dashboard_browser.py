"""The managers' dashboard end to end in headless Chromium against gunicorn (2 workers).

Logs in, opens every page without a browser console error or a serious axe-core
finding in the portal's own markup (saving a screenshot of
each under tests/.screenshots/, or docs/screenshots/ for the README with
``--update-screenshots``), sets filters and checks the URL,
reloads and goes back, saves a view and opens it as a colleague, downloads an
export and checks its rows against analytics, and checks that a viewer cannot
export and that a user of another tenant sees none of it.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from browser_testlib import PAGES, THIRD_PARTY_EXCLUSIONS, Session, axe_violations, screenshot, settled
from dashboard_testlib import cleaned_log
from portal_testlib import BROWSER_MARKS, ROOT, chromium, wait_until

from analytics.rfm import segmented_rfm

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def logs(browser_log_paths):
    return browser_log_paths


@pytest.fixture(scope="module")
def server(browser_server):
    return browser_server


@pytest.fixture(scope="module")
def browser():
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def manager(browser, server):
    session = Session(browser, server, "manager@alpha.test")
    yield session
    session.close()


def test_every_page_renders_without_console_errors_and_axe_finds_no_serious_violation(
        manager, browser, server, screenshot_dir):
    timings, problems, found_inside_components = {}, {}, set()
    for path, (name, ready) in {**PAGES, "/customers?segment=Champions": ("customers", "#customers-drill")}.items():
        timings[path] = manager.open(path, ready)
        if path in PAGES:
            screenshot(manager.page, name, screenshot_dir)
        assert manager.problems == [], (path, manager.problems)
        ours, theirs = axe_violations(manager.page)  # axe-core, see docs/ACCESSIBILITY.md
        found_inside_components |= set(theirs)
        if ours:
            problems[path] = ours
    assert problems == {}
    # what axe reports inside Plotly and AG Grid is listed, with reasons, in docs/ACCESSIBILITY.md
    assert found_inside_components <= THIRD_PARTY_EXCLUSIONS, found_inside_components - THIRD_PARTY_EXCLUSIONS
    customer = manager.page.evaluate("fetch('/export/value.csv').then(r => r.text())")
    first_customer = customer.splitlines()[1].split(",")[0]
    timings["/profile"] = manager.open(f"/profile?customer={first_customer}", "#profile-timeline .main-svg")
    screenshot(manager.page, "profile", screenshot_dir)
    admin = Session(browser, server, "admin@alpha.test")
    try:
        admin.open("/data", "#datasets-grid .ag-row")
        screenshot(admin.page, "data", screenshot_dir)
        assert admin.problems == [], admin.problems
    finally:
        admin.close()
    print("seconds to a rendered page:", {p: round(t, 2) for p, t in timings.items()})
    assert manager.problems == []


#: A web process of the served app: every page (the router callback as a browser sends it) and
#: every customer-list export as a manager, then the model libraries it loaded.
WEB_PROCESS = """
import json, sys
import dash
from portal import create_app
from portal.platform.config import Settings
from portal_testlib import dash_post, logged_in
app = create_app(Settings.from_env())
client = logged_in(app, "manager@alpha.test")
for path in [p["path"] for p in dash.page_registry.values() if "<" not in p["path"]]:
    for search in ("", "?country=France"):
        answer = dash_post(client, ".._pages_content.children..._pages_store.data..", [
            {"id": "_pages_location", "property": "pathname", "value": path},
            {"id": "_pages_location", "property": "search", "value": search}])
        assert answer.status_code == 200, (path, answer.status_code)
for name in ("segments", "churn", "value", "valuable_at_risk", "clusters", "geography"):
    assert client.get(f"/export/{name}.csv").status_code == 200, name
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & {"sklearn", "lifetimes", "scipy"})))
"""


@pytest.fixture(scope="module")
def web_libraries(server):
    """The model libraries a fresh web process of the served app loaded after serving everything."""
    env = server.env | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "portal")])}
    done = subprocess.run([sys.executable, "-c", WEB_PROCESS], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_web_process_never_imports_lifetimes(web_libraries):
    assert "lifetimes" not in web_libraries


def test_a_web_process_never_imports_scikit_learn(web_libraries):
    assert "sklearn" not in web_libraries


def test_filters_live_in_the_url_and_survive_reload_and_back(manager, logs):
    page = manager.page
    manager.open("/segments", PAGES["/segments"][1])
    page.click("#filter-country")
    page.get_by_role("option", name="France").click()
    page.keyboard.press("Escape")
    page.wait_for_url("**/segments?country=France", timeout=20000)
    settled(page)
    reference = cleaned_log(logs["alpha"])
    rfm = segmented_rfm(reference.lines, reference.snapshot_date)
    french = int((rfm["country"] == "France").sum())
    count = page.locator('[id*="grid-count"]').first
    wait_until(page, "(document.querySelector('[id*=\"grid-count\"]') || {innerText: ''}).innerText.includes('customers')")
    assert count.inner_text() == f"{french:,} customers"

    page.reload()
    settled(page)
    assert page.url.endswith("/segments?country=France")
    assert "France" in page.inner_text("#filter-country")
    wait_until(page, "(document.querySelector('[id*=\"grid-count\"]') || {innerText: ''}).innerText.includes('customers')")
    assert count.inner_text() == f"{french:,} customers"

    page.go_back()
    page.wait_for_url("**/segments", timeout=20000)
    settled(page)
    assert "France" not in page.inner_text("#filter-country")
    assert manager.problems == []


def test_export_downloads_exactly_the_filtered_customers(manager, logs):
    page = manager.page
    manager.open("/segments?country=France&segment=Champions&segment=Loyal+Customers", PAGES["/segments"][1])
    link = page.locator('a[id*="export-link"]').first
    with page.expect_download(timeout=30000) as download:
        link.click()
    exported = pd.read_csv(download.value.path(), dtype={"Customer": str})
    assert "France-Champions-LoyalCustomers" in download.value.suggested_filename
    reference = cleaned_log(logs["alpha"])
    rfm = segmented_rfm(reference.lines, reference.snapshot_date)
    expected = rfm[(rfm["country"] == "France") & rfm["segment"].isin(["Champions", "Loyal Customers"])]
    assert sorted(exported["Customer"]) == sorted(expected.index)
    assert list(exported.columns[:4]) == ["Customer", "Segment", "Previous segment", "Recency (days)"]


def test_overview_to_valuable_at_risk_csv_in_at_most_four_clicks(manager, server):
    """Issue 10: from the Overview the manager reaches the valuable-at-risk list and downloads
    its CSV; every click is counted."""
    from portal.dashboard.customer_lists import EXPORTS, display_header
    from portal.dashboard.money import GBP

    page = manager.page
    manager.open("/", "#overview-at-risk-link")
    clicks = 0
    page.click("#overview-at-risk-link")
    clicks += 1
    page.wait_for_selector("#at-risk-rule", timeout=30000)
    page.wait_for_selector("#at-risk-count", timeout=60000)
    settled(page)
    assert page.url.endswith("/at-risk")
    listed = int(page.inner_text("#at-risk-count").replace(",", ""))
    with page.expect_download(timeout=30000) as download:
        page.locator('#valuable_at_risk-list a[id*="export-link"]').click()
        clicks += 1
    assert clicks <= 4
    exported = pd.read_csv(download.value.path(), dtype={"Customer": str})
    # headers as on screen (the export format): units and the tenant's currency
    assert list(exported.columns) == [display_header(c, GBP) for c in EXPORTS["valuable_at_risk"].columns]
    assert {"CLV tier", "Risk band"} <= set(exported.columns)
    assert len(exported) == listed
    assert exported["Net revenue at risk (£)"].is_monotonic_decreasing
    assert manager.problems == [], manager.problems


def test_saved_view_is_opened_by_a_colleague_but_not_by_another_tenant(manager, browser, server):
    page = manager.page
    manager.open("/cohorts?country=France&metric=revenue", PAGES["/cohorts"][1])
    page.click("#views-menu")
    page.click("#save-view-open")
    page.fill("#save-view-name", "French cohorts by revenue")
    page.click("#save-view-shared")
    page.click("#save-view-submit")
    page.wait_for_selector("#save-view-status .alert-success", timeout=20000)

    colleague = Session(browser, server, "viewer@alpha.test")
    try:
        colleague.page.click("#views-menu")
        colleague.page.get_by_text("French cohorts by revenue").click()
        colleague.page.wait_for_url("**/cohorts?country=France&metric=revenue", timeout=20000)
        settled(colleague.page)
        assert "France" in colleague.page.inner_text("#filter-country")
        assert colleague.page.is_checked('input[value="revenue"]')
        assert colleague.page.query_selector('a[id*="export-link"]') is None  # viewers cannot export
        assert colleague.problems == []
        status = colleague.page.evaluate("fetch('/export/segments.csv').then(r => r.status)")
        assert status == 403
    finally:
        colleague.close()

    stranger = Session(browser, server, "manager@beta.test")
    try:
        stranger.page.click("#views-menu")
        assert "French cohorts by revenue" not in stranger.page.inner_text("#views-menu")
        stranger.open("/cohorts?country=France&metric=revenue")
        assert "Alpha Stores" not in stranger.page.content()
        assert stranger.page.inner_text("#nav-tenant") == "Beta Trading"
        assert stranger.page.query_selector("#no-match, #cohorts-heatmap") is not None
        csv = stranger.page.evaluate("fetch('/export/segments.csv?raw=1').then(r => r.text())")
        beta = pd.read_csv(io.StringIO(csv), dtype={"customer_id": str})
        assert set(beta["country"]) <= {"Germany", "Netherlands"}
    finally:
        stranger.close()


def _grid_rows(page, column: str) -> list[str]:
    """The texts of one column in the grid's rendered rows, in display order."""
    return page.evaluate(f"""Array.from(document.querySelectorAll('[id*="customer-grid"] .ag-row[row-index]'))
        .filter(r => r.querySelector('[col-id="{column}"]'))
        .sort((a, b) => Number(a.getAttribute('row-index')) - Number(b.getAttribute('row-index')))
        .map(r => r.querySelector('[col-id="{column}"]').innerText)""")


def test_customer_grid_shows_sorts_and_counts_the_filtered_customers(manager):
    page = manager.page
    manager.open("/churn?risk=high", PAGES["/churn"][1])
    exported = pd.read_csv(io.StringIO(page.evaluate("fetch('/export/churn.csv?risk=high&raw=1').then(r => r.text())")),
                           dtype={"customer_id": str})
    assert len(exported) > 20 and set(exported["risk_band"]) == {"high"}
    page.locator('[id*="customer-grid"]').first.scroll_into_view_if_needed()
    wait_until(page, "document.querySelectorAll('[id*=\"customer-grid\"] .ag-center-cols-container .ag-row').length >= 10")
    assert page.locator('[id*="grid-count"]').first.inner_text() == f"{len(exported):,} customers"
    # default order: revenue at risk, largest first (the pinned id column is rendered apart from the others)
    top = exported.sort_values("net_revenue_at_risk", ascending=False, kind="stable")["customer_id"].head(5).tolist()
    assert _grid_rows(page, "customer_id")[:5] == top

    page.locator('.ag-header-cell[col-id="recency"] .ag-header-cell-label').first.click()  # sort by recency
    wait_until(page, f"""(() => {{ const c = document.querySelector(
        '[id*="customer-grid"] .ag-row[row-index="0"] [col-id="recency"]');
        return c && c.innerText.replace(/,/g, '') === '{int(exported["recency"].min())}'; }})()""")
    recencies = [int(v.replace(",", "")) for v in _grid_rows(page, "recency")[:10]]
    assert recencies == sorted(exported["recency"].astype(int).tolist())[:10]
    assert manager.problems == []
