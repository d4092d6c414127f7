"""Is the job queue there?  A web host that cannot reach the Celery broker (Redis) says so
at once (:class:`JobQueueUnavailable`, a 503 with a message, or the message in the Dash
callback's output) instead of a bare 500 after the client's retries."""
from __future__ import annotations

import logging
import threading
import time

import redis

from ..platform.observability import ServiceUnavailable

log = logging.getLogger(__name__)

#: How long a web host remembers that the job queue did not answer.
QUEUE_DOWN_MEMORY_S = 5.0
QUEUE_UNAVAILABLE = ("The job queue (Redis) cannot be reached right now, so nothing was started: "
                     "try again in a minute. The current data stays in use.")

QUEUE_LOST = ("The job queue (Redis) stopped answering while the job ran; the job may still finish: "
              "the versions table on the Data page shows its state.")


class JobQueueUnavailable(ServiceUnavailable):
    """The Celery broker does not answer: a job cannot be queued (answered at once, 503)."""


_queue_down_until: dict[str, float] = {}
_queue_lock = threading.Lock()


def check_queue(celery_app) -> None:
    """Raise :class:`JobQueueUnavailable` at once (within about a second) when the broker
    of ``celery_app`` does not answer a PING; a failure is remembered for a few seconds."""
    url = str(celery_app.conf.broker_url)
    with _queue_lock:
        if _queue_down_until.get(url, 0.0) > time.monotonic():
            raise JobQueueUnavailable(QUEUE_UNAVAILABLE)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as exc:
        with _queue_lock:
            _queue_down_until[url] = time.monotonic() + QUEUE_DOWN_MEMORY_S
        log.warning("job queue unreachable: %s", exc, extra={"event": "queue_unavailable"})
        raise JobQueueUnavailable(QUEUE_UNAVAILABLE) from exc


