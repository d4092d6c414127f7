"""Simulated managers for ``benchmarks/load_test.py`` (locust).

Each simulated user logs in with its own account and then, in the proportions
of :data:`WEIGHTS`, opens dashboard pages, changes filters, opens saved views and
exports customer lists.  The Dash callback requests it sends are the ones a real
Chromium sent for the same pages (recorded by ``load_test.py`` into the file named
by ``LOADTEST_FLOWS``), so the server does exactly the work of a browser session.

Request names group what is measured: ``page <path>`` (the HTML shell and the
Dash layout), ``cb <path> <output>`` (one callback of a page load), ``change <path>
<output>`` (one callback of an in-page filter change), ``export <list>``, ``login``.  ``load_test.py`` folds them into kinds for the report.
"""
from __future__ import annotations

import json
import os
import random
import re
import time

from locust import HttpUser, between, events, task

FLOWS = json.loads(open(os.environ["LOADTEST_FLOWS"]).read())
ACCOUNTS = json.loads(os.environ["LOADTEST_ACCOUNTS"])  # [[email, password, role], ...]
PASSWORD_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
WEIGHTS = {"open_page": 50, "change_filter": 30, "shared_view": 10, "export": 10}
_LOG = open(os.environ["LOADTEST_LOG"], "a", buffering=1)
OPEN = [f for f in FLOWS if f.get("kind", "open" if not f["search"] else "filtered") == "open"]
CHANGES = [f for f in FLOWS if f.get("kind") == "change"] or [f for f in FLOWS if f["search"]]


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, response=None, **_kwargs):
    """One line per request (name, ms, ok, detail, unix time) for exact percentiles per kind."""
    status = getattr(response, "status_code", "")
    detail = f"{status} {str(exception)[:80]}" if exception else str(status)
    _LOG.write(f"{name}\t{response_time:.1f}\t{0 if exception else 1}\t{detail}\t{time.time():.3f}\n")


class Manager(HttpUser):
    wait_time = between(1, 3)  # a manager reads a chart before the next click

    def on_start(self) -> None:
        self.email, password, self.role = random.choice(ACCOUNTS)
        page = self.client.get("/login", name="login")
        token = PASSWORD_FIELD.search(page.text).group(1)
        with self.client.post("/login", data={"email": self.email, "password": password, "csrf_token": token},
                              name="login", allow_redirects=False, catch_response=True) as response:
            if response.status_code != 302:  # 429 = the sign-in limits stopped an office's managers
                response.failure(f"sign-in answered {response.status_code}")
        self.client.get("/", name="page /")
        self.csrf = self.client.cookies.get("_csrf_token", "")

    def _callbacks(self, flow: dict, prefix: str = "cb") -> None:
        for body in flow["callbacks"]:
            name = f"{prefix} {flow['path']} {body['output'][:60]}"
            with self.client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": self.csrf},
                                  name=name, catch_response=True) as response:
                if response.status_code not in (200, 204):
                    response.failure(f"{response.status_code}")

    def _open(self, flow: dict) -> None:
        self.client.get(flow["path"] + flow["search"], name=f"page {flow['path']}")
        self.client.get("/_dash-layout", name=f"page {flow['path']}")
        self._callbacks(flow)

    @task(WEIGHTS["open_page"])
    def open_page(self) -> None:
        # a page of the menu, or a drill-down list (customers behind a chart mark)
        self._open(random.choice(OPEN))

    @task(WEIGHTS["change_filter"])
    def change_filter(self) -> None:
        # the filter bar changes the URL without a reload: the callbacks Chromium sent for that change
        self._callbacks(random.choice(CHANGES), prefix="change")

    @task(WEIGHTS["shared_view"])
    def shared_view(self) -> None:
        self._open(next(f for f in FLOWS if f["path"] == "/views"))
        self._open(random.choice([f for f in FLOWS if f.get("kind") == "filtered" and f["path"] != "/views"]))

    @task(WEIGHTS["export"])
    def export(self) -> None:
        if self.role == "viewer":
            self._open(random.choice([f for f in FLOWS if not f["search"]]))
            return
        name = random.choice(["segments", "churn", "value", "valuable_at_risk", "customers"])
        search = random.choice(["?country=France", "?segment=Champions", "?risk=high"] if name == "customers"
                               else ["", "?country=France", "?segment=Champions", "?risk=high"])
        with self.client.get(f"/export/{name}.csv{search}", name=f"export {name}", stream=True,
                             catch_response=True) as response:
            size = sum(len(chunk) for chunk in response.iter_content(65536))
            if response.status_code != 200 or size == 0:
                response.failure(f"{response.status_code}, {size} bytes")
