"""Structured logs (one JSON object per line on stderr), request ids, error pages.

Every request logs one ``"event": "request"`` line with the request id (also
sent back as ``X-Request-ID``), method, path, status, duration, tenant slug and
user id.  An unhandled error is logged with its traceback and the request id,
and answered with a generic page or JSON: a broken request never takes down a
worker and never shows internals.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

import sqlalchemy.exc
from flask import Flask, g, jsonify, render_template, request
from flask_login import AnonymousUserMixin, current_user
from werkzeug.exceptions import HTTPException

from .auth import wants_json

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if "request_id" not in payload:
            try:
                payload["request_id"] = g.get("request_id")
            except RuntimeError:  # outside a request
                pass
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the portal's loggers (idempotent)."""
    root = logging.getLogger()
    if not any(getattr(h, "_portal", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._portal = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # we log requests ourselves


class ServiceUnavailable(RuntimeError):
    """A service the request needs (e.g. the job queue) cannot be reached.  Answered at
    once with a 503 and the message (the exception's text, written for the user); a
    Dash callback gets the message in its ``children`` outputs instead of an error."""


def init_observability(app: Flask) -> None:
    access = logging.getLogger("portal.access")

    @app.before_request
    def start_request():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):
        started = g.get("request_started")
        duration = round((time.perf_counter() - started) * 1000, 1) if started else None
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-ID"] = request_id
        ctx = g.get("_portal_context")
        user_id = ctx.user_id if ctx else None
        if user_id is None:
            user = current_user._get_current_object() if g.get("_login_user") is not None else None
            user_id = getattr(user, "user_id", None)
        access.info(
            "request", extra={
                "event": "request", "request_id": request_id, "method": request.method,
                "path": request.path, "status": response.status_code, "duration_ms": duration,
                "tenant": ctx.tenant_slug if ctx else None, "user_id": user_id,
            },
        )
        return response

    @app.errorhandler(Exception)
    def unhandled(error):
        if isinstance(error, HTTPException):
            return _http_error(error)
        if isinstance(error, ServiceUnavailable):
            return _service_unavailable(error)
        if type(error).__name__ == "DependencyException":  # Dash: unknown component-suite file
            return _error_response(404, "Not Found", "No such file.")
        if isinstance(error, DATABASE_UNAVAILABLE):
            # The error page must not load the user again from the database that just failed
            # (flask-login keeps the request's user in g._login_user).
            g._login_user = AnonymousUserMixin()
            logging.getLogger("portal.errors").warning(
                "database unavailable: %s", type(error).__name__,
                extra={"event": "database_unavailable", "request_id": g.get("request_id"), "path": request.path},
            )
            response = _error_response(503, "Database unavailable",
                                       "The database is briefly unavailable. Try again in a few seconds.")
            return response[0], 503, {"Retry-After": "5"}
        return log_unhandled(error)


def log_unhandled(error: BaseException):
    """Log an unexpected error with its traceback and answer a generic 500."""
    logging.getLogger("portal.errors").error(
        "unhandled error", exc_info=error,
        extra={"event": "error", "request_id": g.get("request_id"), "path": request.path},
    )
    return _error_response(500, "Something went wrong", "The error has been logged.")


def _service_unavailable(error: ServiceUnavailable):
    message = str(error)
    logging.getLogger("portal.errors").warning(
        "service unavailable: %s", message,
        extra={"event": "service_unavailable", "request_id": g.get("request_id"), "path": request.path})
    if request.path.endswith("/_dash-update-component"):
        body = request.get_json(silent=True) or {}
        outputs = body.get("outputs")
        outputs = outputs if isinstance(outputs, list) else [outputs]
        alert = {"type": "Div", "namespace": "dash_html_components",
                 "props": {"children": message, "className": "alert alert-danger py-2 mb-0", "role": "alert"}}
        answer: dict = {}
        for output in outputs:
            if isinstance(output, dict) and isinstance(output.get("id"), str) and output.get("property") == "children":
                answer.setdefault(output["id"], {})["children"] = alert
        if answer:  # a finished callback: the renderer shows the message and ends "running"
            return jsonify(multi=True, response=answer), 200
    response = _error_response(503, "Service unavailable", message)
    return response[0], 503, {"Retry-After": "30"}


def _http_error(error: HTTPException):
    if error.code and error.code < 400:
        return error
    return _error_response(error.code or 500, error.name, error.description or "")


#: Errors of a database that cannot be reached (restarting, network): 503, try again.
DATABASE_UNAVAILABLE = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
                        sqlalchemy.exc.DisconnectionError)


def _error_response(status: int, title: str, message: str):
    request_id = g.get("request_id")
    if wants_json():
        return jsonify(error=title.lower(), message=message, request_id=request_id), status
    return render_template("error.html", title=title, message=message, request_id=request_id), status
