"""Fuzz the import path with malformed files and count the outcomes (issue 6, bad input).

    python benchmarks/fuzz_import.py [--cases 1000] [--seed 0]

Draws files from ``tests/fuzz_files.py`` (random bytes, empty files, header
only, wrong and duplicated columns, mixed date formats, negative and huge
numbers, 10,000 columns, very long cells, non-UTF-8, formula strings,
malformed cells) and imports each one into a tenant that already has a
dataset.  After every attempt it checks that the tenant's current dataset is
the previous one byte for byte (refused file) or the new version (accepted
file), that the other tenant is untouched, and that a refusal carries a
message.  Prints the cases per kind, accepted / refused, exceptions (must be
0), lost data (must be 0) and the slowest attempt.
"""
from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "portal")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from hypothesis import HealthCheck, given, seed, settings
    from portal_testlib import build_app, make_settings, small_log
    from test_import_fuzz import current_state

    from portal.data.imports import import_dataset
    from tests.fuzz_files import malformed_files

    folder = Path(tempfile.mkdtemp(prefix="fuzz-import-"))
    logs = {}
    for slug, customers in (("alpha", 40), ("beta", 30)):
        logs[slug] = folder / f"{slug}.csv"
        small_log(customers, 3, seed=len(slug)).to_csv(logs[slug], index=False)
    app = build_app(make_settings(folder), logs=logs)
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    problems: list[str] = []
    slowest = [0.0, ""]

    @seed(args.seed)
    @settings(max_examples=args.cases, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(malformed_files())
    def attempt(case):
        data, kind = case
        before, beta = current_state("alpha"), current_state("beta")
        started = time.perf_counter()
        try:
            outcome = import_dataset("alpha", data, filename=f"fuzz-{kind}.csv")
        except Exception as exc:  # noqa: BLE001 - counted: must never happen
            counts[kind]["exception"] += 1
            problems.append(f"{kind}: {type(exc).__name__}: {exc}")
            return
        elapsed = time.perf_counter() - started
        if elapsed > slowest[0]:
            slowest[:] = [elapsed, kind]
        after = current_state("alpha")
        lost = current_state("beta") != beta
        if outcome.ok:
            counts[kind]["accepted"] += 1
            lost |= after[0] != outcome.dataset_id
        else:
            counts[kind]["refused"] += 1
            lost |= after != before or not (outcome.error or "").strip() or "internal error" in outcome.error
        if lost:
            counts[kind]["lost data"] += 1
            problems.append(f"{kind}: invariant broken ({outcome.error})")

    started = time.perf_counter()
    with app.app_context():
        attempt()
    total = sum(sum(c.values()) for c in counts.values())
    print(f"import fuzzing, {time.strftime('%Y-%m-%d')}: {total} cases in {time.perf_counter() - started:.0f} s "
          f"(seed {args.seed})")
    print(f"   {'kind':<20} {'cases':>6} {'accepted':>9} {'refused':>8} {'exception':>10} {'lost data':>10}")
    for kind, c in sorted(counts.items()):
        print(f"   {kind:<20} {sum(c.values()):>6} {c['accepted']:>9} {c['refused']:>8} {c['exception']:>10} "
              f"{c['lost data']:>10}")
    exceptions = sum(c["exception"] for c in counts.values())
    lost = sum(c["lost data"] for c in counts.values())
    print(f"   exceptions: {exceptions}, cases that lost or changed data in use: {lost}; "
          f"slowest attempt {slowest[0] * 1000:.0f} ms ({slowest[1]})")
    for problem in problems[:10]:
        print("   problem:", problem)
    return 0 if exceptions == 0 and lost == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
