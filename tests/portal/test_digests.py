"""E-mail digests against a real SMTP server (aiosmtpd on a loopback port): what arrives,
for whom, and what never does.  One small two-tenant app for the module (SQLite); each
test removes its views and subscriptions."""
from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import datetime, timedelta

import pandas as pd
import pytest
from digests_testlib import audit_rows, backdate, clear_digests, ctx_of, mail_app, sends, write_logs
from mail_testlib import attachments, body, inline_images

from analytics import clean_transactions, load_transactions
from analytics.trends import kpi_change

MONDAY_0805 = datetime(2026, 12, 7, 8, 5)  # London is on UTC in December: the 08:00 slot is due


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return write_logs(tmp_path_factory.mktemp("digest-logs"))


@pytest.fixture(scope="module")
def app(tmp_path_factory, logs, mail):
    return mail_app(tmp_path_factory.mktemp("digests"), logs, mail.url)


@pytest.fixture(autouse=True)
def clean(app, mail):
    with app.app_context():
        yield
        clear_digests()
    mail.clear()


def _save(email: str, page: str, name: str, query: str, shared: bool = True):
    from portal.dashboard import saved_views as views

    return views.save_view(ctx_of(email), page, name, {"query": query}, shared=shared)


def _subscribe(owner: str, view_id: int, recipient: str | None = None, since=datetime(2026, 12, 3), **schedule):
    """Subscribe; the subscription dates from ``since`` (a Thursday before MONDAY_0805)."""
    from portal.data import subscriptions

    schedule = schedule or {"frequency": "weekly", "weekday": 0, "hour": 8}
    sub = subscriptions.subscribe(ctx_of(owner), view_id, subscriber_email=recipient, **schedule)
    backdate(sub.id, since)
    return sub


def _send(now=MONDAY_0805, **overrides):
    from flask import current_app

    from portal.digests.delivery import send_due

    settings = current_app.extensions["portal_mail"]
    return send_due(now, replace(settings, **overrides) if overrides else settings)


def _kpi_line(text: str, title: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(title + " "))


def test_weekly_digest_arrives_with_kpis_and_csv_rows_of_analytics(app, mail, logs):
    from portal.dashboard.components.figures import money

    view = _save("manager@alpha.test", "/segments", "France weekly", "?country=France")
    sub = _subscribe("manager@alpha.test", view.id)

    assert _send(datetime(2026, 12, 7, 7, 59)).created == 0  # last week's slot is before the subscription
    report = _send(digest_charts=True)
    assert (report.created, report.sent) == (1, 1)
    [message] = mail.wait_for(1)
    [record] = sends(sub.id)
    assert record.status == "sent" and record.slot == datetime(2026, 12, 7, 8, 0)
    assert message["Message-ID"] == record.message_id
    assert message["To"] == "manager@alpha.test"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].startswith("<http://portal.test/digests/unsubscribe/")

    # the reference, from the log file without the portal
    cleaned = clean_transactions(load_transactions(logs["alpha"]))
    france = cleaned.lines[cleaned.lines["country"] == "France"]
    end = cleaned.snapshot_date
    start = end - pd.Timedelta(days=90)
    in_window = france[(france["invoice_date"] >= start) & (france["invoice_date"] < end)]
    before = france[(france["invoice_date"] >= start - (end - start)) & (france["invoice_date"] < start)]
    revenue, previous = in_window["revenue"].sum(), before["revenue"].sum()  # by hand
    expected = kpi_change(france, start, end)  # analytics
    assert expected.loc["revenue", "value"] == pytest.approx(revenue)

    text = body(message)
    assert f"Segments · filters: country: France" in text
    assert f"KPI window {start:%Y-%m-%d} to {end - pd.Timedelta(days=1):%Y-%m-%d}" in text
    assert f"Data up to {cleaned.report.last_date:%Y-%m-%d}, imported" in text
    line = _kpi_line(text, "Revenue")
    assert money(revenue) in line and money(previous) in line
    assert f"{100 * (revenue - previous) / abs(previous):+.1f}%" in line
    for name, title in (("customers", "Customers"), ("orders", "Orders"), ("new_customers", "New customers")):
        assert f" {expected.loc[name, 'value']:,.0f} " in _kpi_line(text, title) + " "

    # CSV: every French customer, by net revenue over the whole history, as the exporter writes it
    files = attachments(message)
    assert list(files) == ["alpha-segments-France-v1.csv"]  # the filters in the name (export format)
    csv = pd.read_csv(io.BytesIO(files["alpha-segments-France-v1.csv"]))
    revenue_column = next(c for c in csv.columns if c in ("monetary", "Revenue (£)", "Net revenue (£)"))
    by_customer = france.dropna(subset=["customer_id"]).groupby("customer_id")["revenue"].sum()
    assert sorted(csv.iloc[:, 0].astype(str)) == sorted(by_customer.index.astype(str))
    got = csv.set_index(csv.columns[0])[revenue_column]
    got.index = got.index.astype(str)
    by_customer.index = by_customer.index.astype(str)
    assert got.loc[by_customer.index].to_numpy() == pytest.approx(by_customer.to_numpy(), abs=0.01)
    top = by_customer.sort_values(ascending=False).index[0]
    assert re.search(rf"^{top} \|", text, re.M), "the top customer heads the list in the e-mail"
    assert "Customers by RFM segment · top 10 of " + str(len(by_customer)) in text

    # charts drawn in this (sending) process as PNG, and the HTML reads without them
    images = inline_images(message)
    assert len(images) == 2 and all(p.get_payload(decode=True)[:8] == b"\x89PNG\r\n\x1a\n" for p in images)
    html = body(message, "html")
    assert 'alt="Chart: monthly net revenue' in html and money(revenue) in html
    assert "http://portal.test/segments?country=France" in html

    [entry] = audit_rows("digest_sent")[-1:]
    assert entry.detail["rows"] == len(csv) and entry.detail["csv"] is True
    assert _send(MONDAY_0805 + timedelta(hours=2)).sent == 0  # the slot is done: never twice


def test_unsubscribe_link_works_without_login(app, mail):
    from portal.platform.mail_models import DigestSubscription
    from portal.platform.db import session_scope

    view = _save("manager@alpha.test", "/", "Overview", "")
    sub = _subscribe("manager@alpha.test", view.id, frequency="daily", hour=8)
    _send()
    [message] = mail.wait_for(1)
    link = re.search(r"Unsubscribe: (http://portal\.test(\S+))", body(message)).group(2)
    client = app.test_client()  # nobody signed in
    page = client.get(link)
    assert page.status_code == 200 and b"Stop e-mailing" in page.data
    assert client.post(link[:-3] + "xyz").status_code == 404  # a forged token
    done = client.post(link)
    assert done.status_code == 200 and b"no longer receives" in done.data
    with session_scope() as session:
        stored = session.get(DigestSubscription, sub.id)
        assert stored.paused and stored.unsubscribed_at is not None
    assert _send(MONDAY_0805 + timedelta(days=1)).created == 0
    assert len(mail.messages) == 1
    assert audit_rows("digest_unsubscribed")[-1].detail["subscription_id"] == sub.id


def test_one_click_post_from_the_mail_client(app, mail):
    """RFC 8058: the mail client POSTs List-Unsubscribe=One-Click to the header's URL (no CSRF token)."""
    view = _save("manager@alpha.test", "/", "Overview 2", "")
    _subscribe("manager@alpha.test", view.id, frequency="daily", hour=8)
    _send()
    [message] = mail.wait_for(1)
    url = message["List-Unsubscribe"].strip("<>").removeprefix("http://portal.test")
    response = app.test_client().post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert audit_rows("digest_unsubscribed")[-1].detail["one_click"] is True


def test_viewer_gets_no_csv_and_role_is_read_at_send_time(app, mail):
    from portal.platform import accounts
    from portal.data.subscriptions import list_subscriptions

    view = _save("manager@alpha.test", "/segments", "Team view", "?country=United+Kingdom")
    _subscribe("manager@alpha.test", view.id, "viewer@alpha.test")
    _subscribe("manager@alpha.test", view.id, "admin@alpha.test")
    alpha = ctx_of("admin@alpha.test").tenant_id
    accounts.set_role(alpha, "admin@alpha.test", "viewer")  # demoted after subscribing
    try:
        assert _send().sent == 2
    finally:
        accounts.set_role(alpha, "admin@alpha.test", "admin")
    messages = {m["To"]: m for m in mail.wait_for(2)}
    for address in ("viewer@alpha.test", "admin@alpha.test"):
        assert attachments(messages[address]) == {}
        assert "without the customer list attached" in body(messages[address])
        assert "Customers by RFM segment · top 10" in body(messages[address])
    assert all(not e.detail["csv"] for e in audit_rows("digest_sent")[-2:])

    # a deactivated user receives nothing, and the owner sees why
    manager = _save("manager@alpha.test", "/", "For the viewer", "")
    sub = _subscribe("manager@alpha.test", manager.id, "viewer@alpha.test", frequency="daily", hour=8)
    accounts.set_active(alpha, "viewer@alpha.test", False)
    try:
        report = _send(MONDAY_0805 + timedelta(days=1))
    finally:
        accounts.set_active(alpha, "viewer@alpha.test", True)
    assert report.skipped >= 1 and len(mail.messages) == 2
    [info] = [s for s in list_subscriptions(ctx_of("manager@alpha.test")) if s.id == sub.id]
    assert info.last_status == "skipped" and "deactivated" in info.last_error


def test_another_tenants_view_or_colleague_cannot_be_subscribed(app):
    from portal.platform.accounts import AccountError
    from portal.data import subscriptions

    alpha_view = _save("manager@alpha.test", "/", "Alpha shared", "", shared=True)
    private = _save("admin@alpha.test", "/", "Admin's own", "", shared=False)
    beta_view = _save("manager@beta.test", "/", "Beta shared", "", shared=True)
    weekly = {"frequency": "weekly", "weekday": 0, "hour": 8}
    with pytest.raises(AccountError, match="No such view"):
        subscriptions.subscribe(ctx_of("manager@beta.test"), alpha_view.id, **weekly)
    with pytest.raises(AccountError, match="No such view"):  # a colleague's private view
        subscriptions.subscribe(ctx_of("manager@alpha.test"), private.id, **weekly)
    with pytest.raises(AccountError, match="No colleague"):  # another tenant's user, as an unknown one
        subscriptions.subscribe(ctx_of("manager@beta.test"), beta_view.id, subscriber_email="viewer@alpha.test",
                                **weekly)
    with pytest.raises(AccountError, match="No colleague"):
        subscriptions.subscribe(ctx_of("manager@beta.test"), beta_view.id, subscriber_email="nobody@beta.test",
                                **weekly)
    with pytest.raises(AccountError, match="manager role"):
        subscriptions.subscribe(ctx_of("viewer@alpha.test"), alpha_view.id, **weekly)
    with pytest.raises(AccountError, match="day of the week"):
        subscriptions.subscribe(ctx_of("manager@alpha.test"), alpha_view.id, frequency="weekly", hour=8)
    mine = subscriptions.subscribe(ctx_of("manager@alpha.test"), alpha_view.id, **weekly)
    # the owner or an admin changes it; a colleague of the tenant cannot, another tenant does not see it
    with pytest.raises(AccountError, match="owner or an admin"):
        subscriptions.update_subscription(ctx_of("viewer@alpha.test"), mine.id, paused=True)
    with pytest.raises(AccountError, match="No such subscription"):
        subscriptions.delete_subscription(ctx_of("admin@beta.test"), mine.id)
    assert subscriptions.list_subscriptions(ctx_of("admin@beta.test")) == []
    paused = subscriptions.update_subscription(ctx_of("admin@alpha.test"), mine.id, paused=True)
    assert paused.paused and paused.next_send is None
    edited = subscriptions.update_subscription(ctx_of("manager@alpha.test"), mine.id, frequency="monthly",
                                               monthday=31, hour=18, paused=False)
    assert edited.schedule == "Monthly on day 31 at 18:00 (Europe/London)"
    assert edited.next_send_local.endswith(("18:00 GMT", "18:00 BST"))
    subscriptions.delete_subscription(ctx_of("manager@alpha.test"), mine.id)
    assert subscriptions.list_subscriptions(ctx_of("manager@alpha.test")) == []


def test_refused_send_is_retried_with_back_off_and_never_duplicated(app, mail):
    from portal.data.subscriptions import list_subscriptions

    view = _save("manager@alpha.test", "/", "Retry", "")
    sub = _subscribe("manager@alpha.test", view.id)
    mail.plan.extend(["tempfail", "tempfail"])
    assert _send().retrying == 1
    [record] = sends(sub.id)
    assert record.status == "pending" and record.attempts == 1 and "451" in record.error
    assert record.next_attempt_at == MONDAY_0805 + timedelta(seconds=60)
    assert _send(MONDAY_0805 + timedelta(seconds=30)).retrying == 0  # still backing off
    assert _send(MONDAY_0805 + timedelta(seconds=61)).retrying == 1
    assert sends(sub.id)[0].next_attempt_at == MONDAY_0805 + timedelta(seconds=61 + 120)  # doubled
    assert _send(MONDAY_0805 + timedelta(seconds=200)).sent == 1
    assert _send(MONDAY_0805 + timedelta(seconds=900)).sent == 0
    assert mail.data_commands == 3 and len(mail.messages) == 1
    assert sends(sub.id)[0].attempts == 3
    [info] = list_subscriptions(ctx_of("manager@alpha.test"))
    assert info.last_status == "sent"


def test_answer_lost_after_the_whole_message_is_not_resent(app, mail):
    """The server took the message and closed without answering: it may have arrived; at most once."""
    from portal.data.subscriptions import list_subscriptions

    view = _save("manager@alpha.test", "/", "Lost answer", "")
    sub = _subscribe("manager@alpha.test", view.id)
    mail.plan.append("drop")
    assert _send().unknown == 1
    assert _send(MONDAY_0805 + timedelta(hours=1)).sent == 0
    assert len(mail.messages) == 1 and sends(sub.id)[0].status == "unknown"
    [info] = list_subscriptions(ctx_of("manager@alpha.test"))
    assert info.last_status == "unknown" and "not known" in info.last_error
    assert audit_rows("digest_failed")[-1].detail["subscription_id"] == sub.id


def test_web_process_does_not_load_the_chart_renderer(app):
    """kaleido and the renderer belong to the sending side; the web app never imports them."""
    import subprocess
    import sys

    from portal_testlib import ROOT, settings_env

    settings = app.extensions["portal"].settings
    code = ("import sys, wsgi; print(sorted(m for m in ('kaleido', 'choreographer', 'portal.digests.render') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=settings_env(settings), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_send_digests_command(app, mail):
    from portal_testlib import run_cli

    view = _save("manager@alpha.test", "/", "By command", "")
    _subscribe("manager@alpha.test", view.id, since=datetime(2026, 1, 1), frequency="daily", hour=8)
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["send-digests", "--at", "next monday"])
    assert bad.exit_code == 2 and "--at must look like" in bad.output
    done = run_cli(app, "send-digests", "--at", "2026-12-07T08:05")
    assert done.exit_code == 0 and "1 new slot(s), 1 sent" in done.output
    assert len(mail.wait_for(1)) == 1
    configured = app.extensions["portal_mail"]
    app.extensions["portal_mail"] = replace(configured, smtp_url=None)
    try:
        refused = runner.invoke(args=["send-digests"])
    finally:
        app.extensions["portal_mail"] = configured
    assert refused.exit_code == 1 and "SMTP_URL is not set" in refused.output
