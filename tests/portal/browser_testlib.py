"""Helpers of the browser tests: a logged-in Chromium session, waits, screenshots, the
phone-width check and axe-core (see docs/ACCESSIBILITY.md).

The served app (``browser_server`` in conftest.py) is session-scoped: every browser
module of a pytest worker shares one gunicorn and its fitted tenants.
"""
from __future__ import annotations

import time
from pathlib import Path

from portal_testlib import PASSWORD, wait_until

#: path -> (screenshot name, a selector that shows the page has its data)
PAGES = {
    "/": ("overview", "#overview-trend .main-svg"),
    "/segments": ("segments", "#segments-treemap .main-svg"),
    "/clusters": ("clusters", "#clusters-scatter .main-svg"),
    "/cohorts": ("cohorts", "#cohorts-heatmap .main-svg"),
    "/geography": ("geography", "#geography-map .choroplethlocation"),
    "/churn": ("churn", "#churn-roc .main-svg"),
    "/value": ("value", "#value-distribution .main-svg"),
    "/at-risk": ("at_risk", "#at-risk-count"),
    "/products": ("products", "#products-top .main-svg"),
    "/views": ("views", "#views-grid"),
}
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def browser_logs(folder: Path) -> dict[str, Path]:
    """A demo-sized alpha (1,500 customers over 24 months, 5 countries) and a small beta."""
    from analytics.synthetic import generate_transactions

    mix = {"United Kingdom": 0.75, "France": 0.1, "Germany": 0.08, "EIRE": 0.04, "Spain": 0.03}
    paths = {"alpha": folder / "alpha.parquet", "beta": folder / "beta.parquet"}
    generate_transactions(1500, 24, seed=31, country_mix=mix).to_parquet(paths["alpha"])
    generate_transactions(150, 12, seed=32, country_mix={"Germany": 0.6, "Netherlands": 0.4}).to_parquet(
        paths["beta"])
    return paths


def _benign(text: str) -> bool:
    """Chromium's notes that are not page errors (software WebGL fallbacks)."""
    return "GPU stall due to ReadPixels" in text or "Automatic fallback to software WebGL" in text


class Session:
    """A logged-in browser context of one user, collecting console problems."""

    def __init__(self, browser, server, email: str, viewport: dict | None = None) -> None:
        self.context = browser.new_context(viewport=viewport or DESKTOP, accept_downloads=True)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"{m.type}: {m.text}")
                     if m.type in ("error", "warning") and not _benign(m.text) else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e} {getattr(e, 'stack', '')[:300]}"))
        track_callbacks(self.page)
        self.url = server.url
        self.page.goto(self.url + "/login")
        self.page.fill("#email", email)
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_selector("#nav-tenant", timeout=30000)

    def open(self, path: str, ready: str | None = None) -> float:
        started = time.perf_counter()
        self.page.goto(self.url + path)
        if ready:
            self.page.wait_for_selector(ready, timeout=60000)
        settled(self.page)
        return time.perf_counter() - started

    def close(self) -> None:
        self.context.close()


#: Resolves after the browser has drawn two frames (what was just set is on screen).
FRAMES = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"


def track_callbacks(page) -> None:
    """Keep the Dash callback requests in flight on ``page`` (for :func:`settled`)."""
    inflight: set = set()
    page.dash_inflight = inflight
    page.on("request", lambda r: inflight.add(r) if "/_dash-update-component" in r.url else None)
    page.on("requestfinished", lambda r: inflight.discard(r))
    page.on("requestfailed", lambda r: inflight.discard(r))


def settled(page, timeout: float = 60) -> None:
    """No Dash callback in flight (for 0.2 s, on a tracked page), no loading spinner, and drawn."""
    page.wait_for_load_state("networkidle", timeout=60000)
    inflight = getattr(page, "dash_inflight", None)
    if inflight is not None:
        quiet, deadline = 0, time.monotonic() + timeout
        while quiet < 4 and time.monotonic() < deadline:
            page.wait_for_timeout(50)
            quiet = 0 if inflight else quiet + 1
    wait_until(page, "!document.querySelector('[data-dash-is-loading=\"true\"]')")
    page.evaluate(FRAMES)


def screenshot(page, name: str, folder: Path) -> None:
    """A full-page screenshot for the README; scroll first so lazily drawn grids are drawn."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.evaluate(FRAMES)
    wait_until(page, "!document.querySelector('[id*=\"customer-grid\"]') || "
                     "!!document.querySelector('[id*=\"customer-grid\"] .ag-center-cols-container .ag-row')")
    page.evaluate("window.scrollTo(0, 0)")
    settled(page)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def grid_count(page) -> str:
    """The text of the first customer list's count ("1,234 customers") once it has one."""
    expression = "(document.querySelector('[id*=\"grid-count\"]') || {innerText: ''}).innerText"
    wait_until(page, expression + ".includes('customer')")
    return page.evaluate(expression)


#: Elements whose right edge passes the viewport (a grid's or a chart's own scrolled
#: content is inside an element that clips it, so only what the page itself shows counts).
TOO_WIDE = """(() => {
  const width = document.documentElement.clientWidth;
  const clipped = el => { for (let p = el.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (['hidden', 'auto', 'scroll', 'clip'].includes(s.overflowX) && p !== document.body
          && p !== document.documentElement) return true; } return false; };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('#js-plotly-tester')) continue;  // Plotly's off-screen text-measuring element
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if ((r.right > width + 1 || r.left < -1) && !clipped(el)) {
      out.push((el.id ? '#' + el.id : el.tagName.toLowerCase()) + '.' + String(el.className).slice(0, 40)
               + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width: width, wide: out.slice(0, 10)};
})()"""


#: Where third-party components render (their markup is not ours; see docs/ACCESSIBILITY.md).
THIRD_PARTY = (".js-plotly-plot", ".ag-root-wrapper", ".ag-", ".Select", ".DateRangePicker", ".dash-dropdown",
               ".dash-", ".rc-slider", "#filter-dates-wrapper")
#: axe rules that fire inside those components, each with its reason in docs/ACCESSIBILITY.md.
THIRD_PARTY_EXCLUSIONS = {
    "svg-img-alt", "role-img-alt", "aria-allowed-role", "aria-required-children", "aria-required-parent",
    "scrollable-region-focusable", "color-contrast", "aria-hidden-focus", "nested-interactive",
    "aria-input-field-name", "aria-toggle-field-name", "label", "button-name", "aria-command-name",
    "empty-table-header", "list", "listitem", "link-name", "select-name", "aria-valid-attr-value",
    "aria-prohibited-attr", "aria-allowed-attr",
}


def _third_party(target: object) -> bool:
    text = " ".join(map(str, target)) if isinstance(target, list) else str(target)
    return any(marker in text for marker in THIRD_PARTY) or "#_dash-global-error-container" in text


def axe_violations(page) -> tuple[list[str], list[str]]:
    """(serious/critical violations in our markup, rule ids found inside third-party components)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"resultTypes": ["violations"],
                                       "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]}})
    ours, theirs = [], []
    for violation in results.response["violations"]:
        for node in violation["nodes"]:
            if _third_party(node.get("target")) or _third_party(node.get("html", "")[:200]):
                theirs.append(violation["id"])
            elif violation.get("impact") in ("serious", "critical"):
                ours.append(f"{violation['id']} ({violation['impact']}): {node.get('target')} "
                            f"{node.get('failureSummary', '')[:160]}")
    return ours, sorted(set(theirs))
