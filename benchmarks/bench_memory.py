"""Memory of the web dyno (issue 14, item 4): PSS of gunicorn's master and workers.

    python benchmarks/bench_memory.py [--big-customers 10000] [--workers 2] [--small-customers 1000]

Embedded mode, gunicorn (``preload_app`` + ``gc.freeze()``, gunicorn.conf.py) serving
10 tenants: "big" (~100 lines per customer over 24 months: 10,000 customers ~ 1M
lines) and 9 small ones, models fitted.  After a load run (every page of every tenant,
with and without filters, twice) it reads PSS (proportional set size: shared pages
divided among the processes that share them) from ``/proc/<pid>/smaps_rollup`` of the
master and each worker, prints them with the total beside the goal, and says whether
scikit-learn or scipy (compiled libraries, so visible in ``/proc/<pid>/maps``) are mapped into
a web process; lifetimes is pure Python, not visible there: the test
``tests/portal/test_dashboard_browser.py::test_a_web_process_never_imports_lifetimes`` checks it.
Goals: 2 workers, 10 tenants, one of 1M lines: total < 1 GB; 1 worker, tenants up to
100k lines: total < 512 MB.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_fairness import PAGES, SEARCHES, login, post, router_body  # noqa: E402
from loadtest.harness import PASSWORD, Server, deployment, run_seed  # noqa: E402


def pss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    return int(re.search(r"^Pss:\s+(\d+) kB", text, re.M).group(1)) / 1024


def mapped(pid: int, needle: str) -> bool:
    try:
        return needle in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def setup(big: int, small: int, name: str) -> object:
    dep = deployment("embedded", name=name)
    out = run_seed(dep, f"""with create_app(settings).app_context():
    tenants = [("big", {big})] + [(f"small{{i}}", {small}) for i in range(9)]
    for slug, n in tenants:
        if n <= 0:
            continue
        tenant = accounts.create_tenant(slug, slug.title())
        accounts.create_user(tenant.id, "admin@" + slug + ".load", {PASSWORD!r}, "admin")
        path = os.path.join(os.environ["DATA_DIR"], slug + ".parquet")
        generate_transactions(n, 24, seed=len(slug)).to_parquet(path)
        outcome = import_dataset(slug, path)
        print(slug, outcome.rows_in, fit_dataset_models(outcome.dataset_id), flush=True)
""")
    dep.tenants = [line.split()[0] for line in out.splitlines() if line.strip()]
    dep.rows = {line.split()[0]: int(line.split()[1]) for line in out.splitlines() if line.strip()}
    return dep


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big-customers", type=int, default=10_000)
    parser.add_argument("--small-customers", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--preload", default="1", help="GUNICORN_PRELOAD (1 or 0)")
    args = parser.parse_args()
    name = f"memory-{args.workers}w-{args.big_customers}"
    dep = setup(args.big_customers, args.small_customers, name)
    dep.env["GUNICORN_PRELOAD"] = args.preload
    server = Server(dep, workers=args.workers)
    try:
        started = time.monotonic()
        views = 0
        for slug in dep.tenants:
            session = login(server.url, f"admin@{slug}.load")
            for _ in range(2):
                for page in PAGES:
                    for search in SEARCHES:
                        # new connections: the views of a tenant reach every worker
                        session.headers["Connection"] = "close"
                        assert post(session, server.url, router_body(page, search)).status_code == 200
                        views += 1
        load_s = time.monotonic() - started
        time.sleep(2)
        master = server.process.pid
        workers = [w.pid for w in server.workers()]
        figures = {f"master {master}": pss_mb(master)} | {f"worker {pid}": pss_mb(pid) for pid in workers}
        total = sum(figures.values())
        goal = 1024 if args.workers >= 2 else 512
        print(f"memory benchmark, {time.strftime('%Y-%m-%d %H:%M')}: {len(dep.tenants)} tenants "
              f"({', '.join(f'{k} {v:,}' for k, v in dep.rows.items() if k == 'big' or k == 'small0')} lines...), "
              f"{args.workers} worker(s), preload {args.preload}; load run {views} views in {load_s:.0f} s")
        for who, value in figures.items():
            pid = int(who.split()[1])
            libs = [lib for lib in ("sklearn", "scipy") if mapped(pid, f"/{lib}/")]
            print(f"   {who:<16} PSS {value:7.0f} MB   scikit-learn/scipy mapped: {', '.join(libs) or 'no'}")
        print(f"   total            PSS {total:7.0f} MB   goal < {goal} MB: {'PASS' if total < goal else 'FAIL'}")
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
