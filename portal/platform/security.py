"""Security headers, CSRF for forms and Dash callbacks, session-cookie settings.

CSRF: Flask-WTF's ``CSRFProtect`` checks every POST.  HTML forms carry the
``csrf_token`` field; dash-renderer sends the header ``X-CSRFToken`` with the
value of the cookie ``_csrf_token`` when that cookie exists, so logged-in
responses set it (not HttpOnly: the renderer must read it).  The token is bound
to the session, which is bound to the user's session token.

Content-Security-Policy: scripts only from this origin plus the SHA-256 hashes
of Dash's own inline scripts (``Dash.csp_hashes()``); no ``'unsafe-inline'`` and
no ``'unsafe-eval'`` for scripts.  Styles need ``'unsafe-inline'`` (React, Plotly
and AG Grid set inline styles).  Checked in a real browser by the test suite.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, request
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect, generate_csrf

from . import dash_compat
from .config import Settings

CSRF_COOKIE = "_csrf_token"
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")


def configure_session(app: Flask, settings: Settings) -> None:
    app.config.update(
        SECRET_KEY=settings.resolved_secret_key(),
        SESSION_COOKIE_NAME="portal_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.session_cookie_secure,
        # The token is tied to the session; it lives as long as the session does, so
        # a dashboard left open for hours can still run its callbacks.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_HEADERS=["X-CSRFToken", "X-CSRF-Token"],
        # Request bodies are capped by portal.platform.hardening (MAX_REQUEST_KB; uploads: MAX_UPLOAD_MB).
    )


def content_security_policy(script_hashes: list[str]) -> str:
    scripts = " ".join(["'self'", *script_hashes])
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def init_security(app: Flask, settings: Settings, dash_app) -> CSRFProtect:
    csrf = CSRFProtect(app)
    hashes: dict[str, list[str]] = {}

    def script_hashes() -> list[str]:
        # Dash adds inline scripts (renderer start, page-title callback) while it sets
        # itself up on the first request; hash them once that is done.
        ready = dash_compat.is_set_up(dash_app)
        if "value" in hashes:
            return hashes["value"]
        value = [h if h.startswith("'") else f"'{h}'" for h in dash_app.csp_hashes()]
        if ready:
            hashes["value"] = value
        return value

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy(script_hashes()))
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if settings.production or settings.session_cookie_secure:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if request.path.startswith(STATIC_PREFIXES):
            return response
        # Tenant data must not be kept by shared caches or the back-forward cache.
        headers["Cache-Control"] = "no-store"
        # Not on server errors: reading the user again would fail again (database down).
        if response.status_code < 500 and request.endpoint not in ("logout", "healthz") \
                and current_user.is_authenticated:
            response.set_cookie(CSRF_COOKIE, generate_csrf(), httponly=False, samesite="Lax",
                                secure=settings.session_cookie_secure, path="/")
        return response

    return csrf
