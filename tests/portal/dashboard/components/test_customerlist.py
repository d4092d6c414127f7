"""portal.dashboard.components.customerlist: a list's first rows come with the page's one
callback, under the same role policy as the grid's own requests."""
from __future__ import annotations

import json

from portal_testlib import dash_headers, logged_in

LIST = {"list": "segments", "type": "grid-first"}


def _page_request(client, query: str) -> dict:
    spec = next(c for c in client.get("/_dash-dependencies").json
                if [i["id"] for i in c["inputs"]] == ["segments-query"])
    parts = spec["output"].strip(".").split("...")
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts[:-1]]
    body = {"output": spec["output"], "outputs": [*outputs, [{"id": LIST, "property": "data"}]],
            "inputs": [{"id": "segments-query", "property": "data", "value": query}],
            "state": [[{"id": LIST, "property": "data", "value": {"size": 5, "wait": True}}],
                      [{"id": {"list": "segments", "type": "grid-query"}, "property": "data", "value": query}]],
            "changedPropIds": ["segments-query.data"]}
    answer = client.post("/_dash-update-component", json=body, headers=dash_headers(client))
    assert answer.status_code == 200, answer.data[:300]
    return answer.json["response"][json.dumps(LIST, separators=(",", ":"))]["data"]


def _grid(client, query: str, request: dict) -> dict:
    """The rows the grid's own server callback answers for ``request``."""
    spec = next(c for c in client.get("/_dash-dependencies").json
                if any(i["id"] == '{"list":["MATCH"],"type":"grid-ask"}' for i in c["inputs"]))
    grid_id, count_id = {"list": "segments", "type": "customer-grid"}, {"list": "segments", "type": "grid-count"}
    ask = {"list": "segments", "type": "grid-ask"}
    body = {"output": spec["output"], "outputs": [{"id": grid_id, "property": "getRowsResponse"},
                                                  {"id": count_id, "property": "children"}],
            "inputs": [{"id": ask, "property": "data", "value": request}],
            "state": [{"id": {"list": "segments", "type": "grid-query"}, "property": "data", "value": query}],
            "changedPropIds": [json.dumps(ask, separators=(",", ":")) + ".data"]}
    answer = client.post("/_dash-update-component", json=body, headers=dash_headers(client))
    assert answer.status_code == 200, answer.data[:300]
    return answer.json["response"][json.dumps(grid_id, separators=(",", ":"))]["getRowsResponse"]


def test_the_first_rows_come_with_the_figures_as_the_grid_would_get_them(dashboard_app, alpha_reference):
    _, _, rfm = alpha_reference
    client = logged_in(dashboard_app, "manager@alpha.test")
    first = _page_request(client, "?country=France")
    assert first["request"]["startRow"] == 0 and first["request"]["endRow"] == 5
    assert first["response"] == _grid(client, "?country=France", first["request"])
    assert first["response"]["rowCount"] == int((rfm["country"] == "France").sum())
    assert len(first["response"]["rowData"]) == 5
    assert first["count"] == f"{first['response']['rowCount']:,} customers"
    # a viewer's first rows follow the viewer policy, as the grid's own answer does (not memoised)
    viewer = logged_in(dashboard_app, "viewer@alpha.test")
    seen = _page_request(viewer, "")
    assert seen["response"] == _grid(viewer, "", seen["request"])
    assert seen["response"]["rowCount"] == min(len(rfm), 100) and "shown of" in seen["count"]
