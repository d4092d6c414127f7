"""Every use of a private Dash name, in one place (Dash 4.4.1).

The rest of the portal uses Dash's public API only.  What Dash offers no public
way for lives here, each with the reason:

* :func:`callback_context_value`: the raw context of the running callback (a
  background job reads the signed hand-over of its owner from it).
* :func:`claim_global_callbacks`: hand the callbacks that page modules registered
  with ``@dash.callback`` to one app now (Dash does it at the app's first request,
  to whichever app of the process is served first; tests build several apps).
* :func:`set_up_server_now`: Dash's first-request set-up, run before serving;
  :func:`is_set_up`: whether it has run (its inline scripts are known then).
* :func:`celery_job_fn`, :func:`progress_key`, :func:`set_props_key`: the task
  factory and key names of Dash's Celery manager, for a manager that prefixes
  its Redis keys and registers unshared tasks.

``tests/portal/platform/test_dash_compat.py`` exercises each of them on the
installed Dash: an upgrade that renames or reshapes one fails there first.
"""
from __future__ import annotations

from typing import Any, Callable

import dash
from dash import _callback, _callback_context
from dash.background_callback.managers import BaseBackgroundCallbackManager
from dash.background_callback.managers.celery_manager import _make_job_fn

#: The Dash release these names were read from (requirements.txt pins it).
DASH_VERSION = "4.4.1"
#: Names of the ``before_request`` functions Dash adds for its page router.
_ROUTER_FUNCTIONS = ("router_sync", "router_async")


def callback_context_value() -> Any:
    """The context mapping of the callback running in this thread (``LookupError`` outside one)."""
    return _callback_context.context_value.get()


def claim_global_callbacks(dash_app: dash.Dash) -> None:
    """Bind the callbacks registered so far with ``@dash.callback`` to ``dash_app`` and
    empty Dash's process-wide list."""
    dash_app.callback_map.update(_callback.GLOBAL_CALLBACK_MAP)
    dash_app._callback_list.extend(_callback.GLOBAL_CALLBACK_LIST)  # noqa: SLF001
    _callback.GLOBAL_CALLBACK_MAP.clear()
    _callback.GLOBAL_CALLBACK_LIST.clear()


def set_up_server_now(server, dash_app: dash.Dash) -> None:
    """Run Dash's first-request set-up (script registry, page router) inside a test
    request of ``server``, instead of lazily in the first real request."""
    with server.test_request_context("/"):
        dash_app._setup_server()  # noqa: SLF001
        for func in list(server.before_request_funcs.get(None, [])):
            if getattr(func, "__name__", "") in _ROUTER_FUNCTIONS:
                func()


def is_set_up(dash_app: dash.Dash) -> bool:
    """Whether Dash's first-request set-up of ``dash_app`` (and of its page router, with
    ``use_pages``) is done; Dash has no public flag."""
    done = dash_app._got_first_request  # noqa: SLF001
    return bool(done["setup_server"] and (done["pages"] or not dash_app.use_pages))


def celery_job_fn(fn: Callable, celery_app: Any, progress: Any, key: Any) -> Any:
    """The Celery task Dash's ``CeleryManager`` would make for a background callback;
    ``celery_app`` needs ``task(...)`` and ``backend``."""
    return _make_job_fn(fn, celery_app, progress, key)


def progress_key(manager: BaseBackgroundCallbackManager, key: str) -> str:
    """Where a background manager keeps the progress of job ``key``."""
    return manager._make_progress_key(key)  # noqa: SLF001


def set_props_key(manager: BaseBackgroundCallbackManager, key: str) -> str:
    """Where a background manager keeps the ``set_props`` updates of job ``key``."""
    return manager._make_set_props_key(key)  # noqa: SLF001
