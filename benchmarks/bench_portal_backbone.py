"""Benchmark of the portal backbone on a ~1M-row tenant, on SQLite and PostgreSQL.

    python benchmarks/bench_portal_backbone.py [--customers 20000] [--backends sqlite,postgresql]

Prints, per backend (medians where repeated):

* import of the CSV end to end: validate, clean, store, first analytics pass cached (target < 30 s)
* dataset payload load from the database (target < 2 s)
* cached analytics result fetch: per-process LRU hit and shared-cache hit (target < 20 ms)
* a page's data on a cold cache: the Overview map data from the stored payload (target < 3 s)

PostgreSQL: a temporary database on TEST_PG_ADMIN_URL (default the local server),
dropped afterwards; skipped if unreachable.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def timed(func, repeat: int = 1) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = func()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def make_csv(customers: int, months: int, folder: Path) -> tuple[Path, int]:
    from analytics.synthetic import generate_transactions

    frame = generate_transactions(customers, months, seed=42)
    path = folder / "tenant-1m.csv"
    frame.to_csv(path, index=False)
    return path, len(frame)


def run_backend(name: str, database_url: str, csv: Path, folder: Path, repeat: int) -> dict[str, float]:
    from portal.platform import accounts, db
    from portal import create_app
    from portal.data import results, storage
    from portal.platform.config import Settings
    from portal.data.imports import import_dataset
    from portal.platform.tenancy import system_context

    data_dir = folder / f"data-{name}"
    settings = Settings(env="test", secret_key="bench", data_dir=data_dir, database_url=database_url,
                        cache_prefix=f"bench-{uuid.uuid4().hex[:8]}", log_level="WARNING", lru_max_mb=2048)
    db.upgrade(settings)
    app = create_app(settings)
    figures: dict[str, float] = {}
    with app.app_context():
        accounts.create_tenant("bench", "Bench Ltd")

        def import_and_warm():
            outcome = import_dataset("bench", csv)
            assert outcome.ok, outcome.error
            results.get_result(system_context("bench"), "describe")  # first analytics pass: every page's tables
            return outcome

        figures["import_end_to_end_s"], outcome = timed(import_and_warm)
        figures.update({f"import_{k}": v for k, v in outcome.timings.items()})
        ctx = system_context("bench")
        figures["payload_load_s"], frame = timed(lambda: storage.load_transactions(ctx), repeat)
        figures["rows"] = len(frame)
        cache = app.extensions["portal"].cache
        results.get_result(ctx, "orders")
        figures["result_fetch_lru_ms"] = timed(lambda: results.get_result(ctx, "orders"), 50)[0] * 1000

        def shared_hit():
            cache.lru.clear()
            return results.get_result(ctx, "orders")

        figures["result_fetch_shared_ms"] = timed(shared_hit, repeat)[0] * 1000

        cold_times = []
        for _ in range(repeat):
            cold = replace(settings, cache_prefix=f"cold-{uuid.uuid4().hex[:8]}")
            app.extensions["portal"].settings = cold
            cache.settings = cold
            cache.lru.clear()
            cache.backend.clear()
            started = time.perf_counter()
            # what the Overview needs on a cold cache: the descriptive report and the customer table
            results.get_result(ctx, "describe")
            results.get_result(ctx, "customers", variant="nomodels")
            cold_times.append(time.perf_counter() - started)
        figures["page_data_cold_s"] = statistics.median(cold_times)
    db._databases.pop(database_url).engine.dispose()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=10000, help="synthetic customers (~1M rows at 10000)")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from sqlalchemy import create_engine, text

    with tempfile.TemporaryDirectory(prefix="bench-portal-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        csv, rows = make_csv(args.customers, args.months, folder)
        print(f"CSV: {rows:,} rows, {csv.stat().st_size / 1e6:,.1f} MB (made in {time.perf_counter() - started:.1f} s)")
        report: dict[str, dict[str, float]] = {}
        for backend in args.backends.split(","):
            if backend == "sqlite":
                report[backend] = run_backend(backend, f"sqlite:///{folder / 'bench.sqlite3'}", csv, folder,
                                              args.repeat)
                continue
            name = f"bench_portal_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
            except Exception as exc:  # noqa: BLE001
                print(f"postgresql: skipped ({type(exc).__name__}: {exc})")
                continue
            try:
                report[backend] = run_backend(backend, PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", csv, folder,
                                              args.repeat)
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()

    targets = {"import_end_to_end_s": ("s", 30), "payload_load_s": ("s", 2), "result_fetch_lru_ms": ("ms", 20),
               "result_fetch_shared_ms": ("ms", 20), "page_data_cold_s": ("s", 3)}
    print(f"\n{'figure':<26}" + "".join(f"{b:>14}" for b in report) + "   target")
    for key in ["rows", "import_end_to_end_s", "import_load_s", "import_clean_s", "import_store_s",
                "payload_load_s", "result_fetch_lru_ms", "result_fetch_shared_ms", "page_data_cold_s"]:
        cells = "".join(f"{report[b].get(key, float('nan')):>14,.3f}" if key != "rows"
                        else f"{int(report[b][key]):>14,}" for b in report)
        unit, limit = targets.get(key, ("", None))
        print(f"{key:<26}{cells}   {'< ' + str(limit) + ' ' + unit if limit else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
