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

from flask import Flask, jsonify, request

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


def problem(body: Any) -> str | None:
    """What is malformed in a callback request body, or None."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
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


def arity_problem(body: dict, callback_map: dict) -> str | None:
    """Whether the request names a declared callback with as many inputs and states as it declares
    (Dash indexes them by position and fails with an IndexError on a short list)."""
    declared = callback_map.get(body.get("output")) if isinstance(body.get("output"), str) else None
    if declared is None:
        return "no such callback"
    for section in ("inputs", "state"):
        if len(body.get(section, [])) != len(declared.get(section, [])):
            return f"{section} do not match the callback's {len(declared.get(section, []))}"
    return None


def init_callback_guard(app: Flask) -> None:
    @app.before_request
    def check_callback_request():
        if request.method != "POST" or not request.path.endswith("/_dash-update-component"):
            return None
        body = request.get_json(silent=True)
        issue = problem(body)
        if issue is None:
            dash_app = getattr(app.extensions.get("portal"), "dash", None)
            issue = arity_problem(body, dash_app.callback_map) if dash_app is not None else None
        if issue:
            return jsonify(error="bad callback request", message=issue), 400
        return None
