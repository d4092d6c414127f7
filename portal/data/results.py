"""Named analytics results of a tenant's current dataset, computed once per
dataset version and shared by every worker and host.

Adding a result is one line::

    register("describe", lambda r: analytics.report.describe(r("cleaned")))

A builder gets a :class:`Resolver` ``r``: ``r("name")`` is another result of
the same dataset, ``r.ctx`` the context, ``r.dataset_id`` the dataset and
``r.variant`` the variant asked for.  A *variant* is a short string that
distinguishes versions of one result of one dataset (e.g. before and after its
models were fitted); it is part of the key.  Results
are shared read-only objects: never modify one in place.

Cache keys carry the code version, the builder version, the tenant id and the
dataset id, so a new import is seen at once and nothing stale or foreign is
ever served.  Bump :data:`CODE_VERSION` (all results) or a builder's
``version`` when what it computes changes.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from flask import current_app, has_app_context

import analytics
from analytics.orders import order_table
from analytics.report import describe

from . import storage
from .cache import MISSING, ResultCache
from ..platform.tenancy import PortalContext

log = logging.getLogger(__name__)

CODE_VERSION = "1"


class NoDataset(LookupError):
    """The tenant has no dataset yet."""


@dataclass(frozen=True)
class Builder:
    name: str
    build: Callable[["Resolver"], Any]
    #: False: keep in the per-process LRU only (e.g. the raw frame, which the
    #: database already stores and which is quick to read back).
    shared: bool = True
    #: False: no caching at all (the builder is cheap or caches itself).
    cached: bool = True
    version: str = "1"


REGISTRY: dict[str, Builder] = {}


def register(name: str, build: Callable[["Resolver"], Any], *, shared: bool = True,
             cached: bool = True, version: str = "1") -> None:
    """Register (or replace) the builder of result ``name``."""
    REGISTRY[name] = Builder(name, build, shared=shared, cached=cached, version=version)


class Resolver:
    """What a builder sees: the dataset it builds for and its sibling results."""

    def __init__(self, ctx: PortalContext, dataset_id: int, variant: str = "") -> None:
        self.ctx = ctx
        self.dataset_id = dataset_id
        self.variant = variant

    def __call__(self, name: str, variant: str = "") -> Any:
        return _get(self.ctx, self.dataset_id, name, variant)


def result_key(ctx: PortalContext, dataset_id: int, name: str, variant: str = "") -> str:
    builder = REGISTRY[name]
    key = f"r{CODE_VERSION}:{name}:v{builder.version}:t{ctx.tenant_id}:d{dataset_id}"
    return f"{key}:{variant}" if variant else key


def get_result(ctx: PortalContext, name: str, variant: str = "") -> Any:
    """Result ``name`` (of ``variant``) for the context's current dataset; :class:`NoDataset` if none."""
    if ctx.dataset_id is None:
        raise NoDataset("No data yet: an admin can import a file on the Data page.")
    return _get(ctx, ctx.dataset_id, name, variant)


def prime(ctx: PortalContext, dataset_id: int, name: str, value: Any) -> None:
    """Store a result computed elsewhere (the import already holds the cleaned log)."""
    builder = REGISTRY[name]
    if not builder.cached:
        return
    cache = _cache()
    key = result_key(ctx, dataset_id, name)
    size = cache.shared_set(key, value) if builder.shared else None
    cache.local_put(key, value, size or None)


def _get(ctx: PortalContext, dataset_id: int, name: str, variant: str = "") -> Any:
    if name not in REGISTRY:
        raise KeyError(f"No result named {name!r}; known: {', '.join(sorted(REGISTRY))}.")
    builder = REGISTRY[name]
    # Results are computed with the dataset's own tenant, never another's: storage
    # refuses a dataset id that is not the context's tenant's.
    ctx = replace(ctx, dataset_id=dataset_id)
    if not builder.cached:
        return builder.build(Resolver(ctx, dataset_id, variant))
    cache = _cache()
    key = result_key(ctx, dataset_id, name, variant)
    value = _cached(cache, key, builder.shared)
    if value is not MISSING:
        return value
    with cache.compute_lock(key):
        value = _cached(cache, key, builder.shared)  # built by another worker while we waited?
        if value is not MISSING:
            return value
        started = time.perf_counter()
        value = builder.build(Resolver(ctx, dataset_id, variant))
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        size = cache.shared_set(key, value) if builder.shared else 0
        cache.local_put(key, value, size or None)
    log.info("result built", extra={"event": "result_built", "result": name, "tenant_id": ctx.tenant_id,
                                    "dataset_id": dataset_id, "duration_ms": elapsed_ms})
    return value


def _cached(cache: ResultCache, key: str, shared: bool) -> Any:
    """This process's LRU, then (for shared results) the shared cache; MISSING if neither has it."""
    value = cache.local_get(key)
    if value is not MISSING or not shared:
        return value
    value, size = cache.shared_get(key)
    if value is not MISSING:
        cache.local_put(key, value, size)
    return value


def result_cache() -> ResultCache:
    """The app's :class:`portal.data.cache.ResultCache`."""
    return _cache()


def _cache() -> ResultCache:
    if has_app_context() and "portal" in current_app.extensions:
        return current_app.extensions["portal"].cache
    raise RuntimeError("portal.data.results needs an app context (create_app())")


# --------------------------------------------------------------------------
# the builders


def _transactions(r: Resolver):
    return storage.load_transactions(r.ctx, r.dataset_id)


def _cleaned(r: Resolver):
    return analytics.clean_transactions(r("transactions"))


def _orders(r: Resolver):
    return order_table(r("cleaned").lines)


register("transactions", _transactions, shared=False)
register("cleaned", _cleaned)
register("orders", _orders)
register("describe", lambda r: describe(r("cleaned")))
# "models" is registered by portal.data.jobs, which fits and stores them.
