"""portal.data.results + portal.data.cache on FileSystemCache and real Redis: computed once
per dataset version, keyed by tenant and dataset, locks, Redis outages."""
from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from dataclasses import replace

import pytest
from portal_testlib import build_app, login, make_settings

from portal.data import results
from portal.data.cache import LRU, MISSING
from portal.platform.tenancy import system_context


@pytest.fixture(params=["filesystem", "redis"])
def cache_app(request, tmp_path, alpha_csv, beta_csv):
    redis_url = request.getfixturevalue("redis_server") if request.param == "redis" else None
    app = build_app(make_settings(tmp_path, redis_url=redis_url), logs={"alpha": alpha_csv, "beta": beta_csv})
    with app.app_context():
        yield app


@pytest.fixture
def counted(tmp_path):
    """A registered result whose builder counts its runs in a file (works across processes)."""
    counter = tmp_path / "builds.txt"
    counter.write_text("")

    def build(r):
        with open(counter, "a") as handle:
            handle.write(f"{r.ctx.tenant_slug}:{r.dataset_id}\n")
        time.sleep(0.3)
        return {"tenant": r.ctx.tenant_slug, "dataset": r.dataset_id, "rows": len(r("transactions"))}

    results.register("test_counted", build)
    yield lambda: counter.read_text().split()
    results.REGISTRY.pop("test_counted", None)


def _services(app):
    return app.extensions["portal"]


def test_result_is_built_once_then_served_from_both_levels(cache_app, counted):
    ctx = system_context("alpha")
    first = results.get_result(ctx, "test_counted")
    assert results.get_result(ctx, "test_counted") is first  # level 1: the same object
    _services(cache_app).cache.lru.clear()
    again = results.get_result(ctx, "test_counted")  # level 2: unpickled, not rebuilt
    assert again == first and again is not first
    assert counted() == [f"alpha:{ctx.dataset_id}"]


def test_keys_carry_tenant_and_dataset(cache_app, counted, beta_csv):
    from portal.data.imports import import_dataset

    alpha, beta = system_context("alpha"), system_context("beta")
    assert results.get_result(alpha, "test_counted")["tenant"] == "alpha"
    assert results.get_result(beta, "test_counted")["tenant"] == "beta"
    key = results.result_key(alpha, alpha.dataset_id, "test_counted")
    assert f"t{alpha.tenant_id}" in key and f"d{alpha.dataset_id}" in key and key.startswith("r")
    outcome = import_dataset("alpha", beta_csv)
    fresh = system_context("alpha")
    assert results.get_result(fresh, "test_counted")["dataset"] == outcome.dataset_id
    assert len(counted()) == 3


def test_builtin_results(cache_app):
    ctx = system_context("alpha")
    cleaned = results.get_result(ctx, "cleaned")
    orders = results.get_result(ctx, "orders")
    assert len(cleaned.lines) == cleaned.report.rows_out
    assert orders["invoice"].nunique() == cleaned.report.orders
    assert results.get_result(ctx, "models") is None  # not fitted
    with pytest.raises(results.NoDataset):
        results.get_result(replace(ctx, dataset_id=None), "cleaned")
    with pytest.raises(KeyError):
        results.get_result(ctx, "no_such_result")


def test_concurrent_misses_wait_for_one_computation(cache_app, counted):
    ctx = system_context("alpha")
    values, errors = [], []

    def worker():
        try:
            with cache_app.app_context():
                values.append(results.get_result(ctx, "test_counted"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(values) == 6
    assert len(counted()) == 1


def _in_process(app, ctx, queue):
    with app.app_context():
        app.extensions["portal"].cache.lru.clear()
        queue.put(results.get_result(ctx, "test_counted")["rows"])


def test_concurrent_misses_across_processes(cache_app, counted):
    ctx = system_context("alpha")
    mp = multiprocessing.get_context("fork")
    queue = mp.Queue()
    processes = [mp.Process(target=_in_process, args=(cache_app, ctx, queue)) for _ in range(3)]
    for process in processes:
        process.start()
    rows = [queue.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(30)
    assert len(set(rows)) == 1
    assert len(counted()) == 1


def test_lru_is_bounded_by_bytes():
    lru = LRU(max_bytes=100)
    lru.put("a", "A", 40)
    lru.put("b", "B", 40)
    assert lru.get("a") == "A"  # a is now the most recent
    lru.put("c", "C", 40)  # evicts b
    assert lru.get("b") is MISSING and lru.get("a") == "A" and lru.get("c") == "C"
    lru.put("huge", "H", 1000)  # larger than the bound: not kept
    assert lru.get("huge") is MISSING and lru.bytes <= 100


@pytest.mark.slow
def test_redis_outage_degrades_to_computing_and_recovers(tmp_path, private_redis, alpha_csv, counted, caplog):
    app = build_app(make_settings(tmp_path, redis_url=private_redis.url, health_token="h" * 24),
                    logs={"alpha": alpha_csv})
    cache = app.extensions["portal"].cache
    client = app.test_client()
    client.environ_base["HTTP_X_HEALTH_TOKEN"] = "h" * 24  # the detailed /healthz
    with app.app_context():
        ctx = system_context("alpha")
        results.get_result(ctx, "test_counted")
        assert len(counted()) == 1

        private_redis.stop()
        caplog.set_level(logging.WARNING, logger="portal.data.cache")
        for _ in range(3):
            cache.lru.clear()
            assert results.get_result(ctx, "test_counted")["tenant"] == "alpha"
        assert len(counted()) == 4  # computed without the shared cache
        warnings = [r for r in caplog.records if r.name == "portal.data.cache"]
        assert len(warnings) == 1 and "serving without it" in warnings[0].getMessage()

    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["cache"]["ok"] is False
    assert health.json["status"] == "degraded"
    response = login(client, "admin@alpha.test")  # sign-in limits live in the database, not in Redis
    assert response.status_code == 302
    assert client.get("/export/orders.csv").status_code == 200

    private_redis.start()
    with app.app_context():
        cache.lru.clear()
        results.get_result(ctx, "test_counted")  # stored in Redis again
        cache.lru.clear()
        results.get_result(ctx, "test_counted")  # served from Redis
    assert len(counted()) == 5
    assert client.get("/healthz").json["cache"]["ok"] is True


def test_deleted_cache_folder_while_serving(tmp_path, alpha_csv, counted):
    """The disk cache's folder removed under a running app: requests still answer (the
    LRU, then a recomputation), and the shared level works again at the next write."""
    import shutil

    app = build_app(make_settings(tmp_path), logs={"alpha": alpha_csv})
    with app.app_context():
        ctx = system_context("alpha")
        cache = _services(app).cache
        first = results.get_result(ctx, "test_counted")
        shutil.rmtree(app.extensions["portal"].settings.cache_dir)
        assert results.get_result(ctx, "test_counted") == first  # still in this process's LRU
        cache.lru.clear()
        assert results.get_result(ctx, "test_counted") == first  # recomputed, stored again
        assert counted() == [f"alpha:{ctx.dataset_id}"] * 2
        cache.lru.clear()
        assert results.get_result(ctx, "test_counted") == first  # from the recreated folder
        assert len(counted()) == 2
        assert cache.status()["ok"]


def test_drop_all_empties_both_levels_after_a_lock_was_taken(cache_app, counted):
    """A privacy erasure drops every cached result: the compute lock (a file beside the disk
    cache, or a Redis key) must not stop the shared level from being cleared."""
    ctx = system_context("alpha")
    results.get_result(ctx, "test_counted")  # computed under the compute lock, stored in both levels
    results.get_result(system_context("beta"), "test_counted")
    cache = _services(cache_app).cache
    cache.view_set("a-rendered-profile", '{"customer": "12345"}')
    assert cache.view_get("a-rendered-profile") is not None
    assert cache.drop_all() is True
    assert cache.view_get("a-rendered-profile") is None  # shared views: a profile may show the customer
    results.get_result(ctx, "test_counted")
    results.get_result(system_context("beta"), "test_counted")
    assert len(counted()) == 4  # both rebuilt: nothing survived in either level
