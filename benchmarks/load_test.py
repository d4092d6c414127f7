"""Load test (issue 6): the portal under gunicorn with 2 workers on loopback, a 1M-row
tenant and a small one, driven by simulated managers (locust, headless).

    python benchmarks/load_test.py --mode embedded --users 10,50,100 --duration 60
    python benchmarks/load_test.py --mode scaled   # PostgreSQL + Redis

For each user count it prints requests per second, p50/p95/p99 latency per kind
of request, the errors and each worker's peak memory, and writes the figures to
``benchmarks/out/load-<mode>.json``.  Targets: zero errors, p95 under 500 ms
for cached views, no worker over 1 GB.

Kinds: ``login``; ``page`` (HTML shell + Dash layout); ``view`` (the callbacks
of a page: router and figures, i.e. what a manager waits for after a click;
the caches are warm, as on a Monday morning after the first visit);
``export`` (a streamed customer-list CSV, up to ~10k rows).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadtest.harness import OUT, ROOT, MemoryWatch, Server, deployment, prepare, record_flows, replay  # noqa: E402

LOCUSTFILE = ROOT / "benchmarks" / "loadtest" / "locustfile.py"


def kind_of(name: str) -> str:
    if name.startswith("cb "):
        return "view"
    return name.split(" ", 1)[0]


def run_locust(url: str, users: int, duration: int, flows: Path, accounts: list, log: Path) -> float:
    log.unlink(missing_ok=True)
    env = {**__import__("os").environ, "LOADTEST_FLOWS": str(flows), "LOADTEST_ACCOUNTS": json.dumps(accounts),
           "LOADTEST_LOG": str(log)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(users),
                    "-r", str(max(users // 5, 1)), "-t", f"{duration}s", "--host", url, "--only-summary",
                    "--loglevel", "WARNING", "--stop-timeout", "30"],
                   env=env, check=False, capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - started


def summarise(log: Path, elapsed: float) -> dict:
    rows = [line.rstrip("\n").split("\t") for line in log.read_text().splitlines() if line.strip()]
    by_kind: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    for name, ms, ok, _detail, _at in rows:
        kind = kind_of(name)
        by_kind.setdefault(kind, []).append(float(ms))
        if ok != "1":
            errors[kind] = errors.get(kind, 0) + 1
    kinds = {}
    for kind, values in sorted(by_kind.items()):
        array = np.array(values)
        kinds[kind] = {"requests": len(values), "p50_ms": float(np.percentile(array, 50)),
                       "p95_ms": float(np.percentile(array, 95)), "p99_ms": float(np.percentile(array, 99)),
                       "errors": errors.get(kind, 0)}
    failures = [r for r in rows if r[2] != "1"][:5]
    # sign-ins (the POSTs answered 302) under the production limits, all from 127.0.0.1
    started = min(float(r[4]) for r in rows)
    signed_in = [float(r[4]) - started for r in rows if r[0] == "login" and r[3] == "302"]
    refused = [r for r in rows if r[0] == "login" and r[2] != "1"]
    sign_ins = {"ok": len(signed_in), "failed": len(refused),
                "last_s": round(max(signed_in), 1) if signed_in else None}
    return {"requests": len(rows), "rps": len(rows) / elapsed, "errors": sum(errors.values()), "kinds": kinds,
            "first_errors": failures, "sign_ins": sign_ins}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["embedded", "scaled"], default="embedded")
    parser.add_argument("--users", default="10,50,100")
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--customers", type=int, default=10_000, help="customers of the big tenant (~100 rows each)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the data folder")
    args = parser.parse_args()

    dep = deployment(args.mode)
    print(f"== {args.mode}: preparing {dep.data_dir}", flush=True)
    prepare(dep, args.customers, fresh=args.fresh)
    server = Server(dep)
    results = {"mode": args.mode, "date": time.strftime("%Y-%m-%d"), "runs": []}
    try:
        manager = next(a[0] for a in dep.accounts if a[2] == "manager" and "@big" in a[0])
        flows_path = dep.data_dir / "flows.json"
        print("== recording browser flows", flush=True)
        flows = record_flows(server.url, manager, flows_path)
        print(f"   {len(flows)} flows, {sum(len(f['callbacks']) for f in flows)} callback requests", flush=True)
        started = time.perf_counter()
        for account in {a[0]: a for a in dep.accounts if a[2] == "manager"}.values():
            if account[0].startswith("manager0@"):
                replay(server.url, account[0], flows)
        print(f"== caches warmed in {time.perf_counter() - started:.1f} s", flush=True)
        for users in [int(u) for u in args.users.split(",")]:
            watch = MemoryWatch(server)
            log = OUT / f"load-{args.mode}-{users}.tsv"
            elapsed = run_locust(server.url, users, args.duration, flows_path, dep.accounts, log)
            peaks = watch.stop()
            summary = summarise(log, elapsed) | {"users": users, "worker_peak_rss_mb": sorted(peaks.values())}
            results["runs"].append(summary)
            print_run(summary)
    finally:
        server.stop()
    out = OUT / f"load-{args.mode}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")
    return 0


def print_run(run: dict) -> None:
    peaks = ", ".join(f"{mb:.0f}" for mb in run["worker_peak_rss_mb"])
    print(f"\n-- {run['users']} users: {run['requests']} requests, {run['rps']:.1f} req/s, "
          f"{run['errors']} errors, worker peak RSS MB: {peaks}")
    sign_ins = run["sign_ins"]
    print(f"   sign-ins from one address: {sign_ins['ok']} ok, {sign_ins['failed']} refused, "
          f"last one {sign_ins['last_s']} s after the start")
    print(f"   {'kind':<8} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for kind, k in run["kinds"].items():
        print(f"   {kind:<8} {k['requests']:>9} {k['p50_ms']:>8.0f} {k['p95_ms']:>8.0f} {k['p99_ms']:>8.0f} "
              f"{k['errors']:>7}")
    for failure in run["first_errors"]:
        print("   error:", failure)
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
