"""Scheduled e-mail digests of saved views (and the SMTP the account e-mails share).

Here: web (one-click unsubscribe) · tokens (signed unsubscribe links) · delivery (send
records, retries, audit) · render + charts (the e-mail; imported by the sending side only:
kaleido, Chromium).  Below, in their layers: portal.data.subscriptions and
digest_schedule (service functions, slots in the tenant's time zone),
portal.dashboard.components.digests (the Saved views page's section),
portal.platform.mail_models / mail_settings / smtp (tables, SMTP_URL..., sending).

:func:`init_digests` is the one hook of the app factory.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import click
from flask import Flask

from portal.dashboard.components import digests as ui
from portal.platform.account_mail import invite_user, resend_invitation
from portal.platform.accounts import AccountError
from portal.platform.mail_settings import mail_settings_from
from portal.platform.tenancy import system_context

from .web import blueprint

log = logging.getLogger(__name__)

SEND_TASK = "portal.send_digests"
#: How often Celery beat runs the scheduler (seconds); slots are hours, so a few minutes late at most.
BEAT_SECONDS = 300.0


def init_digests(app: Flask) -> None:
    """Mail settings, the unsubscribe route, the ``send-digests`` command, the Celery beat
    task (scaled mode) and the Saved views page's callbacks."""

    services = app.extensions["portal"]
    app.extensions["portal_mail"] = mail_settings_from(services.settings)
    app.register_blueprint(blueprint)
    csrf = app.extensions.get("csrf")
    if csrf is not None:  # the RFC 8058 one-click POST carries no CSRF token; the signed link is the authority
        csrf.exempt(app.view_functions["digests.unsubscribe"])
    _register_cli(app)
    if services.celery is not None:
        register_beat(services.celery)
    if services.dash is not None:

        ui.register(services.dash)


def register_beat(celery_app) -> None:
    """The periodic task ``portal.send_digests`` (run by ``celery ... beat``, executed by a worker)."""

    @celery_app.task(name=SEND_TASK, ignore_result=True, shared=False)
    def send_digests_task() -> str:
        # deferred: delivery pulls the renderer (kaleido) into the sending process only
        from .delivery import send_due

        return send_due().line()

    schedule = dict(celery_app.conf.beat_schedule or {})
    schedule["send-digests"] = {"task": SEND_TASK, "schedule": BEAT_SECONDS}
    celery_app.conf.beat_schedule = schedule


def _register_cli(app: Flask) -> None:

    @app.cli.command("send-digests")
    @click.option("--at", "at", default=None, metavar="YYYY-MM-DDTHH:MM",
                  help="Act as if it were this UTC time (catch up a missed run; tests). Default: now.")
    def send_digests(at):
        """Send the e-mail digests that are due (run it every few minutes: cron or a PaaS scheduler)."""

        # deferred: delivery pulls the renderer (kaleido) into the sending process only

        from .delivery import send_due

        now = None
        if at:
            try:
                now = datetime.fromisoformat(at)
            except ValueError:
                raise click.UsageError(f"--at must look like 2026-12-07T08:05, got {at!r}.") from None
            if now.tzinfo is not None:

                now = now.astimezone(timezone.utc).replace(tzinfo=None)
        try:
            report = send_due(now)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(report.line())
        if report.failed or report.unknown:
            raise SystemExit(1)

    @app.cli.command("invite-user")
    @click.argument("email")
    @click.option("--tenant", "slug", required=True, help="Slug of the user's tenant.")
    @click.option("--role", type=click.Choice(("viewer", "manager", "admin")), required=True)
    @click.option("--resend", is_flag=True, help="Send a new link to an invited user who never signed in.")
    def invite(email, slug, role, resend):
        """Create a user and e-mail them a link to choose their own password."""

        try:
            ctx = system_context(slug)
            if resend:
                resend_invitation(ctx, email)
                click.echo(f"Sent a new invitation to {email}.")
            else:
                click.echo(f"Invited {invite_user(ctx, email, role)} ({role}).")
        except (AccountError, LookupError) as exc:
            raise click.ClickException(str(exc)) from None
