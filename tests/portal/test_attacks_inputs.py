"""Attack suite, odd input, request size and what the portal gives away (issue 12,
items 4, 7 and 8): every answer is a 400/413 or a clear empty state, never a 500,
and nothing about the server (Python build, worker pid, database or cache kind)
reaches an anonymous caller or a page."""
from __future__ import annotations

import json
import re

import pytest
from portal_testlib import PASSWORD, build_app, dash_headers, dash_post, logged_in, make_settings, small_log

ODD_QUERIES = ("?start=0001-01-01&end=9999-12-31", "?start=9999-12-31", "?end=0001-01-01",
               "?start=1677-09-21&end=2262-04-12", f"?customer={10 ** 30}", f"?view={10 ** 30}",
               f"?dataset_id={10 ** 30}&version={10 ** 20}")
PAGES = ("/", "/segments", "/clusters", "/cohorts", "/geography", "/churn", "/value", "/profile", "/products",
         "/views", "/data")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    log = folder / "alpha.csv"
    small_log(40, 3, seed=1).to_csv(log, index=False)
    return build_app(make_settings(folder), logs={"alpha": log})


def router_body(client, path: str, search: str) -> dict:
    router = next(c["output"] for c in client.get("/_dash-dependencies").json if "_pages_content" in c["output"])
    return {"output": router, "outputs": [{"id": "_pages_content", "property": "children"},
                                          {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                       {"id": "_pages_location", "property": "search", "value": search}],
            "state": [], "changedPropIds": ["_pages_location.pathname"]}


def page_callbacks(client) -> list[dict]:
    """Every server callback whose inputs include a page's query store or the URL."""
    return [d for d in client.get("/_dash-dependencies").json if not d.get("clientside_function")
            and any(i["property"] in ("data", "search") for i in d["inputs"] + d.get("state", []))]


def concrete_id(spec: str):
    if not spec.startswith("{"):
        return spec
    return {k: ("segments" if isinstance(v, list) else v) for k, v in json.loads(spec).items()}


def forged(dependency: dict, path: str, search: str) -> dict:
    def entries(items):
        values = {"search": search, "data": search, "pathname": path}
        return [{"id": concrete_id(i["id"]), "property": i["property"], "value": values.get(i["property"])}
                for i in items]

    output = dependency["output"]
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    outputs = [{"id": concrete_id(p.rsplit(".", 1)[0]), "property": p.rsplit(".", 1)[1].split("@")[0]}
               for p in parts]
    return {"output": output, "outputs": outputs if output.startswith("..") else outputs[0],
            "inputs": entries(dependency["inputs"]), "state": entries(dependency.get("state", [])),
            "changedPropIds": []}


def test_odd_dates_and_huge_ids_in_bookmarked_urls_never_answer_500(site):
    client = logged_in(site, "admin@alpha.test")
    statuses = {}
    for path in PAGES:
        for search in ODD_QUERIES:
            answer = client.post("/_dash-update-component", json=router_body(client, path, search),
                                 headers=dash_headers(client))
            statuses[(path, search)] = answer.status_code
            assert client.get(path + search).status_code == 200, path + search
    assert set(statuses.values()) == {200}, {k: v for k, v in statuses.items() if v != 200}
    for name in ("segments", "orders", "transactions"):
        assert client.get(f"/export/{name}.csv?start=0001-01-01&end=9999-12-31").status_code == 200


def test_every_page_callback_with_odd_queries_answers_without_500(site):
    client = logged_in(site, "admin@alpha.test")
    failures, sent = [], 0
    for dependency in page_callbacks(client):
        for path in ("/", "/segments", "/churn", "/value"):
            for search in ODD_QUERIES[:4]:
                answer = client.post("/_dash-update-component", json=forged(dependency, path, search),
                                     headers=dash_headers(client))
                sent += 1
                if answer.status_code >= 500:
                    failures.append(f"{answer.status_code} {dependency['output'][:80]} {path}{search}")
    assert sent > 100 and not failures, "\n".join(failures[:20])


def test_the_whole_date_range_is_everything_and_an_empty_range_says_so(site):
    from portal.dashboard.filters import Filters

    wide = Filters.from_query("?start=0001-01-01&end=9999-12-31")
    assert (wide.start.isoformat(), wide.end.isoformat()) == ("1970-01-01", "2099-12-31")
    client = logged_in(site, "manager@alpha.test")
    everything = client.get("/export/segments.csv").headers["X-Export-Rows"]
    assert client.get("/export/segments.csv?start=0001-01-01&end=9999-12-31").headers["X-Export-Rows"] == everything
    future = client.get("/export/segments.csv?start=9999-12-31").headers["X-Export-Rows"]
    assert future == "0"


def test_dataset_versions_and_ids_too_big_for_the_database(site):
    client = logged_in(site, "admin@alpha.test")
    for version in (10 ** 20, -(10 ** 20), "1e400", "NaN"):
        answer = dash_post(client, "dataset-report.children",
                           [{"id": "datasets-grid", "property": "selectedRows", "value": [{"version": version}]}])
        assert answer.status_code == 200, version
        assert "That version does not exist." in answer.get_data(as_text=True)
    with site.app_context():
        from portal.data import storage
        from portal.platform.tenancy import context_for_user

        ctx = context_for_user(1)
        for bad in (10 ** 30, -(10 ** 30)):
            with pytest.raises(storage.DatasetNotFound):
                storage.get_dataset(ctx, bad)


def test_deeply_nested_json_gets_400(site):
    client = logged_in(site, "viewer@alpha.test")
    for depth in (45, 500, 100_000):  # the last is deeper than Python's JSON parser goes
        raw = ('{"output":"overview-kpis.children","outputs":{"id":"overview-kpis","property":"children"},'
               '"inputs":[{"id":"a","property":"data","value":' + "[" * depth + "]" * depth + '}],'
               '"state":[],"changedPropIds":[]}')
        answer = client.post("/_dash-update-component", data=raw, content_type="application/json",
                             headers=dash_headers(client))
        assert answer.status_code == 400, depth
        assert "nests deeper than 40 levels" in answer.json["message"]


def test_unknown_callbacks_and_mismatched_outputs_get_400(site):
    client = logged_in(site, "viewer@alpha.test")
    unknown = {"output": "nothing.children", "outputs": {"id": "nothing", "property": "children"},
               "inputs": [], "state": [], "changedPropIds": []}
    assert client.post("/_dash-update-component", json=unknown, headers=dash_headers(client)).status_code == 400
    grid = next(d for d in client.get("/_dash-dependencies").json if "customer-grid" in d["output"])
    body = forged(grid, "/segments", "")
    body["outputs"] = [{"id": "customer-grid", "property": "getRowsResponse"}]  # not the definition's shape
    assert client.post("/_dash-update-component", json=body, headers=dash_headers(client)).status_code == 400


# --------------------------------------------------------------------------- body caps


def test_every_body_is_capped_before_it_is_read(site):
    client = logged_in(site, "viewer@alpha.test")
    body = b'{"output": "' + b"x" * (1024 * 1024 + 1) + b'"}'
    answer = client.post("/_dash-update-component", data=body, content_type="application/json",
                         headers=dash_headers(client))
    assert answer.status_code == 413 and "MAX_REQUEST_KB" in answer.json["message"]
    # anonymous, on the login form: the same cap (and nothing else happens)
    anonymous = site.test_client()
    assert anonymous.post("/login", data={"email": "a" * (1024 * 1024 + 10)}).status_code == 413


# --------------------------------------------------------------------------- leaks


def test_pages_do_not_name_the_python_build_and_no_worker_pid_header(site):
    import sys

    client = logged_in(site, "viewer@alpha.test")
    page = client.get("/segments")
    text = page.get_data(as_text=True)
    config = json.loads(re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', text,
                                  re.S).group(1))
    assert "python_version" not in config and sys.version.split()[0] not in text
    assert config["requests_pathname_prefix"] == "/" and config["dash_version"]  # the rest is intact
    for response in (page, client.get("/healthz"), client.get("/login"), client.get("/_dash-layout")):
        assert "X-Worker-PID" not in response.headers


def test_reload_hash_is_not_served(site):
    assert logged_in(site, "admin@alpha.test").get("/_reload-hash").status_code == 404
    assert site.test_client().get("/_reload-hash").status_code == 404


def test_anonymous_healthz_names_no_database_or_cache(site):
    body = site.test_client().get("/healthz").get_data(as_text=True)
    assert json.loads(body) == {"status": "ok"}
    assert "sqlite" not in body and "filesystem" not in body.lower()


def test_adding_a_user_does_not_tell_which_tenant_holds_an_address(site):
    client = logged_in(site, "admin@alpha.test")

    def add(email: str) -> str:
        answer = dash_post(client, "..users-grid.rowData...users-status.children...new-user-password.value..",
                           [{"id": "add-user", "property": "n_clicks", "value": 1},
                            {"id": "deactivate-user", "property": "n_clicks", "value": None},
                            {"id": "change-role", "property": "n_clicks", "value": None}],
                           [{"id": "new-user-email", "property": "value", "value": email},
                            {"id": "new-user-role", "property": "value", "value": "viewer"},
                            {"id": "new-user-password", "property": "value", "value": PASSWORD},
                            {"id": "users-grid", "property": "selectedRows", "value": None}],
                           changed=["add-user.n_clicks"])
        assert answer.status_code == 200
        status = answer.json["response"]["users-status"]["children"]
        return json.dumps(status)

    other_tenant = add("viewer@beta.test")
    own_tenant = add("viewer@alpha.test")
    assert other_tenant.replace("beta", "X") == own_tenant.replace("alpha", "X")  # one answer for both
    assert "a portal login with this address already exists" in other_tenant and "tenant" not in other_tenant.lower()
    for i in range(8):  # ten refusals an hour, then every addition is refused for the hour
        add(f"viewer@beta.test".replace("viewer", ["admin", "manager", "viewer"][i % 3]))
    assert "Too many additions were refused" in add("someone.new@alpha.test")
