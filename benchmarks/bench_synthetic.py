"""Time analytics.synthetic.generate_transactions at ~100k and ~1M rows.

Usage: python benchmarks/bench_synthetic.py [--repeats 3] [--months 24]

Prints, per size, the rows produced, the median wall time of the repeats, rows per
second and the peak resident set size of the process so far (getrusage, so it only
grows from one size to the next).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.synthetic import generate_transactions  # noqa: E402

#: customers for ~100k and ~1M rows over 24 months (about 100 rows per customer).
SIZES = (1_000, 10_000)


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--customers", type=int, nargs="*", default=list(SIZES))
    args = parser.parse_args()
    print(f"{'customers':>9} {'months':>6} {'rows':>10} {'seconds':>8} {'rows/s':>11} "
          f"{'peak RSS MiB':>12}")
    for n in args.customers:
        times, rows = [], 0
        for seed in range(args.repeats):
            t0 = time.perf_counter()
            rows = len(generate_transactions(n, args.months, seed=seed))
            times.append(time.perf_counter() - t0)
        sec = statistics.median(times)
        print(f"{n:>9} {args.months:>6} {rows:>10,} {sec:>8.2f} {rows / sec:>11,.0f} "
              f"{peak_rss_mib():>12.0f}")


if __name__ == "__main__":
    main()
