"""Digest schedulers as separate processes (``flask --app wsgi send-digests``) against one
PostgreSQL database and a real SMTP server: two at once send one e-mail per slot, and a
sender killed in the middle of the SMTP conversation is taken over once its lease ends."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from datetime import datetime, timedelta

import pytest
from digests_testlib import backdate, clear_digests, ctx_of, mail_app, sends, write_logs
from portal_testlib import ROOT, fresh_pg_database, settings_env

pytestmark = pytest.mark.services

MONDAY_0805 = datetime(2026, 12, 7, 8, 5)


@pytest.fixture(scope="module")
def pg_database(pg_server):
    with fresh_pg_database(pg_server, "test_digests") as url:
        yield url


@pytest.fixture(scope="module")
def app(tmp_path_factory, pg_database, mail):
    folder = tmp_path_factory.mktemp("digest-pg")
    logs = write_logs(folder)
    return mail_app(folder, {"alpha": logs["alpha"]}, mail.url, database_url=pg_database)


def _scheduler(app, at: datetime) -> subprocess.Popen:
    env = settings_env(app.extensions["portal"].settings) | {
        "SMTP_URL": app.extensions["portal_mail"].smtp_url, "PUBLIC_URL": "http://portal.test", "DIGEST_CHARTS": "0",
        "LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "send-digests", "--at", at.isoformat()],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _subscriptions(count: int, since: datetime = datetime(2026, 12, 3)) -> list[int]:
    from portal.dashboard import saved_views as views
    from portal.data import subscriptions

    manager = ctx_of("manager@alpha.test")
    ids = []
    for n, recipient in zip(range(count), ("manager@alpha.test", "admin@alpha.test", "viewer@alpha.test")):
        view = views.save_view(manager, "/", f"View {uuid.uuid4().hex[:6]}", {"query": ""}, shared=True)
        sub = subscriptions.subscribe(manager, view.id, subscriber_email=recipient, frequency="daily", hour=8)
        backdate(sub.id, since)
        ids.append(sub.id)
    return ids


def test_two_schedulers_at_once_send_one_email_per_slot(app, mail):
    with app.app_context():
        ids = _subscriptions(3)
        first, second = _scheduler(app, MONDAY_0805), _scheduler(app, MONDAY_0805)
        outputs = [p.communicate(timeout=180) for p in (first, second)]
        assert first.returncode == second.returncode == 0, outputs
        messages = mail.wait_for(3)
        records = [r for r in sends() if r.subscription_id in ids]
        assert len(records) == 3 and {r.status for r in records} == {"sent"}
        assert sorted(m["Message-ID"] for m in messages) == sorted(r.message_id for r in records)
        assert len(messages) == 3, "each slot once, whichever scheduler won it"
        sent = [int(out.split(" sent")[0].rsplit(",", 1)[-1]) for out, _err in outputs]
        assert sum(sent) == 3, outputs
        # the next run, an hour later, finds nothing to do
        from portal.digests.delivery import send_due

        assert send_due(MONDAY_0805 + timedelta(hours=1), app.extensions["portal_mail"]).sent == 0
        assert len(mail.messages) == 3
    mail.clear()


def test_sender_killed_mid_conversation_is_retried_once_after_its_lease(app, mail):
    from portal.digests.delivery import send_due

    with app.app_context():
        clear_digests()  # only this test's subscription is due
        [sub_id] = _subscriptions(1)
        later = MONDAY_0805 + timedelta(days=1)  # the other test's daily slots are done; this is Tuesday's
        mail.hold_rcpt.set()
        mail.rcpt_seen.clear()
        sender = _scheduler(app, later)
        try:
            assert mail.rcpt_seen.wait(120), "the sender never reached RCPT TO"
        finally:
            os.killpg(sender.pid, signal.SIGKILL)
            sender.wait(30)
            mail.hold_rcpt.clear()
            mail.release.set()
        mine = [r for r in sends(sub_id) if r.slot == datetime(2026, 12, 8, 8, 0)]
        assert len(mine) == 1 and mine[0].status == "sending" and mine[0].attempts == 1
        settings = app.extensions["portal_mail"]
        before = len(mail.messages)
        assert send_due(later + timedelta(minutes=1), settings).sent == 0  # the dead sender's lease still holds
        lease_over = later + timedelta(seconds=settings.digest_lease_seconds + 1)
        report = send_due(lease_over, settings)
        assert report.sent >= 1 and f"{mine[0].id}:sent" in report.details
        assert send_due(lease_over + timedelta(minutes=5), settings).sent == 0
        delivered = [m for m in mail.messages[before:] if m["Message-ID"] == mine[0].message_id]
        assert len(delivered) == 1
        [row] = [r for r in sends(sub_id) if r.id == mine[0].id]
        assert row.status == "sent" and row.attempts == 2


def test_celery_beat_schedules_the_sender_and_its_task_sends(app, mail, redis_server):
    """Scaled mode: the beat entry of the Procfile finds ``send-digests`` in the schedule, and the
    task (run here in-process, as a worker would) sends what is due."""
    from dataclasses import replace

    from portal import create_app
    from portal.digests import SEND_TASK

    settings = app.extensions["portal"].settings
    scaled = create_app(replace(settings, redis_url=redis_server, background_jobs="celery"))
    celery_app = scaled.extensions["portal"].celery
    assert celery_app.conf.beat_schedule["send-digests"]["task"] == SEND_TASK
    assert "beat: celery -A portal.worker beat" in (ROOT / "Procfile").read_text()
    with app.app_context():
        clear_digests()
        from portal.platform.models import utcnow

        _subscriptions(1, since=utcnow() - timedelta(days=3))
    mail.clear()
    result = celery_app.tasks[SEND_TASK].apply()  # due now: today's 08:00 slot or yesterday's
    assert "1 sent" in result.get(), result.get()
    assert len(mail.wait_for(1)) == 1
