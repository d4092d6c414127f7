"""Log in and out: flask-login sessions, the login page, rate limits, the login gate.

* The session lives in Flask's signed cookie; its user id is
  ``"<user id>:<session token>"``, checked against the database on every request,
  so logging out, a password change, a role change or a deactivation (each gives
  the user a new token) ends every earlier session of that user on every worker.
* Sign-in attempts are rate-limited per address AND per submitted email
  (``LOGIN_RATE_LIMIT``, storage Redis when ``REDIS_URL`` is set).
* An unknown email and a wrong password get the same answer, after the same
  password-hash work.
* Everything except the login page, ``/healthz`` and static files needs a login:
  pages redirect to ``/login?next=...``, API and Dash requests get 401 JSON.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, jsonify, redirect, render_template, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import select

from .accounts import audit, end_sessions, normalize_email, record, verify_password
from .config import Settings
from .db import session_scope
from .models import User, utcnow

log = logging.getLogger(__name__)

INVALID_LOGIN = "Invalid email or password."
PUBLIC_ENDPOINTS = frozenset({"login", "healthz"})
#: Signed e-mail links (digest unsubscribe, invitation and reset) and "forgot password": no login.
PUBLIC_ENDPOINTS |= {"digests.unsubscribe", "account.forgot", "account.set_password"}
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")
API_PREFIXES = ("/_dash-", "/_reload-hash", "/api/", "/export")


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
    return (get_remote_address() or "")[:64]


def _account_key() -> str:
    return "account:" + normalize_email(request.form.get("email", ""))[:254]


def init_auth(app: Flask, settings: Settings) -> Limiter:
    login_manager = LoginManager(app)
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    login_manager.session_protection = None  # the session token does this job

    limiter = Limiter(
        key_func=get_remote_address, app=app,
        storage_uri=settings.redis_url or "memory://",
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 2} if settings.redis_url else {},
        strategy="fixed-window", key_prefix=f"{settings.cache_prefix}-limits",
        swallow_errors=True, in_memory_fallback_enabled=True, headers_enabled=False,
    )
    message = "Too many sign-in attempts. Wait a minute and try again."
    per_address = limiter.limit(settings.login_rate_limit, methods=["POST"], error_message=message,
                                key_func=lambda: "address:" + get_remote_address())
    per_account = limiter.limit(settings.login_rate_limit, methods=["POST"], error_message=message,
                                key_func=_account_key)

    @per_address
    @per_account
    def login():
        next_url = request.args.get("next")
        if request.method == "GET":
            if current_user.is_authenticated:
                return redirect(safe_next(next_url))
            return render_template("login.html", next_url=next_url, notice=request.args.get("notice"))
        email = normalize_email(request.form.get("email", ""))[:254]
        password = request.form.get("password", "")
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
            return render_template("login.html", error=INVALID_LOGIN, email=email, next_url=next_url), 401
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

    @app.errorhandler(429)
    def too_many(error):
        if request.endpoint == "login":
            return render_template("login.html", error=message, next_url=request.args.get("next")), 429
        return jsonify(error="too many requests"), 429

    @app.before_request
    def require_login():
        if request.endpoint in PUBLIC_ENDPOINTS or request.path.startswith(PUBLIC_PREFIXES):
            return None
        if not current_user.is_authenticated:
            return unauthorized()
        return None

    return limiter
