"""Account e-mails on the digests' SMTP: invitations and "forgot password" links.

* An admin invites a colleague (:func:`invite_user`, the ``invite-user`` command, the
  Data page's invite form): the account is created with an unusable random password and
  the invitee gets a link to choose their own, so nobody types passwords for others.
* ``/account/forgot`` asks for an address and always answers the same sentence, in the
  same time (the e-mail goes out from a background thread), whether or not the address
  has an account: no account enumeration.  Rate-limited per client address (the shared ``login_attempts`` table,
  ``RESET_RATE_LIMIT``) and per account (at most ``RESET_PER_ACCOUNT_PER_HOUR`` links an
  hour, counted in the database every worker shares).
* Links: ``/account/set-password?token=<token>`` (in the query string, which the request log leaves
  out; the form posts it back in its body), the token signed with SECRET_KEY (itsdangerous)
  and holding a row id and a random secret whose SHA-256 is stored
  (:class:`portal.platform.mail_models.AccountToken`).  Single use (a conditional UPDATE marks
  it used), expiring (``INVITE_HOURS`` / ``RESET_MINUTES``); setting the password ends every
  session of the user and makes every other open link of the user useless.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Flask, current_app, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from limits import parse as parse_limit
from sqlalchemy import func, select, update

from .accounts import (
    AccountError,
    audit,
    create_user,
    hash_password,
    normalize_email,
    password_problem,
    record,
)
from .db import session_scope
from .mail_models import AccountToken
from .mail_settings import MailSettings, mail_settings
from .models import LoginAttempt, Tenant, User, new_session_token, utcnow
from .smtp import send_simple
from .tenancy import PortalContext

log = logging.getLogger(__name__)

TOKEN_SALT = "portal.platform.account-link"
SAME_ANSWER = ("If an account with this address exists, we have sent it a link to choose a new password. "
               "The link works once, for a limited time.")
BAD_LINK = "This link is not valid any more: it was used already, it expired, or it is damaged."

blueprint = Blueprint("account", __name__,
                      template_folder=str(Path(__file__).resolve().parent / "templates"))


# --------------------------------------------------------------------------
# tokens


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(user_id: int, purpose: str, lifetime: timedelta, now: datetime | None = None) -> str:
    """A new link token for ``user_id`` (``purpose`` invite or reset)."""
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    with session_scope() as session:
        row = AccountToken(user_id=user_id, purpose=purpose, secret_hash=_digest(secret), created_at=now,
                           expires_at=now + lifetime)
        session.add(row)
        session.flush()
        token_id = row.id
    return _serializer().dumps([token_id, secret])


def password_path(token: str) -> str:

    return "/account/set-password?token=" + quote(token, safe="")


def _lookup(session, token: str, now: datetime) -> AccountToken | None:
    if not isinstance(token, str) or len(token) > 400:
        return None
    try:
        token_id, secret = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(token_id, int) or not isinstance(secret, str):
        return None
    row = session.get(AccountToken, token_id)
    if row is None or not secrets.compare_digest(row.secret_hash, _digest(secret)):
        return None
    if row.used_at is not None or row.expires_at <= now:
        return None
    return row


def check_token(token: str, now: datetime | None = None) -> tuple[int, str, str] | None:
    """``(user id, email, purpose)`` of a usable token (not used, not expired), else None."""
    with session_scope() as session:
        row = _lookup(session, token, now or utcnow())
        if row is None:
            return None
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        return user.id, user.email, row.purpose


def redeem_token(token: str, password: str, now: datetime | None = None) -> str:
    """Use a token to set the password; returns the email.  AccountError with the reason."""
    now = now or utcnow()
    with session_scope() as session:
        row = _lookup(session, token, now)
        user = session.get(User, row.user_id) if row is not None else None
        if row is None or user is None or not user.active:
            raise AccountError(BAD_LINK)
        problem = password_problem(password, user.email)
        if problem:
            raise AccountError(problem)
        # single use, also against two tabs submitting at once: only one UPDATE changes the row
        used = session.execute(update(AccountToken).where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
                               .values(used_at=now).execution_options(synchronize_session=False))
        if used.rowcount != 1:
            raise AccountError(BAD_LINK)
        # every other open link of this user dies with this one
        session.execute(update(AccountToken).where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None))
                        .values(used_at=now).execution_options(synchronize_session=False))
        user.password_hash = hash_password(password)
        user.session_token = new_session_token()  # ends every earlier session
        audit(session, "password_set_by_link", tenant_id=user.tenant_id, user_id=user.id,
              detail={"purpose": row.purpose})
        return user.email


# --------------------------------------------------------------------------
# e-mails


def _message(settings: MailSettings, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, settings.mail_from, to
    message["Message-ID"] = f"<account-{secrets.token_hex(12)}@{settings.mail_domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    return message


def _send(settings: MailSettings, message: EmailMessage) -> None:

    send_simple(settings.smtp_url, message, timeout=settings.smtp_timeout)


def invite_user(ctx: PortalContext, email: str, role: str, *, ip: str | None = None) -> str:
    """Create ``email`` in the caller's tenant (admin only) and e-mail the invitation; returns
    the normalised address.  The account cannot be signed in to until the invitee sets a password."""
    if not ctx.has_role("admin"):
        raise AccountError("Inviting users needs the admin role.")
    settings = mail_settings()
    if not settings.can_send:
        raise AccountError("E-mail is not configured (SMTP_URL): invitations cannot be sent.")
    unusable = secrets.token_urlsafe(24) + "aA1!"
    user = create_user(ctx.tenant_id, email, unusable, role, actor_id=ctx.user_id, ip=ip)
    token = issue_token(user.id, "invite", timedelta(hours=settings.invite_hours))
    link = settings.link(password_path(token))
    text = (f"Hello,\n\n{ctx.email or 'An administrator'} invited you to the customer-analytics portal of "
            f"{ctx.tenant_name} as {role}.\n\nChoose your password here (the link works once and expires in "
            f"{settings.invite_hours} hours):\n{link}\n\nThen sign in at {settings.link('/login')} with {user.email}.\n")
    try:
        _send(settings, _message(settings, user.email, f"Your invitation to {ctx.tenant_name}", text))
    except Exception as exc:  # noqa: BLE001 - tell the admin; the account waits for a new invitation
        raise AccountError(f"The account was created but the invitation could not be e-mailed ({exc}); "
                           "send it again with invite-user --resend.") from exc
    with session_scope() as session:
        audit(session, "user_invited", tenant_id=ctx.tenant_id, user_id=ctx.user_id, ip=ip,
              detail={"email": user.email, "role": role})
    return user.email


def resend_invitation(ctx: PortalContext, email: str) -> None:
    """A new invitation link for a user of the caller's tenant who has never signed in."""
    if not ctx.has_role("admin"):
        raise AccountError("Inviting users needs the admin role.")
    settings = mail_settings()
    with session_scope() as session:
        user = session.scalars(select(User).where(User.email == normalize_email(email))).one_or_none()
        if user is None or user.tenant_id != ctx.tenant_id:
            raise AccountError("No such user in this tenant.")
        if user.last_login_at is not None:
            raise AccountError("This user has signed in already; they can use 'Forgot your password?'.")
        user_id, address = user.id, user.email
    token = issue_token(user_id, "invite", timedelta(hours=settings.invite_hours))
    text = (f"Hello,\n\nHere is a new link to choose your password for {ctx.tenant_name} (works once, expires in "
            f"{settings.invite_hours} hours):\n{settings.link(password_path(token))}\n")
    _send(settings, _message(settings, address, f"Your invitation to {ctx.tenant_name}", text))


def request_reset(email: str, now: datetime | None = None, *, wait: bool = False) -> threading.Thread | None:
    """Start a reset e-mail for ``email`` if it is an active account under its hourly cap.

    Returns at once: the lookup, the token and the e-mail happen in a background thread, so
    the answer takes the same time for any address (``wait=True`` joins it: tests, CLI)."""
    settings = mail_settings()
    app = current_app._get_current_object()  # noqa: SLF001 - the thread needs the app
    address = normalize_email(email)[:254]

    def work() -> None:
        with app.app_context():
            try:
                _reset_mail(settings, address, now or utcnow())
            except Exception:  # noqa: BLE001 - never surfaces to the requester
                log.exception("password reset e-mail failed", extra={"event": "reset_mail_failed"})

    thread = threading.Thread(target=work, name="reset-mail", daemon=True)
    thread.start()
    if wait:
        thread.join(60)
    return thread


def _reset_mail(settings: MailSettings, address: str, now: datetime) -> None:
    with session_scope() as session:
        user = session.scalars(select(User).where(User.email == address)).one_or_none()
        if user is None or not user.active:
            return
        recent = session.scalar(select(func.count()).select_from(AccountToken).where(
            AccountToken.user_id == user.id, AccountToken.purpose == "reset",
            AccountToken.created_at > now - timedelta(hours=1)))
        if recent >= settings.reset_per_account_per_hour:
            audit(session, "password_reset_limited", tenant_id=user.tenant_id, user_id=user.id, detail={})
            return
        tenant = session.get(Tenant, user.tenant_id)
        user_id, tenant_id, tenant_name = user.id, user.tenant_id, tenant.name if tenant else ""
    token = issue_token(user_id, "reset", timedelta(minutes=settings.reset_minutes), now)
    text = (f"Hello,\n\nSomeone (hopefully you) asked to reset the password of {address} on the customer-analytics "
            f"portal of {tenant_name}.\n\nChoose a new password here (the link works once and expires in "
            f"{settings.reset_minutes} minutes):\n{settings.link(password_path(token))}\n\n"
            "If you did not ask for this, ignore this e-mail: your password stays as it is.\n")
    _send(settings, _message(settings, address, "Reset your password", text))

    record("password_reset_sent", tenant_id=tenant_id, user_id=user_id)


# --------------------------------------------------------------------------
# routes


#: The account column of ``login_attempts`` rows that count "forgot password" requests of an address.
RESET_MARK = "(password reset)"


def _reset_address_wait(address: str, now: datetime | None = None) -> int:
    """Seconds until ``address`` may ask for another reset (0: now, and the request is counted).

    ``RESET_RATE_LIMIT`` per client address, counted in the ``login_attempts`` table that
    every worker and host shares (the sign-in limits' table)."""
    now = now or utcnow()
    item = parse_limit(mail_settings().reset_rate_limit)
    window = timedelta(seconds=int(item.get_expiry()))
    with session_scope() as session:
        count, oldest = session.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                LoginAttempt.address == address[:64], LoginAttempt.account == RESET_MARK,
                LoginAttempt.at > now - window)).one()
        if count >= int(item.amount):
            return max(1, int((oldest + window - now).total_seconds()) + 1)
        session.add(LoginAttempt(address=address[:64], account=RESET_MARK, at=now))
    return 0


def _page(template: str, status: int = 200, **values):
    return render_template(template, **values), status


@blueprint.route("/account/forgot", methods=["GET", "POST"])
def forgot():
    if request.method == "GET":
        return _page("forgot.html", title="Forgot your password?")
    wait = _reset_address_wait(request.remote_addr or "")
    if wait:
        response = current_app.make_response(
            _page("forgot.html", 429, title="Forgot your password?", error="Too many requests. Wait and try again."))
        response.headers["Retry-After"] = str(wait)
        return response
    request_reset(request.form.get("email", "") if isinstance(request.form.get("email"), str) else "")
    return _page("forgot.html", title="Forgot your password?", notice=SAME_ANSWER, sent=True)


@blueprint.route("/account/set-password", methods=["GET", "POST"])
def set_password():
    token = request.args.get("token", "") if request.method == "GET" else request.form.get("token", "")
    token = token if isinstance(token, str) else ""
    found = check_token(token)
    if found is None:
        return _page("set_password.html", 404, title="Choose your password", error=BAD_LINK)
    _user_id, email, purpose = found
    title = "Choose your password" if purpose == "invite" else "Choose a new password"
    if request.method == "GET":
        return _page("set_password.html", title=title, ask=True, email=email, token=token)
    password = request.form.get("password", "")
    if password != request.form.get("confirm", ""):
        return _page("set_password.html", 400, title=title, ask=True, email=email, token=token,
                     error="The two passwords differ.")
    try:
        redeem_token(token, password)
    except AccountError as exc:
        status = 404 if str(exc) == BAD_LINK else 400
        return _page("set_password.html", status, title=title, ask=status == 400, email=email, token=token,
                     error=str(exc))
    return redirect(url_for("login", notice="Your password is set. Sign in with it."))


def init_account_mail(app: Flask) -> None:
    """Register the routes (public: the link or the same answer is the only thing they give)
    and their rate limit."""
    app.register_blueprint(blueprint)
