"""Shape checks of Dash callback requests, before any callback runs.

dash-renderer always sends ``{"output", "outputs", "inputs", "state",
"changedPropIds"}`` with entries ``{"id", "property", "value"}`` whose values
have the types of the component properties.  A hand-written request may send
anything: a number as a pathname, a dict as a dropdown value.  Such a request
gets a 400 here instead of reaching a callback (or Dash's own page router) that
would fail on it with a 500.  Callbacks still validate meaning (ids, roles,
tenants); this layer only refuses malformed types.
"""
from __future__ import annotations

from typing import Any

from dash.exceptions import CallbackException
from flask import Flask, current_app, jsonify, request

SCALAR = (str, int, float, bool, type(None))

#: property -> accepted types of its value (properties not listed accept any JSON).
PROPERTY_TYPES: dict[str, tuple[type, ...]] = {
    "pathname": (str, type(None)),
    "search": (str, type(None)),
    "hash": (str, type(None)),
    "href": (str, type(None)),
    "n_clicks": (int, type(None)),
    "n_intervals": (int, type(None)),
    "n_submit": (int, type(None)),
    "start_date": (str, type(None)),
    "end_date": (str, type(None)),
    "date": (str, type(None)),
    "contents": (str, type(None)),
    "filename": (str, type(None)),
    "selectedRows": (list, type(None)),
    "getRowsRequest": (dict, type(None)),
    "clickData": (dict, type(None)),
    "cellClicked": (dict, type(None)),
    "value": (str, int, float, bool, list, type(None)),
}
MAX_ENTRIES = 500
#: Deepest nesting of lists/objects accepted in a callback body (dash-renderer's own
#: requests stay under 15: pattern-matching ids, AG Grid filter models, figures' clickData).
MAX_DEPTH = 40


def depth_over(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists/dicts deeper than ``limit`` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def problem(body: Any) -> str | None:
    """What is malformed in a callback request body, or None."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if depth_over(body):
        return f"the body nests deeper than {MAX_DEPTH} levels"
    for section in ("inputs", "state"):
        entries = body.get(section, [])
        if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
            return f"{section} is not a list"
        for entry in entries:
            for item in entry if isinstance(entry, list) else [entry]:  # ALL wildcards nest a list
                issue = _entry_problem(item)
                if issue:
                    return f"{section}: {issue}"
    return None


def _entry_problem(item: Any) -> str | None:
    if not isinstance(item, dict) or "property" not in item or "id" not in item:
        return "an entry is not {id, property, value}"
    prop = item["property"]
    if not isinstance(prop, str) or not isinstance(item["id"], (str, dict)):
        return "an entry's id or property has the wrong type"
    expected = PROPERTY_TYPES.get(prop)
    value = item.get("value")
    if expected is None:
        return None
    if isinstance(value, bool) and bool not in expected:
        return f"{prop} is not a {expected[0].__name__}"
    if not isinstance(value, expected):
        return f"{prop} is not a {expected[0].__name__}"
    if prop == "value" and isinstance(value, list) and not all(isinstance(v, SCALAR) for v in value):
        return "value holds nested objects"
    if prop == "pathname" and isinstance(value, str) and not value.startswith("/"):
        return "pathname does not start with /"
    return None


def _unknown_callback(body: dict) -> str | None:
    """Dash answers a request for a callback it does not have with a KeyError (500), and one
    with fewer inputs than declared with an IndexError (500)."""
    dash_app = current_app.extensions["portal"].dash
    output = body.get("output")
    if not isinstance(output, str) or (dash_app is not None and output not in dash_app.callback_map):
        return "no such callback"
    if dash_app is None:
        return None
    spec = dash_app.callback_map[output]
    outputs = body.get("outputs")
    if output.startswith(".."):
        if not isinstance(outputs, list) or len(outputs) != len(output.strip(".").split("...")):
            return "outputs do not match the callback"
    elif not isinstance(outputs, dict):
        return "outputs do not match the callback"
    for section in ("inputs", "state"):
        if len(body.get(section) or []) != len(spec.get(section) or []):
            return f"{section} do not match the callback"
    return None


def init_callback_guard(app: Flask) -> None:
    @app.before_request
    def check_callback_request():
        if request.method != "POST" or not request.path.endswith("/_dash-update-component"):
            return None
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # nesting deeper than the JSON parser goes
            issue = f"the body nests deeper than {MAX_DEPTH} levels"
        else:
            issue = problem(body) or _unknown_callback(body)
        if issue:
            return jsonify(error="bad callback request", message=issue), 400
        return None


    @app.errorhandler(CallbackException)
    def callback_mismatch(error):
        # Dash checks a request's outputs against the callback's definition and raises
        # this when a hand-written request does not match: the request is bad, not the server.
        # Its subclasses (a callback returning a wrong value...) are server faults: 500 and logged.
        if type(error) is not CallbackException:
            from .observability import log_unhandled

            return log_unhandled(error)
        return jsonify(error="bad callback request", message=str(error)[:200]), 400
