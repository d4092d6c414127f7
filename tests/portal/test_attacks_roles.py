"""Attack suite, what a role may page through and whose jobs it may read (issue 12,
items 5 and 9): viewers see the first VIEWER_LIST_ROWS customers of a list and no
record lists, managers page through everything; a background job's handles of
another user read, consume and stop nothing (embedded mode: diskcache)."""
from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from portal_testlib import build_app, dash_headers, logged_in, make_settings, small_log



def grid_output(client) -> str:
    """The server callback that answers a grid's requests (through its ``grid-ask`` store)."""
    return next(c["output"] for c in client.get("/_dash-dependencies").json
                if any(i["id"] == '{"list":["MATCH"],"type":"grid-ask"}' for i in c["inputs"])
                and "getRowsResponse" in c["output"])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("roles")
    log = folder / "alpha.csv"
    small_log(60, 3, seed=4).to_csv(log, index=False)
    return build_app(make_settings(folder, viewer_list_rows=10), logs={"alpha": log})


def grid(client, name: str, start: int, end: int, query: str = "", model: dict | None = None):
    grid_id, count_id = {"list": name, "type": "customer-grid"}, {"list": name, "type": "grid-count"}
    ask_id = {"list": name, "type": "grid-ask"}
    body = {"output": grid_output(client), "outputs": [{"id": grid_id, "property": "getRowsResponse"},
                                                       {"id": count_id, "property": "children"}],
            "inputs": [{"id": ask_id, "property": "data",
                        "value": {"startRow": start, "endRow": end, **(model or {})}}],
            "state": [{"id": {"list": name, "type": "grid-query"}, "property": "data", "value": query}],
            "changedPropIds": [json.dumps(ask_id, separators=(",", ":")) + ".data"]}
    answer = client.post("/_dash-update-component", json=body, headers=dash_headers(client))
    assert answer.status_code == 200, answer.data[:300]
    response = answer.json["response"]
    return response[json.dumps(grid_id, separators=(",", ":"))]["getRowsResponse"], \
        response[json.dumps(count_id, separators=(",", ":"))]["children"]


def test_viewers_see_the_first_rows_of_a_customer_list_and_cannot_page_further(site):
    manager, viewer = logged_in(site, "manager@alpha.test"), logged_in(site, "viewer@alpha.test")
    full, _ = grid(manager, "segments", 0, 1000)
    assert full["rowCount"] > 50  # every customer for a manager
    first, label = grid(viewer, "segments", 0, 1000)
    assert first["rowCount"] == 10 and len(first["rowData"]) == 10
    # the same customers as the manager's first ten, in the list's default order
    assert [r["customer_id"] for r in first["rowData"]] == [r["customer_id"] for r in full["rowData"][:10]]
    assert f"10 customers shown of {full['rowCount']}" in label
    beyond, _ = grid(viewer, "segments", 10, 1000)
    assert beyond["rowData"] == [] and beyond["rowCount"] == 10
    # sorting the other way round does not reach other customers: it sorts the ten
    reverse, _ = grid(viewer, "segments", 0, 100, model={"sortModel": [{"colId": "monetary", "sort": "asc"}]})
    assert {r["customer_id"] for r in reverse["rowData"]} == {r["customer_id"] for r in first["rowData"]}
    # a filter that matches none of the ten shows nothing, not the next customers
    hidden = full["rowData"][-1]["customer_id"]
    only, _ = grid(viewer, "segments", 0, 100, model={"filterModel": {"customer_id": {
        "filterType": "text", "type": "equals", "filter": hidden}}})
    assert only["rowData"] == []


@pytest.mark.parametrize("name", ["transactions", "orders"])
def test_viewers_get_no_grid_of_record_lists_managers_do(site, name):
    viewer, manager = logged_in(site, "viewer@alpha.test"), logged_in(site, "manager@alpha.test")
    rows, label = grid(viewer, name, 0, 1000)
    assert rows == {"rowData": [], "rowCount": 0} and "needs the manager role" in label
    rows, _ = grid(manager, name, 0, 1000)
    assert rows["rowCount"] > 100 and len(rows["rowData"]) == min(rows["rowCount"], 1000)
    assert viewer.get(f"/export/{name}.csv").status_code == 403


# --------------------------------------------------------------------------- job ids of another user


def import_body(ref) -> dict:
    return {"output": "import-status.children", "outputs": {"id": "import-status", "property": "children"},
            "inputs": [{"id": "upload-ref", "property": "data", "value": ref}], "state": [],
            "changedPropIds": ["upload-ref.data"]}


def test_job_handles_of_another_user_read_and_stop_nothing(site):
    owner, other_admin = logged_in(site, "admin@alpha.test"), logged_in(site, "admin@beta.test")
    staged = owner.post("/upload", data=small_log(20, 2, seed=8).to_csv(index=False).encode(),
                        content_type="application/octet-stream",
                        headers={**dash_headers(owner), "X-Filename": "owner.csv"})
    ref = {"upload": staged.json["upload"], "filename": "owner.csv"}
    submitted = owner.post("/_dash-update-component", json=import_body(ref), headers=dash_headers(owner))
    assert submitted.status_code == 200, submitted.data[:300]
    handles = {"cacheKey": submitted.json["cacheKey"], "job": submitted.json["job"]}
    time.sleep(8)  # the job finishes; nobody has polled it yet
    for attacker in (other_admin, logged_in(site, "manager@alpha.test")):
        for extra in ({}, {"oldJob": handles["job"]}):  # read it, or "cancel" it
            answer = attacker.post(f"/_dash-update-component?{urlencode({**handles, **extra})}",
                                   json=import_body(None), headers=dash_headers(attacker))
            assert answer.status_code in (200, 204, 403), answer.status_code
            assert "Imported" not in answer.get_data(as_text=True)
    deadline, text = time.monotonic() + 90, ""
    while "Imported version" not in text and time.monotonic() < deadline:
        text = owner.post(f"/_dash-update-component?{urlencode(handles)}", json=import_body(ref),
                          headers=dash_headers(owner)).get_data(as_text=True)
        time.sleep(0.5)
    assert "Imported version 2" in text  # neither consumed nor stopped by the others
