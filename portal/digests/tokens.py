"""Signed one-click unsubscribe links (itsdangerous with the app's SECRET_KEY).

Light on purpose: imported by the web process (the unsubscribe route)."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

UNSUBSCRIBE_SALT = "portal.digests.unsubscribe"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(subscription_id: int, subscriber_id: int) -> str:
    return _serializer().dumps({"s": int(subscription_id), "u": int(subscriber_id)})


def read_unsubscribe_token(token: str) -> tuple[int, int] | None:
    """``(subscription id, subscriber id)``, or None for a forged or damaged token."""
    if not isinstance(token, str) or len(token) > 500:
        return None
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int) or not isinstance(data.get("u"), int):
        return None
    return data["s"], data["u"]


def unsubscribe_path(subscription_id: int, subscriber_id: int) -> str:
    return f"/digests/unsubscribe/{unsubscribe_token(subscription_id, subscriber_id)}"
