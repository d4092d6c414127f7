"""The one-click unsubscribe link of every digest (no login: the link is signed).

``GET /digests/unsubscribe/<token>`` shows what will stop and one button;
``POST`` unsubscribes (also the RFC 8058 one-click POST a mail client sends from the
``List-Unsubscribe`` header, which carries no CSRF token: the signed token is the
authority, and it only ever stops e-mails).  A forged token gets the same 404 as
an unknown subscription.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.platform.accounts import audit
from portal.platform.db import session_scope
from portal.platform.mail_models import DigestSubscription
from portal.platform.models import SavedView, User, utcnow

from .tokens import read_unsubscribe_token

blueprint = Blueprint("digests", __name__, template_folder="templates")
UNSUBSCRIBE_ENDPOINT = "digests.unsubscribe"


def _not_found():
    return render_template("unsubscribe.html", title="Unsubscribe",
                           error="This unsubscribe link is not valid (or the subscription was deleted)."), 404


@blueprint.route("/digests/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    found = read_unsubscribe_token(token)
    if found is None:
        return _not_found()
    sub_id, subscriber_id = found
    with session_scope() as session:
        sub = session.get(DigestSubscription, sub_id)
        if sub is None or sub.subscriber_id != subscriber_id:
            return _not_found()
        view = session.get(SavedView, sub.view_id)
        user = session.get(User, sub.subscriber_id)
        if request.method == "GET":
            if sub.unsubscribed_at is not None:
                return render_template("unsubscribe.html", title="Unsubscribe",
                                       notice=f"{user.email} no longer receives {view.name}.")
            return render_template("unsubscribe.html", title="Unsubscribe", ask=True, view_name=view.name,
                                   email=user.email, action=request.path)
        if sub.unsubscribed_at is None:
            sub.paused, sub.unsubscribed_at, sub.updated_at = True, utcnow(), utcnow()
            audit(session, "digest_unsubscribed", tenant_id=sub.tenant_id, user_id=sub.subscriber_id,
                  detail={"subscription_id": sub.id, "view_id": sub.view_id,
                          "one_click": request.form.get("List-Unsubscribe") == "One-Click"})
        notice = f"Done: {user.email} no longer receives {view.name}."
    return render_template("unsubscribe.html", title="Unsubscribe", notice=notice)
