"""Two-level result cache with a compute lock; never the cause of a failed request.

* Level 1: a per-process LRU of live objects, bounded by ``LRU_MAX_MB`` (sizes
  estimated from the pickled size or the frame's memory), so a hot result is
  not unpickled on every request.
* Level 2: flask-caching, shared by processes: ``FileSystemCache`` under
  ``DATA_DIR/cache`` (the workers of one machine) or ``RedisCache`` when
  ``REDIS_URL`` is set (many machines).  Values are stored pickled.
* Rendered views (:func:`portal.dashboard.view.memoised_view`): per process in
  :attr:`ResultCache.views`; shared as the JSON Dash sends, in the same Redis or
  in a ``FileSystemCache`` of their own (``DATA_DIR/cache-views``, so that many
  small views never push a heavy result out of the results' folder).
* Compute lock: a Redis lock when Redis is configured, else an ``fcntl`` file
  lock under ``DATA_DIR/cache-locks`` (beside the cache folder, not in it, so
  clearing the cache never meets a folder), so concurrent misses of one key wait for
  the first computation instead of repeating it.

Any error of the shared level (Redis down, disk full) is logged as a warning at
most once a minute and the portal goes on without it: computing, not failing.
Redis is tried again on every call, so it is used again as soon as it is back.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import pickle
import sys
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import redis
from flask_caching import Cache

from ..platform.config import Settings
from ..platform.metrics import observe_cache

log = logging.getLogger(__name__)

MISSING = object()
WARN_INTERVAL_S = 60.0
LOCK_TIMEOUT_S = 900  # a Redis lock outlives a crashed holder by at most this
LOCK_WAIT_S = 600  # longest wait for another process's computation
#: Shared rendered views: at most this many entries in their folder (oldest pruned first),
#: and each lives at most a day (in Redis too), so forged queries cannot fill the disk or Redis.
VIEW_THRESHOLD = 4000
VIEW_TIMEOUT_S = 24 * 3600


class LRU:
    """A thread-safe least-recently-used map bounded by total estimated bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return MISSING
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: str, value: Any, size: int) -> None:
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes and self._items:
                _, (_, evicted) = self._items.popitem(last=False)
                self._bytes -= evicted

    def discard(self, key: str) -> None:
        with self._lock:
            item = self._items.pop(key, None)
            if item is not None:
                self._bytes -= item[1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes


def estimate_size(value: Any) -> int:
    """Rough bytes of a result in memory (frames by their columns)."""
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=True, index=True).sum())
    if isinstance(value, pd.Series):
        return int(value.memory_usage(deep=True, index=True))
    frames = [v for v in getattr(value, "__dict__", {}).values() if isinstance(v, (pd.DataFrame, pd.Series))]
    if frames:
        return sum(estimate_size(f) for f in frames) + 1024
    try:
        return len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - unpicklable: a size guess is enough
        return sys.getsizeof(value)


def beside_cache(settings: Settings, name: str) -> Path:
    """A folder next to ``DATA_DIR/cache`` (``cache-<name>``), never inside it:
    FileSystemCache.clear() stops at the first entry it cannot remove, so a folder inside
    would leave results behind after a privacy erasure."""
    return settings.cache_dir.with_name(f"{settings.cache_dir.name}-{name}")


def views_dir(settings: Settings) -> Path:
    """The disk folder of the rendered views shared by the workers of one machine."""
    return beside_cache(settings, "views")


class ResultCache:
    """The cache of named analytics results (see the module docstring)."""

    def __init__(self, settings: Settings, backend: Any, redis_client: Any = None,
                 view_backend: Any = None) -> None:
        self.settings = settings
        self.backend = backend
        self.view_backend = backend if view_backend is None else view_backend
        self.redis = redis_client
        self.lru = LRU(settings.lru_max_mb * 1024 * 1024)
        #: Rendered page callbacks (:func:`portal.dashboard.view.memoised_view`), apart from
        #: the results so that many small views never evict a heavy result.
        self.views = LRU(settings.view_cache_mb * 1024 * 1024)
        self.lock_dir = beside_cache(settings, "locks")
        self.kind = "redis" if redis_client is not None else "filesystem"
        self._last_warning = 0.0
        self._warn_lock = threading.Lock()

    # ---- level 1 --------------------------------------------------------

    def local_get(self, key: str) -> Any:
        value = self.lru.get(key)
        observe_cache("local", value is not MISSING)
        return value

    def local_put(self, key: str, value: Any, size: int | None = None) -> None:
        self.lru.put(key, value, estimate_size(value) if size is None else size)

    # ---- level 2 --------------------------------------------------------

    def shared_get(self, key: str) -> tuple[Any, int]:
        """``(value, pickled size)`` or ``(MISSING, 0)``; errors count as a miss."""
        try:
            data = self.backend.get(key)
        except Exception as exc:  # noqa: BLE001 - the cache must never fail a request
            self._warn("read", exc)
            observe_cache("shared", False)
            return MISSING, 0
        observe_cache("shared", data is not None)
        if data is None:
            return MISSING, 0
        try:
            return pickle.loads(data), len(data)
        except Exception as exc:  # noqa: BLE001 - corrupt entry: recompute
            self._warn("unpickle", exc)
            return MISSING, 0

    def shared_set(self, key: str, value: Any) -> int:
        """Store ``value``; returns its pickled size (0 when it could not be stored)."""
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001
            self._warn("pickle", exc)
            return 0
        try:
            if self.redis is None:  # the folder may have been deleted while serving: recreate it
                Path(self.settings.cache_dir).mkdir(parents=True, exist_ok=True)
            if self.backend.set(key, data, timeout=self.settings.cache_timeout) is False:
                raise OSError("the cache backend refused the entry")
        except Exception as exc:  # noqa: BLE001
            self._warn("write", exc)
            return 0
        return len(data)

    def view_get(self, key: str) -> str | None:
        """The shared JSON of a rendered view, or None (errors count as a miss)."""
        try:
            text = self.view_backend.get(key)
        except Exception as exc:  # noqa: BLE001 - the cache must never fail a request
            self._warn("view read", exc)
            text = None
        found = isinstance(text, str)
        observe_cache("view", found)
        return text if found else None

    def view_set(self, key: str, text: str) -> None:
        """Share the JSON of a rendered view (best effort)."""
        try:
            if self.redis is None:
                views_dir(self.settings).mkdir(parents=True, exist_ok=True)
            self.view_backend.set(key, text, timeout=min(self.settings.cache_timeout, VIEW_TIMEOUT_S))
        except Exception as exc:  # noqa: BLE001
            self._warn("view write", exc)

    def delete(self, key: str) -> None:
        self.lru.discard(key)
        try:
            self.backend.delete(key)
        except Exception as exc:  # noqa: BLE001
            self._warn("delete", exc)

    # ---- compute lock ---------------------------------------------------

    @contextmanager
    def compute_lock(self, key: str) -> Iterator[None]:
        """Hold the lock of ``key``; Redis lock if Redis answers, else a file lock."""
        if self.redis is not None:
            lock = self.redis.lock(f"{self.settings.cache_prefix}:lock:{key}", timeout=LOCK_TIMEOUT_S,
                                   blocking_timeout=LOCK_WAIT_S, thread_local=False)
            try:
                acquired = lock.acquire()
            except Exception as exc:  # noqa: BLE001 - Redis down: lock locally instead
                self._warn("lock", exc)
            else:
                try:
                    yield
                finally:
                    if acquired:
                        try:
                            lock.release()
                        except Exception:  # noqa: BLE001 - expired or Redis gone
                            pass
                return
        with self._file_lock(key):
            yield

    @contextmanager
    def _file_lock(self, key: str) -> Iterator[None]:
        try:
            self.lock_dir.mkdir(parents=True, exist_ok=True)
            handle = open(self.lock_dir / f"{hashlib.sha1(key.encode()).hexdigest()}.lock", "a+")
        except OSError as exc:
            self._warn("lock file", exc)
            yield
            return
        with handle:
            deadline = time.monotonic() + LOCK_WAIT_S
            locked = False
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    locked = True
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
            try:
                yield
            finally:
                if locked:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def drop_all(self) -> bool:
        """Forget every cached result and view, in this process and in the shared level.

        True when the shared level is empty afterwards; False (with a warning logged) when it
        could not be cleared, for a caller that must say so (a privacy erasure)."""
        self.lru.clear()
        self.views.clear()
        try:
            cleared = bool(self.backend.clear())
            if self.view_backend is not self.backend:
                cleared = bool(self.view_backend.clear()) and cleared
            return cleared
        except Exception as exc:  # noqa: BLE001 - Redis down or folder gone
            self._warn("clear", exc)
            return False

    # ---- status ---------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """For /healthz: is the shared level usable?"""
        try:
            if self.redis is not None:
                self.redis.ping()
            else:
                Path(self.settings.cache_dir).mkdir(parents=True, exist_ok=True)
                probe = Path(self.settings.cache_dir) / ".probe"
                probe.write_text("ok")
            return {"ok": True, "kind": self.kind}
        except Exception as exc:  # noqa: BLE001
            return {"ok": False, "kind": self.kind, "error": type(exc).__name__}

    def _warn(self, what: str, exc: BaseException) -> None:
        now = time.monotonic()
        with self._warn_lock:
            if now - self._last_warning < WARN_INTERVAL_S:
                return
            self._last_warning = now
        log.warning("shared cache unavailable (%s failed: %s: %s); serving without it",
                    what, type(exc).__name__, exc, extra={"event": "cache_degraded", "cache": self.kind})


def build_result_cache(app, settings: Settings) -> ResultCache:
    """Create the flask-caching backend for ``app`` and wrap it in a :class:`ResultCache`."""
    if settings.redis_url:
        options = {"socket_connect_timeout": 1.0, "socket_timeout": 5.0, "retry_on_timeout": False}
        config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": settings.redis_url,
                  "CACHE_KEY_PREFIX": f"{settings.cache_prefix}:cache:", "CACHE_OPTIONS": options,
                  "CACHE_DEFAULT_TIMEOUT": settings.cache_timeout}
        client = redis.Redis.from_url(settings.redis_url, **options)
    else:
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        config = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(settings.cache_dir),
                  "CACHE_THRESHOLD": 2000, "CACHE_DEFAULT_TIMEOUT": settings.cache_timeout}
        client = None
    cache = Cache(app, config=config)
    backend = app.extensions["cache"][cache]
    views = None
    if client is None:
        view_config = {**config, "CACHE_DIR": str(views_dir(settings)), "CACHE_THRESHOLD": VIEW_THRESHOLD}
        views_cache = Cache(app, config=view_config)
        views = app.extensions["cache"][views_cache]
    return ResultCache(settings, backend, client, view_backend=views)
