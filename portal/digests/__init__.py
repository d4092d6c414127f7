"""Scheduled e-mail digests of saved views (and the SMTP the account e-mails share).

Module map: models (tables) · settings (SMTP_URL, MAIL_FROM, PUBLIC_URL, TIME_ZONE...) ·
schedule (slots in the tenant's time zone) · subscriptions (service functions, tenant
and role checks) · ui (the Saved views page's section) · web (one-click unsubscribe) ·
tokens (signed unsubscribe links) · delivery (send records, retries, audit) · smtp ·
render + charts (the e-mail; imported by the sending side only: kaleido, Chromium).

:func:`init_digests` is the one hook of the app factory.
"""
from __future__ import annotations

import logging

from flask import Flask

log = logging.getLogger(__name__)

SEND_TASK = "portal.send_digests"
#: How often Celery beat runs the scheduler (seconds); slots are hours, so a few minutes late at most.
BEAT_SECONDS = 300.0


def init_digests(app: Flask) -> None:
    """Mail settings, the unsubscribe route, the ``send-digests`` command, the Celery beat
    task (scaled mode) and the Saved views page's callbacks."""
    from .settings import mail_settings_from
    from .web import blueprint

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
        from . import ui

        ui.register(services.dash)


def register_beat(celery_app) -> None:
    """The periodic task ``portal.send_digests`` (run by ``celery ... beat``, executed by a worker)."""

    @celery_app.task(name=SEND_TASK, ignore_result=True, shared=False)
    def send_digests_task() -> str:
        from .delivery import send_due

        return send_due().line()

    schedule = dict(celery_app.conf.beat_schedule or {})
    schedule["send-digests"] = {"task": SEND_TASK, "schedule": BEAT_SECONDS}
    celery_app.conf.beat_schedule = schedule


def _register_cli(app: Flask) -> None:
    import click

    @app.cli.command("send-digests")
    @click.option("--at", "at", default=None, metavar="YYYY-MM-DDTHH:MM",
                  help="Act as if it were this UTC time (catch up a missed run; tests). Default: now.")
    def send_digests(at):
        """Send the e-mail digests that are due (run it every few minutes: cron or a PaaS scheduler)."""
        from datetime import datetime

        from .delivery import send_due

        now = None
        if at:
            try:
                now = datetime.fromisoformat(at)
            except ValueError:
                raise click.UsageError(f"--at must look like 2026-12-07T08:05, got {at!r}.") from None
            if now.tzinfo is not None:
                from datetime import timezone

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
        from portal.account_mail import invite_user, resend_invitation
        from portal.accounts import AccountError
        from portal.tenancy import system_context

        try:
            ctx = system_context(slug)
            if resend:
                resend_invitation(ctx, email)
                click.echo(f"Sent a new invitation to {email}.")
            else:
                click.echo(f"Invited {invite_user(ctx, email, role)} ({role}).")
        except (AccountError, LookupError) as exc:
            raise click.ClickException(str(exc)) from None
