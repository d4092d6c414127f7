"""Background work off the request: the Celery app of the scaled mode and the
Dash background-callback managers (diskcache by default, Celery with Redis).

Both managers scope jobs to the tenant and user who started them: a job key
ends with its owner, a poll reads, consumes or stops only the caller's own
jobs, and the caller's context is handed to the job signed with the secret key
(the job never takes a tenant from its input).  Model fitting itself lives in
:mod:`portal.data.jobs`, which registers its Celery task on the app made here.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import inspect
import json
import logging
import os
import uuid
from datetime import datetime, timezone
from typing import Any, Mapping

import diskcache
from dash import CeleryManager, DiskcacheManager
from flask import has_request_context
from flask_login import current_user

import redis

from ..platform.config import ConfigError
from .queue import QUEUE_LOST, QUEUE_UNAVAILABLE, JobQueueUnavailable, check_queue
from ..platform.dash_compat import callback_context_value, celery_job_fn, progress_key, set_props_key
from ..platform.tenancy import JOB_CONTEXT_KEY, NotAuthenticated, PortalContext, current_context

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------
# Celery (scaled mode: REDIS_URL set, BACKGROUND_JOBS=auto|celery)

#: Name of the model-fitting task run by the Celery workers.
FIT_TASK = "portal.fit_dataset_models"


#: Niceness of the processes that import and fit (their CPU goes to the web workers first,
#: so one tenant's big job does not slow the other tenants' views on a small machine).
JOB_NICENESS = 10


def lower_job_priority() -> None:
    """Run this process (a job) at ``JOB_NICENESS`` (once; never raises)."""
    try:
        current = os.nice(0)
        if current < JOB_NICENESS:
            os.nice(JOB_NICENESS - current)
    except OSError:  # not permitted here: run at the normal priority
        pass


def celery_key_prefix(settings) -> str:
    """Prefix of every Redis key of the background jobs (broker queues, task
    states, Dash job results and progress): deployments sharing one Redis with
    different ``CACHE_PREFIX`` values never see each other's jobs."""
    return f"{settings.cache_prefix}:jobs:"


def make_celery(settings, flask_app=None):
    """The Celery app of the portal: broker and result backend on ``REDIS_URL``.

    Tasks run inside ``flask_app``'s app context (the worker builds it with
    :func:`portal.create_app`, see :mod:`portal.worker`); the web hosts only send
    tasks and read their results.  Messages are JSON (never pickle)."""
    if not settings.redis_url:
        raise ConfigError("Background jobs on Celery need REDIS_URL (broker and result store).")
    try:  # optional: only the scaled mode (REDIS_URL) needs Celery
        from celery import Celery, Task
    except ImportError as exc:
        raise ConfigError(
            "Background jobs on Celery (REDIS_URL set, BACKGROUND_JOBS=auto or celery) need the celery "
            "package: pip install -r requirements.txt, or set BACKGROUND_JOBS=diskcache."
        ) from exc

    class PortalTask(Task):
        def __call__(self, *args, **kwargs):
            app = getattr(self.app, "flask_app", None)
            if app is None:
                return super().__call__(*args, **kwargs)
            with app.app_context():
                return super().__call__(*args, **kwargs)

    prefix = celery_key_prefix(settings)
    celery_app = Celery(f"portal-{settings.cache_prefix}", broker=settings.redis_url,
                        backend=settings.redis_url, task_cls=PortalTask, set_as_current=False)
    celery_app.conf.update(
        # A task is acknowledged after it ran, and put back in the queue when its worker
        # dies (SIGKILL, OOM, lost machine): Redis re-delivers it after the visibility
        # timeout; steps are idempotent (see portal.data.jobs and portal.data.imports).
        task_acks_late=True, task_reject_on_worker_lost=True,
        broker_transport_options={"global_keyprefix": prefix, "visibility_timeout": settings.job_visibility_timeout_s,
                                  "unacked_restore_interval": 10, "unacked_restore_throttle": 1,
                                  "socket_connect_timeout": 2, "socket_timeout": 10},
        # A host that cannot reach Redis says so at once instead of retrying for 20 s.
        broker_connection_timeout=2, task_publish_retry=True,
        redis_socket_connect_timeout=2, redis_socket_timeout=10, redis_retry_on_timeout=False,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5,
                                   "interval_max": 0.5},
        result_backend_transport_options={"global_keyprefix": prefix},
        task_serializer="json", result_serializer="json", accept_content=["json"],
        # One heavy job at a time per worker process; a second one waits in Redis
        # for a free worker instead of being held by a busy one.
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,  # keep the portal's JSON log lines
        broker_connection_retry_on_startup=True,
        result_expires=24 * 3600,
    )
    celery_app.flask_app = flask_app
    return celery_app


def send_fit_task(celery_app, dataset_id: int):
    """Queue the model fitting of a dataset for the Celery workers (its state is
    on the dataset row: nobody waits for the task's result); :class:`JobQueueUnavailable`
    at once when the broker does not answer."""
    check_queue(celery_app)
    try:
        requested_at = datetime.now(timezone.utc).replace(tzinfo=None).isoformat()
        return celery_app.send_task(FIT_TASK, args=[int(dataset_id), requested_at], ignore_result=True)
    except Exception as exc:  # noqa: BLE001 - kombu/redis connection errors of every kind
        if isinstance(exc, (redis.RedisError, OSError)) or "Connection" in type(exc).__name__:
            raise JobQueueUnavailable(QUEUE_UNAVAILABLE) from exc
        raise


# --------------------------------------------------------------------------
# Dash background-callback managers

#: Request headers that never travel with a job (credentials of the browser).
_PRIVATE_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization", "x-csrftoken"})
#: How long the owner of a diskcache job (a process id) is remembered.
_OWNER_TTL_S = 24 * 3600
#: Callback values larger than this are not copied into the job context (the
#: callback receives them as arguments; an upload would otherwise travel 5 times).
_CONTEXT_VALUE_LIMIT = 64 * 1024
#: Entries of a Dash callback context that repeat the callback's input/state values.
_VALUE_COPIES = ("inputs_list", "states_list", "triggered_inputs", "args_grouping")


def _is_big(value: Any) -> bool:
    if isinstance(value, (str, bytes)):
        return len(value) > _CONTEXT_VALUE_LIMIT
    if isinstance(value, (list, tuple, dict)):
        return len(json.dumps(value, default=str)) > _CONTEXT_VALUE_LIMIT
    return False


def _without_big_values(node: Any) -> Any:
    """``node`` (lists/dicts of ``{"id", "property", "value"}``) with big values set to None;
    dicts keep their type (Dash's ``AttributeDict``)."""
    if isinstance(node, dict):
        return type(node)({k: (None if k == "value" and _is_big(v) else _without_big_values(v))
                           for k, v in node.items()})
    if isinstance(node, (list, tuple)):
        return [_without_big_values(item) for item in node]
    return node


def job_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """What of a Dash callback context travels with a job (through Redis with Celery).

    Dropped: the browser's cookies and credential headers, and callback values
    over 64 KiB from the copies in ``inputs_list``, ``input_values``, ``args_grouping``...
    (inside a job, ``dash.ctx`` keeps every id, property and trigger; the big
    values reach the callback as its arguments, once)."""
    result = dict(context)
    result["cookies"] = {}
    result["headers"] = {k: v for k, v in (context.get("headers") or {}).items()
                         if k.lower() not in _PRIVATE_HEADERS}
    for name in _VALUE_COPIES:
        if name in result:
            result[name] = _without_big_values(result[name])
    for name in ("input_values", "state_values"):
        values = result.get(name)
        if isinstance(values, dict):
            result[name] = type(values)({k: (None if _is_big(v) else v) for k, v in values.items()})
    return result


def _owner_of(ctx: PortalContext) -> str:
    return f"t{ctx.tenant_id}-u{ctx.user_id}"


def _owner_suffix(value: Any) -> str | None:
    """``"t1-u2"`` of a job key or Celery task id ending in ``-t1-u2``."""
    parts = str(value).rsplit("-", 2)
    if len(parts) == 3 and parts[1][:1] == "t" and parts[2][:1] == "u":
        return f"{parts[1]}-{parts[2]}"
    return None


def _hand_over_mac(secret: bytes, user_id: Any, session_token: Any) -> str:
    message = f"portal-job-context\x00{user_id}\x00{session_token}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class _TenantScopedJobs:
    """Mixin for Dash background managers (diskcache and Celery alike).

    * The job key ends with the tenant and user (``...-t1-u2``), so identical
      uploads of two users never share a job or its result.
    * Polls read progress and results only for keys of the calling user, and
      only the owner may stop a job: a handle of another user or tenant (leaked,
      replayed or forged) reads nothing, deletes nothing, stops nothing.
    * The web process attaches the caller's user id and session token to the job
      context, signed with the secret key; the job checks the signature before it
      runs and :func:`portal.platform.tenancy.current_context` re-resolves the tenant from
      them (the browser cannot set either, and the job input is never used for it).
    * The job context is :func:`job_context` of the request's: no cookies or
      credential headers, no second copies of big values (with Celery it is a
      message in Redis).
    """

    def __init__(self, *args, hand_over_secret: bytes, **kwargs):
        self._hand_over_secret = hand_over_secret
        super().__init__(*args, **kwargs)

    # -- submission (web process, in the request of the caller)

    def build_cache_key(self, fn, args, cache_args_to_ignore, triggered):
        base = super().build_cache_key(fn, args, cache_args_to_ignore, triggered)
        return f"{base}-{_owner_of(current_context())}"

    def call_job_fn(self, key, job_fn, args, context):
        context = job_context(context)
        user_id, token = current_user.user_id, current_user.session_token
        context[JOB_CONTEXT_KEY] = {"user_id": user_id, "session_token": token,
                                    "mac": _hand_over_mac(self._hand_over_secret, user_id, token)}
        job = super().call_job_fn(key, job_fn, args, context)
        self._remember_owner(job, _owner_suffix(key))
        return job

    # -- inside the job

    def make_job_fn(self, fn, progress, key=None):
        return super().make_job_fn(self._checked(fn), progress, key)

    def _checked(self, fn):
        def verify() -> None:
            hand_over = callback_context_value().get(JOB_CONTEXT_KEY) or {}
            expected = _hand_over_mac(self._hand_over_secret, hand_over.get("user_id"),
                                      hand_over.get("session_token"))
            if not hmac.compare_digest(str(hand_over.get("mac", "")), expected):
                raise PermissionError("The job context was not issued by this portal.")

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def checked_async(*args, **kwargs):
                verify()
                return await fn(*args, **kwargs)

            return checked_async

        @functools.wraps(fn)
        def checked(*args, **kwargs):
            verify()
            lower_job_priority()  # a job process (diskcache) or the Celery worker
            return fn(*args, **kwargs)

        return checked

    # -- polls (web process, any host)

    def _caller(self) -> str | None:
        if not has_request_context():
            return None
        try:
            return _owner_of(current_context())
        except NotAuthenticated:
            return ""

    def _caller_owns(self, key) -> bool:
        caller = self._caller()
        return key is not None and caller is not None and caller != "" and _owner_suffix(key) == caller

    def _caller_may_touch_job(self, job) -> bool:
        caller = self._caller()
        if caller is None:  # server-side housekeeping outside a request
            return True
        return caller != "" and self._job_owner(job) == caller

    def get_progress(self, key):
        return super().get_progress(key) if self._caller_owns(key) else None

    def result_ready(self, key):
        return self._caller_owns(key) and super().result_ready(key)

    def get_result(self, key, job):
        if not self._caller_owns(key):
            return self.UNDEFINED
        return super().get_result(key, job)

    def get_updated_props(self, key):
        return super().get_updated_props(key) if self._caller_owns(key) else {}

    def job_running(self, job):
        return self._caller_may_touch_job(job) and super().job_running(job)

    def terminate_job(self, job):
        if job is None:
            return None
        if not self._caller_may_touch_job(job):
            log.warning("refused to stop a job of another user", extra={"event": "job_terminate_refused"})
            return None
        return super().terminate_job(job)

    def terminate_unhealthy_job(self, job):
        return self._caller_may_touch_job(job) and super().terminate_unhealthy_job(job)

    # -- who started a job (per store)

    def _remember_owner(self, job, owner: str | None) -> None:
        raise NotImplementedError

    def _job_owner(self, job) -> str | None:
        raise NotImplementedError


def _diskcache_manager_class():
    class PortalDiskcacheManager(_TenantScopedJobs, DiskcacheManager):
        """Jobs in processes of this machine, results under ``DATA_DIR/jobs``."""

        def _remember_owner(self, job, owner):
            self.handle.set(f"job-owner-{job}", owner, expire=_OWNER_TTL_S)

        def _job_owner(self, job):
            return self.handle.get(f"job-owner-{job}")

    return PortalDiskcacheManager


@contextlib.contextmanager
def _queue_answers():
    """A poll of a job whose store (Redis) stopped answering ends with a message, not a 500."""
    try:
        yield
    except (redis.RedisError, OSError) as exc:
        raise JobQueueUnavailable(QUEUE_LOST) from exc


def _celery_manager_class():
    class _UnsharedTasks:
        """What Dash's ``_make_job_fn`` uses of a Celery app, with ``shared=False`` tasks."""

        def __init__(self, celery_app):
            self.backend = celery_app.backend
            self._app = celery_app

        def task(self, *args, **kwargs):
            return self._app.task(*args, shared=False, **kwargs)

    class _PrefixedCeleryManager(CeleryManager):
        """``CeleryManager`` whose Redis keys carry the deployment's prefix.

        The job keys the browser sees stay ``[0-9a-z-]`` (the renderer puts them in
        the poll URL as they are); the prefix is added here, on the way to Redis.
        The Celery task id ends with the owner of the job (``<uuid>-t1-u2``)."""

        def __init__(self, celery_app, *, key_prefix: str, **kwargs):
            self._key_prefix = key_prefix
            super().__init__(celery_app, **kwargs)

        @property
        def celery_app(self):
            return self.handle

        def make_job_fn(self, fn, progress, key=None):
            # As CeleryManager.make_job_fn, with two differences.  The task is not
            # "shared": Celery would copy it into every Celery app created later in
            # the process, where it would write to this app's result store.  And a
            # name (hash of the callback's source) is registered once: Dash registers
            # every background callback with every manager of the process, again
            # each time the pages run for a new app (tests build several apps).
            existing = self.handle.tasks.get(f"background_callback_{key}")
            if existing is not None:
                return existing
            return celery_job_fn(fn, _UnsharedTasks(self.handle), progress, key)

        def _stored(self, key):
            return f"{self._key_prefix}{key}"

        def call_job_fn(self, key, job_fn, args, context):
            check_queue(self.handle)  # a missing queue is answered at once, with a message
            stored = self._stored(key)
            task_id = f"{uuid.uuid4().hex}-{_owner_suffix(key)}"
            # argsrepr: the worker logs what a task received; not the upload nor the context.
            job_fn.apply_async(args=(stored, progress_key(self, stored), args, context), task_id=task_id,
                               argsrepr=repr([stored]), kwargsrepr="{}")
            return task_id

        def get_progress(self, key):
            with _queue_answers():
                return super().get_progress(self._stored(key))

        def result_ready(self, key):
            with _queue_answers():
                return super().result_ready(self._stored(key))

        def get_result(self, key, job):
            with _queue_answers():
                return super().get_result(self._stored(key), job)

        def get_updated_props(self, key):
            # Dash 4.4.1 deletes the result key here instead of the set_props key.
            props_key = set_props_key(self, self._stored(key))
            with _queue_answers():
                updated = self.handle.backend.get(props_key)
            if updated is None:
                return {}
            self.clear_cache_entry(props_key)
            return json.loads(updated)

    class PortalCeleryManager(_TenantScopedJobs, _PrefixedCeleryManager):
        """Jobs on the Celery workers, results in Redis: every web host can poll them."""

        def _remember_owner(self, job, owner):
            pass  # the task id carries it

        def _job_owner(self, job):
            return _owner_suffix(job)

    return PortalCeleryManager


def make_background_manager(settings, flask_app=None):
    """The Dash background-callback manager of the app.

    Celery on ``REDIS_URL`` when ``settings.uses_celery`` (every host polls the
    same store, the work runs on ``celery -A portal.worker worker``), otherwise
    ``DiskcacheManager`` under ``DATA_DIR/jobs``, shared by the workers of one
    machine.  The Celery app is the manager's ``celery_app``."""
    secret = hashlib.sha256(b"portal-jobs\x00" + settings.resolved_secret_key().encode()).digest()
    if settings.uses_celery:
        celery_app = make_celery(settings, flask_app)
        return _celery_manager_class()(celery_app, key_prefix=celery_key_prefix(settings),
                                       hand_over_secret=secret, expire=3600)
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    return _diskcache_manager_class()(diskcache.Cache(str(settings.jobs_dir)), expire=3600,
                                      hand_over_secret=secret)
