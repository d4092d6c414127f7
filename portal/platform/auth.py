"""Log in and out: flask-login sessions, the login page, rate limits, the login gate.

* The session lives in Flask's signed cookie; its user id is
  ``"<user id>:<session token>"``, checked against the database on every request,
  so logging out, a password change, a role change or a deactivation (each gives
  the user a new token) ends every earlier session of that user on every worker.
* FAILED sign-ins are limited per address (blocked for the rest of the window)
  and per account (slowed down, never locked), counted in the database every
  worker shares (:mod:`portal.platform.login_limits`); refusals are 429 with ``Retry-After``.
* An unknown email and a wrong password get the same answer, after the same
  password-hash work.
* Everything except the login page, ``/healthz`` and static files needs a login:
  pages redirect to ``/login?next=...``, API and Dash requests get 401 JSON.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, jsonify, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import select

from .accounts import audit, end_sessions, normalize_email, record, verify_password
from .config import Settings
from .db import session_scope
from .login_limits import LoginLimits
from .models import User, utcnow

log = logging.getLogger(__name__)

INVALID_LOGIN = "Invalid email or password."
PUBLIC_ENDPOINTS = frozenset({"login", "healthz", "metrics"})  # /metrics checks its own access
#: Signed e-mail links (digest unsubscribe, invitation and reset) and "forgot password": no login.
PUBLIC_ENDPOINTS |= {"digests.unsubscribe", "account.forgot", "account.set_password"}
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")
API_PREFIXES = ("/_dash-", "/_reload-hash", "/api/", "/export", "/upload")


class LoginUser(UserMixin):
    """The logged-in user as flask-login sees it (a detached snapshot)."""

    def __init__(self, user: User) -> None:
        self.user_id = user.id
        self.session_token = user.session_token
        self.email = user.email
        self.role = user.role
        self.tenant_id = user.tenant_id

    def get_id(self) -> str:
        return f"{self.user_id}:{self.session_token}"


def load_user(value: str) -> LoginUser | None:
    user_id, _, token = value.partition(":")
    if not user_id.isdigit() or not token:
        return None
    with session_scope() as db:
        user = db.get(User, int(user_id))
        if user is None or not user.active or user.session_token != token:
            return None
        return LoginUser(user)


def wants_json() -> bool:
    if request.path.startswith(API_PREFIXES) or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def unauthorized():
    if wants_json():
        return jsonify(error="authentication required", login="/login"), 401
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("login", next=target))


def safe_next(target: str | None) -> str:
    """Only same-site paths: ``/x`` yes, ``//evil.example`` or ``https://...`` no."""
    if not target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return "/"  # browsers strip tabs and newlines: "/\t/evil.example" would become "//evil.example"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or target.startswith("/login"):
        return "/"
    return target


def client_ip() -> str:
    """The client address: the peer, or what the ``PROXY_HOPS`` trusted proxies report."""
    return (request.remote_addr or "")[:64]


TOO_MANY = "Too many failed sign-in attempts. Try again in {seconds} seconds."


def init_auth(app: Flask, settings: Settings) -> LoginLimits:
    login_manager = LoginManager(app)
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    login_manager.session_protection = None  # the session token does this job

    limits = LoginLimits(settings)

    def login():
        next_url = request.args.get("next")
        if request.method == "GET":
            if current_user.is_authenticated:
                return redirect(safe_next(next_url))
            return render_template("login.html", next_url=next_url, notice=request.args.get("notice"))
        email = normalize_email(request.form.get("email", ""))[:254]
        password = request.form.get("password", "")
        verdict = limits.check(client_ip(), email)
        if not verdict.allowed:
            # a log line, not an audit row: a refused attempt must stay cheap under a flood
            log.warning("sign-in refused by the limits", extra={
                "event": "login_limited", "rule": verdict.rule, "retry_after": verdict.retry_after, "ip": client_ip()})
            page = render_template("login.html", error=TOO_MANY.format(seconds=verdict.retry_after),
                                   email=email, next_url=next_url)
            return page, 429, {"Retry-After": str(verdict.retry_after)}
        with session_scope() as db:
            user = db.scalars(select(User).where(User.email == email)).one_or_none()
            valid = verify_password(user, password)  # always hashes: same time either way
            if user is None or not valid or not user.active:
                reason = "unknown_email" if user is None else ("inactive" if valid else "wrong_password")
                audit(db, "login_failed", tenant_id=user.tenant_id if user else None,
                      user_id=user.id if user else None, ip=client_ip(),
                      detail={"email": email, "reason": reason})
                failed = True
            else:
                user.last_login_at = utcnow()
                audit(db, "login", tenant_id=user.tenant_id, user_id=user.id, ip=client_ip(), detail={})
                snapshot = LoginUser(user)
                failed = False
        if failed:
            limits.record_failure(client_ip(), email)
            return render_template("login.html", error=INVALID_LOGIN, email=email, next_url=next_url), 401
        limits.record_success(email)
        session.clear()  # no session fixation: a fresh session for the new login
        login_user(snapshot)
        session.permanent = True
        return redirect(safe_next(next_url))

    def logout():
        if request.method == "GET":
            return render_template("login.html", notice="Use the Log out button to sign out."), 200
        if current_user.is_authenticated:
            # A new session token ends this session and every earlier one of the user, on every
            # worker and host: the cookie's "<id>:<token>" no longer matches the database.
            end_sessions(current_user.user_id)
            record("logout", tenant_id=current_user.tenant_id, user_id=current_user.user_id, ip=client_ip())
        logout_user()
        session.clear()
        response = redirect(url_for("login", notice="You are signed out."))
        response.delete_cookie("_csrf_token", path="/")
        return response

    app.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    app.add_url_rule("/logout", "logout", logout, methods=["GET", "POST"])

    @app.before_request
    def require_login():
        if request.endpoint in PUBLIC_ENDPOINTS or request.path.startswith(PUBLIC_PREFIXES):
            return None
        if not current_user.is_authenticated:
            return unauthorized()
        return None

    return limits
