"""portal.platform.callback_guard: malformed callback requests get 400 before any callback runs."""
from __future__ import annotations

from portal_testlib import callback_outputs, dash_post, logged_in

STATE = [{"id": "new-user-email", "property": "value", "value": None},
         {"id": "new-user-role", "property": "value", "value": "viewer"},
         {"id": "new-user-password", "property": "value", "value": None},
         {"id": "users-grid", "property": "selectedRows", "value": []}]
INPUTS = [{"id": "add-user", "property": "n_clicks", "value": None},
          {"id": "deactivate-user", "property": "n_clicks", "value": 1},
          {"id": "change-role", "property": "n_clicks", "value": None}]


def test_a_request_with_fewer_or_more_inputs_than_declared_gets_400(app):
    client = logged_in(app, "admin@alpha.test")
    output = next(o for o in callback_outputs(client) if "users-grid.rowData" in o)
    whole = dash_post(client, output, INPUTS, STATE, changed=["deactivate-user.n_clicks"])
    assert whole.status_code == 200 and "Select a user first" in whole.get_data(as_text=True)
    for inputs, state in ((INPUTS[:2], STATE), (INPUTS, STATE[:3]), (INPUTS + INPUTS[:1], STATE), ([], [])):
        response = dash_post(client, output, inputs, state, changed=["deactivate-user.n_clicks"])
        assert response.status_code == 400, (len(inputs), len(state))
        assert "do not match" in response.json["message"]


def test_an_undeclared_callback_gets_400(app):
    client = logged_in(app, "admin@alpha.test")
    response = dash_post(client, "no-such.children", INPUTS[:1])
    assert response.status_code == 400 and response.json["message"] == "no such callback"
