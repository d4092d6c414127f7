"""portal.platform.dash_compat, the one home of private Dash names, on the installed Dash.

Each adapter is exercised on a real Dash app (and a real Celery app object): a Dash
release that renames, moves or reshapes one of the names fails here, with the name,
before it fails in the portal."""
from __future__ import annotations

import inspect
import json

import dash
import diskcache
import pytest
from dash import Input, Output, html
from flask import Flask

from portal.platform import dash_compat


def test_the_installed_dash_is_the_one_the_names_were_read_from():
    assert dash.__version__ == dash_compat.DASH_VERSION, (
        "Dash was upgraded: check every private name in portal/platform/dash_compat.py against the new "
        "release (this file's tests), then update DASH_VERSION")


def _app(server: Flask | None = None) -> dash.Dash:
    app = dash.Dash(__name__, server=server or Flask(__name__), suppress_callback_exceptions=True)
    app.layout = html.Div([html.Button(id="press"), html.Div(id="out")])
    return app


def test_claim_global_callbacks_moves_dash_callbacks_to_one_app():
    first, second = _app(), _app()

    @dash.callback(Output("out", "children"), Input("press", "n_clicks"))
    def echo(n_clicks):
        return n_clicks

    dash_compat.claim_global_callbacks(first)
    assert "out.children" in first.callback_map
    assert [c["output"] for c in first._callback_list] == ["out.children"]  # noqa: SLF001
    dash_compat.claim_global_callbacks(second)
    assert "out.children" not in second.callback_map


def test_set_up_server_now_runs_dash_first_request_setup():
    server = Flask(__name__)
    app = _app(server)
    assert not dash_compat.is_set_up(app)
    dash_compat.set_up_server_now(server, app)
    assert dash_compat.is_set_up(app)
    page = server.test_client().get("/")
    assert page.status_code == 200 and "dash-renderer" in page.get_data(as_text=True)


def test_callback_context_value_is_the_running_callbacks_context():
    server = Flask(__name__)
    app = _app(server)
    seen = {}

    @app.callback(Output("out", "children"), Input("press", "n_clicks"))
    def remember(n_clicks):
        value = dash_compat.callback_context_value()
        seen["inputs"] = value.get("inputs_list")
        return str(n_clicks)

    body = {"output": "out.children", "outputs": {"id": "out", "property": "children"},
            "inputs": [{"id": "press", "property": "n_clicks", "value": 3}], "changedPropIds": ["press.n_clicks"],
            "state": []}
    response = server.test_client().post("/_dash-update-component", data=json.dumps(body),
                                         content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert seen["inputs"] == [{"id": "press", "property": "n_clicks", "value": 3}]


def test_background_manager_keys(tmp_path):
    manager = dash.DiskcacheManager(diskcache.Cache(str(tmp_path)))
    assert dash_compat.progress_key(manager, "job-1") == "job-1-progress"
    assert dash_compat.set_props_key(manager, "job-1") == "job-1-set_props"


def test_celery_job_fn_registers_one_named_task():
    celery = pytest.importorskip("celery", reason="celery is in requirements.txt: pip install -r requirements.txt")
    from dash.background_callback.managers.celery_manager import _make_job_fn

    assert list(inspect.signature(_make_job_fn).parameters) == ["fn", "celery_app", "progress", "key"]
    app = celery.Celery("compat-test", broker="memory://", backend="cache+memory://", set_as_current=False)

    def work(value):
        return value * 2

    task = dash_compat.celery_job_fn(work, app, False, "abc123")
    assert task.name == "background_callback_abc123"
    assert app.tasks["background_callback_abc123"] is app.tasks[task.name]
    # what PortalCeleryManager.call_job_fn sends with apply_async
    assert list(inspect.signature(task.run).parameters) == ["result_key", "progress_key", "user_callback_args",
                                                            "context"]
