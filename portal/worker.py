"""Celery worker entry point (scaled mode): ``celery -A portal.worker worker``.

Builds the portal with :func:`portal.create_app` from the environment (the same
variables as the web processes: ``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``,
``CACHE_PREFIX``...), so the Dash background callbacks of the pages (the Data
page's import) and the model-fitting task are registered in this process, and
every task runs inside the app's context.  ``celery_app`` is the app's Celery
application; it exists only when background jobs go to Celery (``REDIS_URL`` set
and ``BACKGROUND_JOBS`` auto or celery).
"""
from __future__ import annotations

from . import create_app
from .data.background import lower_job_priority
from .platform.config import ConfigError

lower_job_priority()  # imports and fits: the web processes of this machine come first

flask_app = create_app()
celery_app = flask_app.extensions["portal"].celery
if celery_app is None:
    raise ConfigError("The Celery worker needs background jobs on Celery: set REDIS_URL "
                      "(and BACKGROUND_JOBS=auto or celery).")

__all__ = ["celery_app", "flask_app"]
