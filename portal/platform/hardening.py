"""What the portal does not give away, and what it does not read.

* :class:`PortalDash`: every page's Dash config (``<script id="_dash-config">``)
  without ``python_version`` (the exact interpreter build tells an attacker which
  CVEs to try).
* ``/_reload-hash`` (Dash's hot-reload poll, which lists every component package
  path) answers 404: hot reload is never on in this app.
* Request bodies: every request except the upload endpoint is capped at
  ``MAX_REQUEST_KB`` (default 1 MB) and answered 413 BEFORE its body is read:
  from ``Content-Length`` when sent, and by Werkzeug's limited input stream for
  chunked bodies (``MAX_CONTENT_LENGTH``).  Uploads have their own endpoint and
  cap (:mod:`portal.data.uploads`).
"""
from __future__ import annotations

import json
import re

import dash
from flask import Flask, jsonify, request
from sqlalchemy.exc import DataError

from .config import Settings

_CONFIG_TAG = re.compile(r'(<script id="_dash-config" type="application/json">)(.*?)(</script>)', re.S)
#: Keys of Dash's front-end config that describe the server, not the app.
HIDDEN_CONFIG_KEYS = ("python_version",)
#: Dash routes this app never serves.
BLOCKED_PATHS = ("/_reload-hash",)


def without_server_details(config_html: str) -> str:
    """The ``_dash-config`` script tag without :data:`HIDDEN_CONFIG_KEYS`."""
    def clean(match: re.Match) -> str:
        config = json.loads(match.group(2))
        for key in HIDDEN_CONFIG_KEYS:
            config.pop(key, None)
        body = json.dumps(config, separators=(",", ":")).replace("</", "<\\/")
        return match.group(1) + body + match.group(3)

    return _CONFIG_TAG.sub(clean, config_html)


class PortalDash(dash.Dash):
    """``dash.Dash`` whose index page keeps the server's details to itself."""

    def interpolate_index(self, **kwargs):
        kwargs["config"] = without_server_details(kwargs.get("config", ""))
        return super().interpolate_index(**kwargs)


def too_large(limit: int):
    return jsonify(error="request too large",
                   message=f"The request body is larger than {limit // 1024} KB (MAX_REQUEST_KB)."), 413


def init_hardening(app: Flask, settings: Settings, *, upload_endpoints: tuple[str, ...] = ()) -> None:
    """Register the body cap and the blocked paths; call before other before_request hooks."""
    limit = settings.max_request_bytes
    # Werkzeug refuses longer bodies (also chunked ones) when they are read; the upload
    # endpoint raises its own request.max_content_length before reading.
    app.config["MAX_CONTENT_LENGTH"] = limit
    app.config["MAX_FORM_MEMORY_SIZE"] = limit

    def cap_body():
        if request.path in BLOCKED_PATHS:
            return jsonify(error="not found"), 404
        if request.endpoint in upload_endpoints:
            return None
        length = request.content_length
        if length is not None and length > limit:
            return too_large(limit)
        return None

    # first of all before_request hooks: nothing may read the body before this check
    app.before_request_funcs.setdefault(None, []).insert(0, cap_body)

    @app.errorhandler(413)
    def entity_too_large(_error):
        return too_large(limit)


    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def value_out_of_range(_error):
        # An id or version the database cannot even hold (10**20, 10**30): no such thing.
        from .observability import _error_response

        return _error_response(400, "Bad request", "A value in the request is out of range.")
