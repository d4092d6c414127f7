"""Self-service for the signed-in user: ``/account/password`` changes their own password.

The current password is required (and its wrong guesses count against the same
sign-in limits as the login form, so a stolen session cannot brute-force it);
the new one must pass :func:`portal.platform.accounts.password_problem`.  A change
replaces the user's session token, which ends EVERY session of the user, this
one included, and is written to the audit log; the user signs in again.
"""
from __future__ import annotations

from flask import Flask, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from sqlalchemy import select

from .accounts import AccountError, password_problem, record, set_password, verify_password
from .auth import TOO_MANY, client_ip
from .db import session_scope
from .models import User

CHANGED = "Your password has been changed and every session of yours has ended. Sign in with the new password."


def init_account(app: Flask) -> None:
    def change_password():
        if request.method == "GET":
            return render_template("password.html", email=current_user.email)
        limits = current_app.extensions["portal"].limiter
        verdict = limits.check(client_ip(), current_user.email)
        if not verdict.allowed:
            page = render_template("password.html", email=current_user.email,
                                   error=TOO_MANY.format(seconds=verdict.retry_after))
            return page, 429, {"Retry-After": str(verdict.retry_after)}
        current = request.form.get("current_password", "")
        new, again = request.form.get("new_password", ""), request.form.get("new_password_again", "")
        with session_scope() as db:
            user = db.scalars(select(User).where(User.id == current_user.user_id)).one()
            valid = verify_password(user, current)
        if not valid:
            limits.record_failure(client_ip(), current_user.email)
            record("password_change_failed", tenant_id=current_user.tenant_id, user_id=current_user.user_id,
                   ip=client_ip(), detail={"reason": "wrong_current_password"})
            return _error("The current password is not right.")
        problem = ("The two new passwords differ." if new != again else
                   "The new password must differ from the current one." if new == current else
                   password_problem(new, current_user.email))
        if problem:
            return _error(problem)
        try:
            set_password(current_user.user_id, new)  # new session token: every session ends
        except AccountError as exc:
            return _error(str(exc))
        record("password_changed_by_user", tenant_id=current_user.tenant_id, user_id=current_user.user_id,
               ip=client_ip(), detail={})
        logout_user()
        session.clear()
        response = redirect(url_for("login", notice=CHANGED))
        response.delete_cookie("_csrf_token", path="/")
        return response

    def _error(message: str):
        return render_template("password.html", email=current_user.email, error=message), 400

    app.add_url_rule("/account/password", "change_password", change_password, methods=["GET", "POST"])
