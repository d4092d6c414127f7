"""Whole-process benchmark: ``python -m analytics report --skip-models`` against a
DuckDB reference of equal scope and the notebook way; a script that prints figures.

    python benchmarks/bench_report_vs_duckdb.py                  # parquet + csv.gz, 3 paired runs
    python benchmarks/bench_report_vs_duckdb.py --runs 5 --formats parquet
    python benchmarks/bench_report_vs_duckdb.py --verify-only    # do the outputs agree?

Every figure is a whole process (interpreter start, imports, load, compute,
files written), timed from outside: wall seconds, CPU seconds (user + sys) and
peak RSS of that child (``os.wait4``).  Runs are paired: each round runs every
contender once, in an order rotated from round to round, so a noisy neighbour
hits all of them alike; the script prints medians and the median of the
per-round ratios.

Contenders:

* ``ours``: ``python -m analytics report INPUT --out DIR --skip-models --quiet``.
* ``duckdb``: ``benchmarks/duckdb_reference.py`` (same cleaning rules, same
  tables, same eight files; k-means in Python through
  ``analytics.clusters.cluster_customers``, its share printed apart).
* ``notebook``: the RFM-tutorial way (``pd.read_*``, boolean-mask cleaning,
  lambda groupbys, row-wise ``apply``: ``bench_analytics.notebook_way``) on
  the same file; it writes no files and skips k-means, so its time is a lower
  bound (favourable to it).
* ``--help``: ``python -m analytics --help``.

Before timing, the reference's files are compared with ours: same row counts,
same keys, every numeric cell within 1e-9 relative (1e-6 absolute), every text
cell equal, and summary.json value by value; a disagreement is printed and
makes the script exit 1, because a faster wrong reference proves nothing.

Goals (issue 14): ours <= 1.5 x DuckDB; notebook >= 5 x ours; ``--help`` < 0.5 s.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
FILES = {"parquet": DATA / "online_retail_ii.parquet", "csv.gz": DATA / "online_retail_ii.csv.gz"}
REFERENCE = REPO / "benchmarks" / "duckdb_reference.py"
GOAL_VS_DUCKDB, GOAL_VS_NOTEBOOK, GOAL_HELP = 1.5, 5.0, 0.5


def run_process(argv: list[str], cwd: Path = REPO) -> dict:
    """Run ``argv`` in ``cwd`` to completion; wall and CPU seconds, peak RSS (MB), stderr."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{stderr}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
            "stderr": stderr}


def contenders(path: Path, out: Path, baseline: Path | None) -> dict[str, tuple[list[str], Path]]:
    """name -> (argv, working folder)."""
    py = sys.executable
    report = [py, "-m", "analytics", "report", str(path), "--skip-models", "--quiet", "--out"]
    found = {
        "ours": (report + [str(out / "ours")], REPO),
        "duckdb": ([py, str(REFERENCE), str(path), "--out", str(out / "duckdb")], REPO),
        "notebook": ([py, __file__, "--notebook-child", str(path)], REPO),
    }
    if baseline is not None:
        found["baseline"] = (report + [str(out / "baseline")], baseline)
    return found


# ---------------------------------------------------------------------------------
# the notebook way, as a whole process


def notebook_child(path: str) -> None:
    """Load with pandas, clean with boolean masks, then bench_analytics.notebook_way."""
    import types

    import pandas as pd

    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_analytics import notebook_way

    df = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
    df = df.rename(columns={"Invoice": "invoice", "StockCode": "stock_code", "Description": "description",
                            "Quantity": "quantity", "InvoiceDate": "invoice_date", "Price": "unit_price",
                            "Customer ID": "customer_id", "Country": "country"})
    df["invoice_date"] = pd.to_datetime(df["invoice_date"])
    df["customer_id"] = df["customer_id"].apply(lambda x: None if pd.isna(x) else str(int(x)))
    df["stock_code"] = df["stock_code"].astype(str).str.strip().str.upper()
    snapshot = df["invoice_date"].max().normalize() + pd.Timedelta(days=1)
    df = df.drop_duplicates()
    df = df[df["unit_price"] > 0]
    df = df[~df["stock_code"].str.fullmatch(r"POST|DOT|C2|C3|M|ADJUST\d*|B|D|S|PADS|BANK CHARGES|AMAZONFEE|CRUK"
                                            r"|TEST\d*|GIFT_\d+_\d+")]
    cancel = df["invoice"].astype(str).str.startswith("C")
    df = df[(df["quantity"] != 0) & ~(cancel & (df["quantity"] > 0)) & ~(~cancel & (df["quantity"] < 0))]
    df = df.assign(revenue=df["quantity"] * df["unit_price"], is_return=cancel[df.index])
    notebook_way(types.SimpleNamespace(lines=df.reset_index(drop=True), snapshot_date=snapshot))


# ---------------------------------------------------------------------------------
# do the reference's files agree with ours?


def compare_outputs(ours: Path, theirs: Path) -> list[str]:
    import numpy as np
    import pandas as pd

    problems = []
    for name in sorted(p.name for p in ours.glob("*.csv")):
        a = pd.read_csv(ours / name, keep_default_na=False, na_values=[""], dtype={0: str})
        b = pd.read_csv(theirs / name, keep_default_na=False, na_values=[""], dtype={0: str})
        if a.shape != b.shape or list(a.columns) != list(b.columns):
            problems.append(f"{name}: shape {a.shape} vs {b.shape}, columns {list(a.columns)} vs {list(b.columns)}")
            continue
        if name in SORTED_BY_REVENUE:
            # Revenue sums differ in the last bits between engines (summation order), so
            # near-equal revenues may swap places: check each is sorted, then align by key.
            for label, frame in (("ours", a), ("reference", b)):
                if (np.diff(frame["revenue"].to_numpy(float)) > 1e-6).any():
                    problems.append(f"{name}: {label} is not sorted by decreasing revenue")
            key = a.columns[0]
            a, b = (f.sort_values(key, kind="stable").reset_index(drop=True) for f in (a, b))
        for column in a.columns:
            x, y = a[column], b[column]
            if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
                bad = ~np.isclose(x.to_numpy(float), y.to_numpy(float), rtol=1e-9, atol=1e-6, equal_nan=True)
            else:
                bad = ~((x.astype(str) == y.astype(str)) | (x.isna() & y.isna())).to_numpy()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                problems.append(f"{name}: column {column!r} differs in {int(bad.sum())} rows, first row {i}: "
                                f"{x.iloc[i]!r} vs {y.iloc[i]!r}")
    a = json.loads((ours / "summary.json").read_text())
    b = json.loads((theirs / "summary.json").read_text())
    # Customers whose net revenue is zero come out as +-1e-14 from either engine's
    # summation, so "non-positive" is only defined up to that noise: both counts must
    # lie between the customers clearly below zero and those not clearly above it.
    monetary = pd.read_csv(ours / "customers.csv")["monetary"].to_numpy(float)
    low, high = int((monetary < -1e-6).sum()), int((monetary <= 1e-6).sum())
    for doc in (a, b):
        count = doc["concentration"].pop("non_positive_customers")
        if not low <= count <= high:
            problems.append(f"summary.json: non_positive_customers {count} outside [{low}, {high}]")
    problems += [f"summary.json: {p}" for p in _compare_json(a, b, "")]
    return problems


#: Files sorted by revenue, largest first (ties by their key).
SORTED_BY_REVENUE = ("countries.csv", "products.csv")


def _compare_json(a, b, where: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(set(a) ^ set(b))} in one only"]
        return [p for k in a for p in _compare_json(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} items"]
        return [p for i, (x, y) in enumerate(zip(a, b)) for p in _compare_json(x, y, f"{where}[{i}]")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        ok = math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        return [] if ok else [f"{where}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


def totals(folder: Path) -> str:
    """One line of headline totals, to show the two agree on more than shape."""
    import pandas as pd

    customers = pd.read_csv(folder / "customers.csv")
    countries = pd.read_csv(folder / "countries.csv", keep_default_na=False)
    summary = json.loads((folder / "summary.json").read_text())
    return (f"lines kept {summary['cleaning']['rows_out']:,}, customers {len(customers):,}, "
            f"orders {summary['cleaning']['orders']:,}, net revenue {countries['revenue'].sum():,.2f}, "
            f"customer revenue {customers['monetary'].sum():,.2f}, k = {summary['clusters']['k']}")


# ---------------------------------------------------------------------------------


def median(values) -> float:
    return statistics.median(values)


def bench_file(path: Path, runs: int, with_notebook: bool, verify: bool, baseline: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp:
        out = Path(tmp)
        argvs = contenders(path, out, baseline)
        if not with_notebook:
            argvs.pop("notebook")
        names = list(argvs)
        results: dict[str, list[dict]] = {name: [] for name in names}
        for round_ in range(runs):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                results[name].append(run_process(*argvs[name]))
        problems = compare_outputs(out / "ours", out / "duckdb") if verify else []
        agreement = (totals(out / "ours"), totals(out / "duckdb")) if verify else None
    reference = [json.loads(r["stderr"].split("timing ", 1)[1]) for r in results["duckdb"]]
    return {"results": results, "problems": problems, "agreement": agreement, "reference": reference}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="paired rounds (default 3)")
    parser.add_argument("--formats", nargs="+", choices=list(FILES), default=list(FILES))
    parser.add_argument("--no-notebook", action="store_true", help="skip the (slow) notebook way")
    parser.add_argument("--verify-only", action="store_true", help="one round, compare the outputs, no timing")
    parser.add_argument("--baseline", type=Path, help="another checkout (e.g. `git worktree add /tmp/main main`) "
                        "whose report runs as a fourth contender: before / after in the same paired rounds")
    parser.add_argument("--notebook-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.notebook_child:
        notebook_child(args.notebook_child)
        return

    import duckdb

    print(f"python {sys.version.split()[0]}, duckdb {duckdb.__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start ({time.strftime('%Y-%m-%d %H:%M')})")
    failed = False
    for fmt in args.formats:
        path = FILES[fmt]
        if not path.exists():
            print(f"\n[{fmt}] skipped: {path} not found (see README, Data credits)")
            continue
        runs = 1 if args.verify_only else args.runs
        r = bench_file(path, runs, with_notebook=not (args.no_notebook or args.verify_only), verify=True,
                       baseline=args.baseline)
        print(f"\n[{fmt}] {path.name}: whole processes, {runs} paired round(s)")
        print(f"  ours   : {r['agreement'][0]}\n  duckdb : {r['agreement'][1]}")
        if r["problems"]:
            failed = True
            print("  OUTPUTS DISAGREE:")
            for problem in r["problems"][:20]:
                print(f"    {problem}")
        else:
            print("  outputs agree: every CSV cell (1e-9 relative) and summary.json")
        if args.verify_only:
            continue
        res = r["results"]
        print(f"  {'':10}{'wall s':>9}{'cpu s':>9}{'peak RSS':>10}   (medians)")
        for name, rows in res.items():
            print(f"  {name:<10}{median(x['wall'] for x in rows):>9.2f}{median(x['cpu'] for x in rows):>9.2f}"
                  f"{median(x['rss_mb'] for x in rows):>8.0f}MB")
        ref = r["reference"]
        kmeans = median(t.get("kmeans", 0.0) for t in ref)
        print(f"  duckdb reference inside: SQL part (start to products) {median(t['sql_total'] for t in ref):.2f} s,"
              f" k-means with its pandas/scikit-learn imports {kmeans:.2f} s")
        ratio = [o["wall"] / d["wall"] for o, d in zip(res["ours"], res["duckdb"])]
        cpu_ratio = [o["cpu"] / d["cpu"] for o, d in zip(res["ours"], res["duckdb"])]
        print(f"  ours / duckdb: {median(ratio):.2f}x wall, {median(cpu_ratio):.2f}x cpu "
              f"(median of paired ratios; goal <= {GOAL_VS_DUCKDB}x)")
        if "baseline" in res:
            gain = [b["wall"] / o["wall"] for o, b in zip(res["ours"], res["baseline"])]
            print(f"  baseline / ours: {median(gain):.2f}x (the --baseline checkout, same rounds)")
        if "notebook" in res:
            speed = [n["wall"] / o["wall"] for o, n in zip(res["ours"], res["notebook"])]
            print(f"  notebook / ours: {median(speed):.1f}x (goal >= {GOAL_VS_NOTEBOOK}x)")

    if not args.verify_only:
        helps = [run_process([sys.executable, "-m", "analytics", "--help"]) for _ in range(max(3, args.runs))]
        if args.baseline is not None:
            before = [run_process([sys.executable, "-m", "analytics", "--help"], args.baseline)
                      for _ in range(max(3, args.runs))]
            print(f"\n[--help] baseline: median {median(h['wall'] for h in before):.2f} s wall")
        print(f"\n[--help] python -m analytics --help: median {median(h['wall'] for h in helps):.2f} s wall "
              f"(goal < {GOAL_HELP} s); bare interpreter: "
              f"{median(run_process([sys.executable, '-c', 'pass'])['wall'] for _ in range(3)):.2f} s")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
