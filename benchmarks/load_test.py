"""Load test (issue 6): the portal under gunicorn with 2 workers on loopback, a 1M-row
tenant and a small one, driven by simulated managers (locust, headless).

    python benchmarks/load_test.py --mode embedded --users 10,50,100 --duration 60
    python benchmarks/load_test.py --mode scaled   # PostgreSQL + Redis
    python benchmarks/load_test.py --mode scaled --hosts 1,2 --users 100   # one host against two

For each user count it prints requests per second, p50/p95/p99 latency per kind
of request, the errors and each worker's peak memory, and writes the figures to
``benchmarks/out/load-<mode>.json``.  Targets: zero errors, p95 under 500 ms
for cached views, no worker over 1 GB.

Kinds: ``login``; ``page`` (HTML shell + Dash layout); ``view`` (the callbacks
of a page: router and figures, i.e. what a manager waits for after a click;
the caches are warm, as on a Monday morning after the first visit);
``change`` (the callbacks of a filter changed inside a page, without a reload);
``export`` (a streamed customer-list CSV, up to ~10k rows).

Scale out (issue 14, item 8): ``--hosts 1,2`` (scaled mode) runs each user count against one
gunicorn host, then against two hosts on different ports sharing ``DATABASE_URL`` and
``REDIS_URL`` (each with ``WEB_CONCURRENCY`` workers, the users split between them), and
prints the throughput of two hosts against one.  On one 2-core machine both hosts share the
same two cores, so the ratio measures the overhead of the second host, not a gain: two
hosts double throughput only on two machines.
"""
from __future__ import annotations

import argparse
import json
import os
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
    if name.startswith("change "):
        return "change"
    return name.split(" ", 1)[0]


def run_hosts(urls: list[str], users: int, duration: int, flows: Path, accounts: list, log: Path) -> float:
    """Locust against each host at once (the users split between them); one log of all requests."""
    import threading

    logs = [log.with_suffix(f".host{i}.tsv") for i in range(len(urls))]
    elapsed: list[float] = []
    threads = [threading.Thread(target=lambda u=url, part=part, n=n: elapsed.append(
        run_locust(u, n, duration, flows, accounts, part)))
        for url, part, n in zip(urls, logs, _split(users, len(urls)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.write_text("".join(part.read_text() for part in logs if part.exists()))
    return max(elapsed)


def _split(users: int, parts: int) -> list[int]:
    return [users // parts + (1 if i < users % parts else 0) for i in range(parts)]


def run_locust(url: str, users: int, duration: int, flows: Path, accounts: list, log: Path) -> float:
    log.unlink(missing_ok=True)
    env = {**os.environ, "LOADTEST_FLOWS": str(flows), "LOADTEST_ACCOUNTS": json.dumps(accounts),
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
    parser.add_argument("--hosts", default="1", help="e.g. 1,2: also run against two hosts (scaled mode)")
    args = parser.parse_args()
    host_counts = [int(h) for h in args.hosts.split(",")]
    if max(host_counts) > 1 and args.mode != "scaled":
        parser.error("two hosts share DATABASE_URL and REDIS_URL: use --mode scaled")

    dep = deployment(args.mode)
    print(f"== {args.mode}: preparing {dep.data_dir}", flush=True)
    prepare(dep, args.customers, fresh=args.fresh)
    server = Server(dep)
    servers = [server]
    results = {"mode": args.mode, "date": time.strftime("%Y-%m-%d"), "runs": []}
    try:
        manager = next(a[0] for a in dep.accounts if a[2] == "manager" and "@big" in a[0])
        flows_path = dep.data_dir / "flows.json"
        print("== recording browser flows", flush=True)
        flows = record_flows(server.url, manager, flows_path)
        print(f"   {len(flows)} flows, {sum(len(f['callbacks']) for f in flows)} callback requests", flush=True)
        changes = sorted(len(f["callbacks"]) for f in flows if f.get("kind") == "change")
        if changes:
            print(f"   requests per in-page filter change: median {np.median(changes):.0f}, "
                  f"max {max(changes)} (goal <= 2)", flush=True)
        started = time.perf_counter()
        for account in {a[0]: a for a in dep.accounts if a[2] == "manager"}.values():
            if account[0].startswith("manager0@"):
                replay(server.url, account[0], flows)
        print(f"== caches warmed in {time.perf_counter() - started:.1f} s", flush=True)
        for hosts in host_counts:
            while len(servers) < hosts:
                servers.append(Server(dep))
                replay(servers[-1].url, next(a[0] for a in dep.accounts if a[0].startswith("manager0@")), flows)
            for users in [int(u) for u in args.users.split(",")]:
                watches = [MemoryWatch(s) for s in servers[:hosts]]
                cpu_before = sum(server_cpu_s(s) for s in servers[:hosts])
                log = OUT / f"load-{args.mode}-{hosts}h-{users}.tsv"
                elapsed = run_hosts([s.url for s in servers[:hosts]], users, args.duration, flows_path,
                                    dep.accounts, log)
                peaks = [mb for watch in watches for mb in watch.stop().values()]
                cpu = sum(server_cpu_s(s) for s in servers[:hosts]) - cpu_before
                summary = summarise(log, elapsed) | {"users": users, "hosts": hosts, "server_cpu_s": cpu,
                                                     "load_average": os.getloadavg()[0],
                                                     "worker_peak_rss_mb": sorted(peaks)}
                results["runs"].append(summary)
                print_run(summary)
        print_scale_out(results["runs"])
    finally:
        for each in servers:
            each.stop()
    out = OUT / f"load-{args.mode}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")
    return 0


def server_cpu_s(server: Server) -> float:
    """CPU seconds (user+sys) used so far by a gunicorn master and its workers."""
    import psutil

    total = 0.0
    try:
        master = psutil.Process(server.process.pid)
        for process in [master] + master.children(recursive=True):
            total += sum(process.cpu_times()[:2])
    except psutil.Error:
        pass
    return total


def print_scale_out(runs: list[dict]) -> None:
    """Throughput of two hosts against one at each user count (when both ran), per wall second and
    per CPU second of the portal's processes."""
    one = {r["users"]: r for r in runs if r["hosts"] == 1}
    for run in (r for r in runs if r["hosts"] > 1 and r["users"] in one):
        base = one[run["users"]]
        p95 = [r["kinds"].get("view", {}).get("p95_ms", 0) for r in (run, base)]
        per_cpu = [r["requests"] / max(r["server_cpu_s"], 1e-9) for r in (run, base)]
        print(f"\n== scale out, {run['users']} users: {run['hosts']} hosts {run['rps']:.1f} req/s against 1 host "
              f"{base['rps']:.1f} req/s: ratio {run['rps'] / base['rps']:.2f} (view p95 {p95[0]:.0f} ms against "
              f"{p95[1]:.0f} ms)\n   requests per CPU second of the portal: {per_cpu[0]:.1f} against "
              f"{per_cpu[1]:.1f} (ratio {per_cpu[0] / per_cpu[1]:.2f}); load average {run['load_average']:.1f} / "
              f"{base['load_average']:.1f} on {os.cpu_count()} cores.\n   Both hosts share these cores: on an idle "
              f"machine two hosts cannot beat one (the two workers of one host already use both cores); a ratio "
              f"above 1 here means more processes won a larger share of cores that other work also used.")


def print_run(run: dict) -> None:
    peaks = ", ".join(f"{mb:.0f}" for mb in run["worker_peak_rss_mb"])
    print(f"\n-- {run['users']} users, {run.get('hosts', 1)} host(s): {run['requests']} requests, "
          f"{run['rps']:.1f} req/s, {run.get('server_cpu_s', 0):.0f} s CPU of the portal, load average "
          f"{run.get('load_average', 0):.1f}, "
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
