"""portal.dashboard.view.memoised_view: page callbacks drawn once per worker, keyed by
tenant, dataset version, model fit and query, never shared across tenants."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from dashboard_testlib import as_user, page_module
from portal_testlib import build_app, dash_headers, logged_in, make_settings

from portal.dashboard.view import View, lines, memoised_view
from portal.platform.db import session_scope
from portal.data.imports import import_dataset
from portal.platform.models import Dataset, utcnow
from portal.platform.tenancy import current_context, system_context


@pytest.fixture
def counted_view():
    """A memoised callback that records each real render and answers the tenant's revenue."""
    renders: list[tuple[str, int, str]] = []

    @memoised_view
    def render(query):
        view = View(current_context(), query)
        renders.append((view.ctx.tenant_slug, view.ctx.dataset_id, query))
        return {"tenant": view.ctx.tenant_slug, "revenue": round(float(view.selected_lines["revenue"].sum()), 2)}

    return render, renders


@contextmanager
def _as(app, slug: str):
    """One request of a user of tenant ``slug`` (its own app context, as under gunicorn)."""
    from flask import g

    with app.app_context(), app.test_request_context("/"):
        g._portal_context = system_context(slug)
        yield


def test_second_call_is_served_from_memory(app, counted_view):
    render, renders = counted_view
    with app.app_context():
        with _as(app, "alpha"):
            first = render("")
            assert render("") is first
            assert render("?country=United+Kingdom") == first  # alpha is all UK: same figures, drawn again
    assert [q for _, _, q in renders] == ["", "?country=United+Kingdom"]


def test_tenants_never_share_a_memoised_view(app, counted_view):
    render, renders = counted_view
    with app.app_context():
        expected = {}
        for slug in ("alpha", "beta"):
            expected[slug] = round(float(lines(system_context(slug))["revenue"].sum()), 2)
        for slug in ("alpha", "beta", "alpha", "beta"):
            with _as(app, slug):
                assert render("") == {"tenant": slug, "revenue": expected[slug]}
    assert expected["alpha"] != expected["beta"]
    assert [tenant for tenant, _, _ in renders] == ["alpha", "beta"]


def test_a_new_import_and_a_refit_are_seen_at_once(app, counted_view, beta_csv):
    render, renders = counted_view
    with app.app_context():
        with _as(app, "alpha"):
            before = render("")
        outcome = import_dataset("alpha", beta_csv)  # alpha now holds beta's log
        with _as(app, "alpha"):
            after = render("")
        assert after["revenue"] != before["revenue"] and renders[-1][1] == outcome.dataset_id

        with session_scope() as session:  # a refit finished: new status and heartbeat
            row = session.get(Dataset, outcome.dataset_id)
            row.models_status, row.models_updated_at = "failed", utcnow()
        with _as(app, "alpha"):
            render("")
            render("")
    assert len(renders) == 3


def test_model_progress_is_seen_at_once(app, counted_view):
    render, renders = counted_view
    with app.app_context():
        dataset_id = system_context("alpha").dataset_id
        for beat in range(2):
            with session_scope() as session:  # what portal.data.jobs writes on each progress report
                row = session.get(Dataset, dataset_id)
                row.models_status, row.models_progress, row.models_updated_at = "running", beat / 2, utcnow()
            with _as(app, "alpha"):
                render("")
                render("")
    assert len(renders) == 2


def test_memo_off_with_zero_budget(tmp_path, alpha_csv, counted_view):
    render, renders = counted_view
    app = build_app(make_settings(tmp_path, view_cache_mb=0), logs={"alpha": alpha_csv})
    with app.app_context():
        with _as(app, "alpha"):
            render("")
            render("")
    assert len(renders) == 2


def test_real_page_callback_answers_each_tenant_its_own_figures(dashboard_app):
    """Through HTTP: alpha, then beta with the same query, then alpha again (now memoised)."""
    answers = {}
    for slug in ("alpha", "beta", "alpha"):
        client = logged_in(dashboard_app, f"manager@{slug}.test")
        response = page_post(client, "overview", "")
        assert response.status_code == 200
        answers.setdefault(slug, []).append(response.json["response"]["overview-trend"]["figure"])
    assert answers["alpha"][0] == answers["alpha"][1]
    assert answers["alpha"][0]["data"] != answers["beta"][0]["data"]
    with as_user(dashboard_app, "manager@beta.test"):
        direct = page_module("overview").update_trend.__wrapped__("")  # the unmemoised render
    assert [t.get("y") for t in direct.to_plotly_json()["data"]] == [t.get("y") for t in answers["beta"][0]["data"]]


def page_output(client, page_id: str) -> str:
    """The one callback that draws every figure of page ``page_id`` (its outputs joined)."""
    found = [c["output"] for c in client.get("/_dash-dependencies").json
             if [i["id"] for i in c["inputs"]] == [f"{page_id}-query"]]
    assert len(found) == 1, found
    return found[0]


def page_post(client, page_id: str, query: str):
    """The request dash-renderer sends for a page's figures (a page without customer lists:
    the lists' pattern-matching output and states match nothing)."""
    output = page_output(client, page_id)
    parts = output.strip(".").split("...")
    outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]} for part in parts[:-1]]
    body = {"output": output, "outputs": [*outputs, []],
            "inputs": [{"id": f"{page_id}-query", "property": "data", "value": query}],
            "state": [[], []], "changedPropIds": [f"{page_id}-query.data"]}
    return client.post("/_dash-update-component", json=body, headers=dash_headers(client))


def test_one_callback_draws_all_of_a_pages_figures(dashboard_app):
    client = logged_in(dashboard_app, "manager@alpha.test")
    specs = [c for c in client.get("/_dash-dependencies").json
             if any(i["id"] == "overview-query" for i in c["inputs"])]
    assert len(specs) == 1
    outputs = specs[0]["output"].strip(".").split("...")
    assert {"overview-kpis.children", "overview-trend.figure", "overview-countries.figure",
            "overview-products.figure"} <= set(outputs)


def test_one_failing_render_leaves_the_other_figures_of_the_page(dashboard_app, monkeypatch):
    """The page's renders are one callback: a render that raises must cost only its own
    outputs (logged), never the page's other figures or a 500."""
    from portal.dashboard.components import page

    built = []

    class SecondFails(View):
        def __init__(self, *args, **kwargs):
            built.append(1)
            if len(built) == 2:
                raise RuntimeError("a broken figure")
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(page, "View", SecondFails)
    client = logged_in(dashboard_app, "manager@alpha.test")
    response = page_post(client, "overview", "?country=France&start=2011-02-01")
    assert response.status_code == 200
    drawn = response.json["response"]
    assert len(built) == 3
    every = {part.rsplit(".", 1)[0] for part in page_output(client, "overview").strip(".").split("...")[:-1]}
    # the two good renders answered all their outputs; the failed one's outputs are left as they were
    assert 0 < len(set(drawn) & every) < len(every)


def test_a_second_worker_reads_the_shared_figures_instead_of_drawing_them(app, monkeypatch):
    """Two apps on one data folder (two workers): the second answers the same bytes and
    draws nothing (every render builds one View; they are counted)."""
    from portal import create_app
    from portal.dashboard.components import page

    views = []

    class CountedView(View):
        def __init__(self, *args, **kwargs):
            views.append(args[1] if len(args) > 1 else kwargs.get("query"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(page, "View", CountedView)
    query = "?country=United+Kingdom"
    first = page_post(logged_in(app, "manager@alpha.test"), "overview", query)
    assert first.status_code == 200
    drawn = len(views)
    assert drawn == 3  # KPIs, trend, countries and products: three renders

    other = create_app(app.extensions["portal"].settings)
    other.config["TESTING"] = True
    second = page_post(logged_in(other, "manager@alpha.test"), "overview", query)
    assert second.status_code == 200
    assert len(views) == drawn  # nothing drawn again
    assert second.data == first.data
    # another tenant, the same query: drawn for it, never read from alpha's entries
    beta = page_post(logged_in(other, "manager@beta.test"), "overview", query)
    assert len(views) == drawn + 3 and beta.data != first.data
