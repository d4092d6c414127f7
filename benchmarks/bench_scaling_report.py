"""How the descriptive report grows from 100k to 1M to 10M lines; a script that prints figures.

    python benchmarks/bench_scaling_report.py                 # 100k, 1M, 10M lines, 1 run each
    python benchmarks/bench_scaling_report.py --customers 1000 10000 --runs 3

Each size is a synthetic log of the UCI layout (``analytics.synthetic``,
24 months, about 100 lines per customer: 1,000 / 10,000 / 100,000 customers),
written once as Parquet to ``--data-dir`` (kept between runs; generating 10M
lines takes minutes and about 3 GB).  Each run is a whole process,
``python -m analytics report LOG --out DIR --skip-models --quiet``, timed from
outside: wall and CPU seconds and peak RSS of that child (``os.wait4``).  The
table prints the growth factor against the previous size.

Goal (issue 14, item 5): the 10M-line log's descriptive report ready in under
60 s with a peak under 3 GB (the portal's import adds storage on top).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_report_vs_duckdb import run_process  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
MONTHS = 24
GOAL_SECONDS, GOAL_PEAK_MB = 60.0, 3072.0


def synthetic_log(folder: Path, customers: int) -> tuple[Path, float | None]:
    """The log of ``customers`` customers (generated unless already there) and the
    seconds its generation took (None when it was already there)."""
    path = folder / f"synthetic_{customers}c_{MONTHS}m_seed0.parquet"
    if path.exists():
        return path, None
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.parquet")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "analytics", "synth", "--customers", str(customers),
                    "--months", str(MONTHS), str(partial)], check=True, stdout=subprocess.DEVNULL)
    partial.rename(path)
    return path, time.perf_counter() - start


def rows_of(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "analytics_scaling")
    args = parser.parse_args()
    print(f"python -m analytics report --skip-models, whole processes, median of {args.runs} run(s); "
          f"logs in {args.data_dir}")
    print(f"  {'lines':>11} {'wall s':>8} {'cpu s':>8} {'peak RSS':>10} {'s / M lines':>12} "
          f"{'x wall':>7} {'x cpu':>6} {'x memory':>9} {'x lines':>8}")
    previous = None
    for customers in args.customers:
        path, generated = synthetic_log(args.data_dir, customers)
        rows = rows_of(path)
        with tempfile.TemporaryDirectory(prefix="scaling_out_") as out:
            runs = [run_process([sys.executable, "-m", "analytics", "report", str(path), "--out", out,
                                 "--skip-models", "--quiet"]) for _ in range(args.runs)]
        wall = statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        peak = statistics.median(r["rss_mb"] for r in runs)
        growth = ("" if previous is None else
                  f"{wall / previous[1]:>7.1f} {cpu / previous[3]:>6.1f} {peak / previous[2]:>9.1f} "
                  f"{rows / previous[0]:>8.1f}")
        print(f"  {rows:>11,} {wall:>8.2f} {cpu:>8.2f} {peak:>8.0f}MB {wall / rows * 1e6:>12.2f} {growth}"
              + (f"   (log generated in {generated:.0f} s)" if generated else ""))
        previous = (rows, wall, peak, cpu)
    if previous and previous[0] >= 5_000_000:
        ok = previous[1] < GOAL_SECONDS and previous[2] < GOAL_PEAK_MB
        print(f"  largest log: {previous[1]:.1f} s wall, {previous[3]:.1f} s CPU (goal < {GOAL_SECONDS:.0f} s), "
              f"peak {previous[2]:.0f} MB (goal < {GOAL_PEAK_MB:.0f} MB): {'met' if ok else 'NOT met'}")
        print(f"  (the report is one thread: on an idle machine its wall time is about its CPU time; "
              f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
