"""A manager's workflow in headless Chromium: filters that follow the navigation, drill-down
to the customers behind a chart mark (counts against analytics), row to profile, the
customer search, phone width (390 x 844), the keyboard, and the requests a filter change
costs.  axe-core runs on every page in test_dashboard_browser.py (which opens them all anyway).

Screenshots at 390 x 844 are written as ``<page>-phone.png`` beside the desktop ones
(tests/.screenshots/, or docs/screenshots/ with ``--update-screenshots``).
"""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_testlib import PAGES, PHONE, TOO_WIDE, Session, grid_count, screenshot, settled
from dashboard_testlib import cleaned_log
from portal_testlib import BROWSER_MARKS, chromium, wait_until

from analytics.cohorts import cohort_table
from analytics.products import product_summary
from analytics.rfm import segmented_rfm

pytestmark = BROWSER_MARKS

FILTERS = "country=France&segment=Champions"


@pytest.fixture(scope="module")
def browser():
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def manager(browser, browser_server):
    session = Session(browser, browser_server, "manager@alpha.test")
    yield session
    session.close()


@pytest.fixture(scope="module")
def reference(browser_log_paths):
    """alpha straight from analytics: cleaned log and RFM table."""
    cleaned = cleaned_log(browser_log_paths["alpha"])
    return cleaned, segmented_rfm(cleaned.lines, cleaned.snapshot_date)


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def count_of(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text.split()[0]))


def test_filters_survive_a_sidebar_round_trip_across_all_pages(manager, reference):
    page = manager.page
    manager.open(f"/segments?{FILTERS}", PAGES["/segments"][1])
    links = page.eval_on_selector_all("#sidebar a.nav-link", "els => els.map(e => e.getAttribute('href'))")
    assert len(links) >= 9 and all(FILTERS in href for href in links), links
    names = page.eval_on_selector_all("#sidebar a.nav-link", "els => els.map(e => e.innerText)")
    for name in [*names, "Segments"]:
        page.locator("#sidebar a.nav-link", has_text=re.compile(f"^{re.escape(name)}$")).first.click()
        wait_until(page, f"window.location.search.includes('{FILTERS}')")
        settled(page)
        assert _query(page.url)["country"] == ["France"] and _query(page.url)["segment"] == ["Champions"], name
        if page.query_selector("#filter-bar"):
            assert "France" in page.inner_text("#filter-country") and "Champions" in page.inner_text("#filter-segment")
            assert "Country: France" in page.inner_text("#filter-chips")
        assert page.locator("#sidebar a.nav-link.active").count() == 1, name
    _, rfm = reference
    expected = int(((rfm["country"] == "France") & (rfm["segment"] == "Champions")).sum())
    assert count_of(grid_count(page)) == expected
    # the brand link keeps them too; a chip removes one filter in one click
    assert FILTERS in page.get_attribute("#nav-brand", "href")
    page.click("#filter-chips a:has-text('Country: France')")
    wait_until(page, "!window.location.search.includes('country=')")
    settled(page)
    assert _query(page.url) == {"segment": ["Champions"]}
    assert count_of(grid_count(page)) == int((rfm["segment"] == "Champions").sum())
    assert manager.problems == []


def test_each_drill_down_opens_the_right_customers(manager, reference):
    cleaned, rfm = reference
    cohorts = cohort_table(cleaned.lines, cleaned.snapshot_date)
    cell = cohorts[(cohorts["period"] == 2) & (cohorts["active_customers"] > 0)].iloc[0]
    products = product_summary(cleaned.lines, cleaned.snapshot_date)
    product = products.index[0]
    cases = {
        f"cohort={cell['cohort']:%Y-%m}": int(cell["cohort_size"]),
        f"cohort={cell['cohort']:%Y-%m}&period=2": int(cell["active_customers"]),
        f"product={product}": int(products.loc[product, "customers"]),
        "segment=At+Risk": int((rfm["segment"] == "At Risk").sum()),
        "country=Germany": int((rfm["country"] == "Germany").sum()),
        "field=monetary&min=100&max=500": int(((rfm["monetary"] >= 100) & (rfm["monetary"] < 500)).sum()),
    }
    for query, expected in cases.items():
        manager.open(f"/customers?{query}&from=/cohorts", "#customers-drill")
        assert count_of(grid_count(manager.page)) == expected, query
        assert "Cohorts" in manager.page.inner_text("#customers-breadcrumb")
    assert manager.problems == []


def test_a_row_click_opens_the_customers_profile(manager, reference):
    page = manager.page
    manager.open("/customers?segment=Champions", "#customers-drill")
    grid_count(page)
    wait_until(page, "!!document.querySelector('[id*=\"customer-grid\"] .ag-center-cols-container .ag-row')")
    first = page.locator('[id*="customer-grid"] .ag-pinned-left-cols-container .ag-row[row-index="0"]').inner_text()
    page.locator('[id*="customer-grid"] .ag-center-cols-container .ag-row[row-index="0"] [col-id="segment"]').click()
    page.wait_for_url(f"**/profile?customer={first.strip()}", timeout=20000)
    page.wait_for_selector("#profile-timeline .main-svg", timeout=60000)
    # by keyboard: from the grid's header, arrow down to the second row, Enter
    page.go_back()
    page.wait_for_selector('[id*="customer-grid"] .ag-center-cols-container .ag-row[row-index="1"]', timeout=30000)
    second = page.locator('[id*="customer-grid"] .ag-pinned-left-cols-container .ag-row[row-index="1"]').inner_text()
    page.locator('[id*="customer-grid"] .ag-header-cell[col-id="segment"]').focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.closest('.ag-row').getAttribute('row-index')") == "1"
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/profile?customer={second.strip()}", timeout=20000)
    page.wait_for_selector("#profile-timeline .main-svg", timeout=60000)
    assert manager.problems == []


def test_the_top_bar_search_finds_customers_by_id(manager, reference):
    _, rfm = reference
    page = manager.page
    manager.open("/")
    wanted = rfm.index[7]
    part = wanted[1:4]
    page.fill("#customer-search", part)
    page.press("#customer-search", "Enter")
    page.wait_for_url(f"**/customers?q={part}", timeout=20000)
    settled(page)
    assert count_of(grid_count(page)) == sum(part in c for c in rfm.index)
    page.fill("#customer-search", wanted)
    page.press("#customer-search", "Enter")
    page.wait_for_selector("#customers-exact", timeout=20000)
    page.click("#customers-exact")
    page.wait_for_url(f"**/profile?customer={wanted}", timeout=20000)
    page.wait_for_selector("#profile-timeline .main-svg", timeout=60000)
    assert manager.problems == []


def test_no_page_is_wider_than_a_phone(browser, browser_server, screenshot_dir):
    phone = Session(browser, browser_server, "manager@alpha.test", viewport=PHONE)
    try:
        page = phone.page
        assert not page.is_visible("#sidebar .nav-link")  # collapsed behind the menu button
        page.click("#nav-toggler")
        page.wait_for_selector("#sidebar .nav-link", state="visible")
        page.click("#sidebar a.nav-link:has-text('Cohorts')")
        page.wait_for_url("**/cohorts", timeout=20000)
        wait_until(page, "!document.querySelector('#sidebar-collapse.show')")
        wide = {}
        for path, (name, ready) in {**PAGES, "/customers?segment=Champions": ("customers", "#customers-drill")}.items():
            phone.open(path, ready)
            screenshot(page, f"{name}-phone", screenshot_dir)
            measured = page.evaluate(TOO_WIDE)
            if measured["scrollWidth"] > PHONE["width"] or measured["wide"]:
                wide[path] = measured
        assert wide == {}
        assert phone.problems == []
    finally:
        phone.close()


def _customers_page(page) -> None:
    page.wait_for_selector("#customers-drill", timeout=30000)
    settled(page)


def test_clicks_on_chart_marks_open_their_customers(manager, reference):
    """A real click on a treemap tile, a cohort cell and a product bar; whichever mark the
    click lands on, the list holds the customers analytics puts behind it."""
    cleaned, rfm = reference
    page = manager.page
    manager.open(f"/segments?{FILTERS.split('&')[0]}", PAGES["/segments"][1])
    page.locator("#segments-treemap text", has_text="Hibernating").first.click(force=True)
    page.wait_for_url("**/customers?**segment=Hibernating**", timeout=20000)
    _customers_page(page)
    assert _query(page.url)["country"] == ["France"] and _query(page.url)["from"] == ["/segments"]
    expected = int(((rfm["country"] == "France") & (rfm["segment"] == "Hibernating")).sum())
    assert count_of(grid_count(page)) == expected

    manager.open("/cohorts", PAGES["/cohorts"][1])
    box = page.locator("#cohorts-heatmap .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.08, box["y"] + box["height"] * 0.06)  # an early cohort, month 1-2
    page.wait_for_url("**/customers?cohort=**", timeout=20000)
    _customers_page(page)
    query = _query(page.url)
    cohorts = cohort_table(cleaned.lines, cleaned.snapshot_date).set_index(["cohort", "period"])
    import pandas as pd

    cell = cohorts.loc[(pd.Timestamp(query["cohort"][0] + "-01"), int(query["period"][0]))]
    assert count_of(grid_count(page)) == int(cell["active_customers"] if int(query["period"][0]) else
                                             cell["cohort_size"])

    manager.open("/products", PAGES["/products"][1])
    page.locator("#products-top .bars path").last.click(force=True)  # the top bar (drawn last)
    page.wait_for_url("**/customers?product=**", timeout=20000)
    _customers_page(page)
    product = _query(page.url)["product"][0]
    products = product_summary(cleaned.lines, cleaned.snapshot_date)
    assert count_of(grid_count(page)) == int(products.loc[product, "customers"])
    assert manager.problems == []


def test_a_filter_change_costs_at_most_two_requests_per_page(manager):
    """The router's request for the page and one for all its figures and its list's first rows."""
    page = manager.page
    sent: list[str] = []
    inflight: set = set()

    def started(request):
        if "/_dash-update-component" in request.url:
            sent.append(json.loads(request.post_data or "{}").get("output", "?")[:70])
            inflight.add(request)

    page.on("request", started)
    page.on("requestfinished", lambda request: inflight.discard(request))
    page.on("requestfailed", lambda request: inflight.discard(request))
    counts = {}
    for path, (_, ready) in PAGES.items():
        if path == "/views":
            continue
        manager.open(f"{path}?country=France", ready)
        sent.clear()
        page.click("#filter-chips a:has-text('Country: France')")
        wait_until(page, "!window.location.search.includes('country=')")
        quiet = 0
        while quiet < 10 or not sent:  # one second without a request in flight
            page.wait_for_timeout(100)
            quiet = quiet + 1 if not inflight else 0
        page.wait_for_selector(ready, timeout=60000)
        counts[path] = list(sent)
        if page.query_selector('[id*="customer-grid"]'):  # the list's rows came with the figures
            assert "France" not in grid_count(page), path
    print(json.dumps(counts, indent=1))
    assert {p: c for p, c in counts.items() if len(c) > 2} == {}
    assert all(len(c) == 2 for c in counts.values()), counts  # the figures did come
    assert manager.problems == []
