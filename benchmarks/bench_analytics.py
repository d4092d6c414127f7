"""Benchmarks of the descriptive pipeline: a script that prints figures, not a test.

    python benchmarks/bench_analytics.py                # everything (a few minutes)
    python benchmarks/bench_analytics.py --quick        # 2 runs, scaling up to 1M rows
    python benchmarks/bench_analytics.py --section real # one section

Sections (each measured in its own child process, so peak RSS is its own):

* ``real``: load + clean + RFM/segments + migration + cohorts + geography +
  trends (+ products, reported apart) on ``online_retail_ii.parquet``; median
  of ``--runs`` runs per step; peak RSS (``resource.getrusage``).
* ``kmeans``: :func:`analytics.cluster_customers` (full k selection, k = 2..10)
  on 100k synthetic customers.
* ``scaling``: the same pipeline on synthetic logs of about 100k, 1M and 5M
  rows (``analytics.synthetic``), seconds and seconds per million rows.
* ``notebook``: the same steps written the way RFM tutorials do (lambda
  groupbys, row-wise ``apply``) on the same cleaned lines, and the speed ratio.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import analytics as A
from analytics.rfm import SEGMENT_MAP

DATA = REPO.parent / "shared" / "data" / "online_retail_ii.parquet"
LOOKBACK = 90


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def descriptive_steps(cleaned: A.CleanedLog) -> dict[str, float]:
    """Seconds per descriptive step (the portal's describe() minus clustering)."""
    lines, snapshot = cleaned.lines, cleaned.snapshot_date
    times = {}

    def step(name, fn):
        start = time.perf_counter()
        fn()
        times[name] = time.perf_counter() - start

    def rfm_and_segments():
        scored = A.segmented_rfm(lines, snapshot)
        A.segment_summary(scored)
        A.rfm_segment_grid(scored)
        A.revenue_concentration(scored["monetary"])
        A.lorenz_curve(scored["monetary"])

    def trends():
        A.monthly_summary(lines, snapshot)
        A.weekday_hour(lines, snapshot)
        A.kpi_change(lines, snapshot - pd.Timedelta(days=LOOKBACK), snapshot)

    def cohorts():
        table = A.cohort_table(lines, snapshot)
        A.retention_matrix(table)
        A.average_retention_curve(table)

    step("rfm+segments", rfm_and_segments)
    step("migration", lambda: A.segment_migration(lines, snapshot, LOOKBACK))
    step("cohorts", cohorts)
    step("geography", lambda: A.country_summary(lines, snapshot, LOOKBACK))
    step("trends", trends)
    step("products", lambda: A.pareto_curve(A.product_summary(lines, snapshot)))
    return times


def pipeline(path: Path) -> dict[str, float]:
    times = {}
    start = time.perf_counter()
    raw = A.load_transactions(path)
    times["load"] = time.perf_counter() - start
    start = time.perf_counter()
    cleaned = A.clean_transactions(raw)
    times["clean"] = time.perf_counter() - start
    times.update(descriptive_steps(cleaned))
    times["_rows"] = len(raw)
    return times


CORE = ("load", "clean", "rfm+segments", "migration", "cohorts", "geography", "trends")


# ---------------------------------------------------------------------------------
# sections (run in child processes)


def section_real(runs: int) -> dict:
    results = [pipeline(DATA) for _ in range(runs)]
    steps = [k for k in results[0] if not k.startswith("_")]
    median = {k: statistics.median(r[k] for r in results) for k in steps}
    totals = [sum(r[k] for k in CORE) for r in results]
    totals_all = [sum(r[k] for k in steps) for r in results]
    return {
        "rows": results[0]["_rows"], "runs": runs, "median": median,
        "total_core": statistics.median(totals), "total_with_products": statistics.median(totals_all),
        "peak_rss_mb": peak_rss_mb(),
    }


def section_kmeans(customers: int, runs: int) -> dict:
    from analytics.synthetic import generate_transactions

    raw = generate_transactions(n_customers=customers, n_months=3, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "k.parquet"
        raw.to_parquet(path)
        cleaned = A.clean_transactions(A.load_transactions(path))
    rfm = A.rfm_table(cleaned.lines)
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = A.cluster_customers(rfm, k_range=range(2, 11), seed=0)
        times.append(time.perf_counter() - start)
    return {
        "customers": len(rfm), "times": times, "median": statistics.median(times), "k": result.k,
        "silhouette": result.silhouette, "labels": result.profiles["label"].tolist(),
        "peak_rss_mb": peak_rss_mb(),
    }


def section_scale(rows: int, runs: int) -> dict:
    from analytics.synthetic import generate_transactions

    customers = max(100, int(rows / 104))  # about 104 rows per customer over 24 months
    raw = generate_transactions(n_customers=customers, n_months=24, seed=2)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.parquet"
        raw.to_parquet(path)
        del raw
        results = [pipeline(path) for _ in range(runs)]
    steps = [k for k in results[0] if not k.startswith("_")]
    return {
        "rows": results[0]["_rows"], "customers": customers,
        "median": {k: statistics.median(r[k] for r in results) for k in steps},
        "total": statistics.median(sum(r[k] for k in steps) for r in results),
        "peak_rss_mb": peak_rss_mb(),
    }


# ---------------------------------------------------------------------------------
# the notebook way


def notebook_way(cleaned: A.CleanedLog) -> dict[str, float]:
    """The same tables as RFM / cohort tutorials compute them: object columns,
    lambda aggregations, row-wise apply."""
    snapshot = cleaned.snapshot_date
    df = cleaned.lines.rename(columns={
        "invoice": "InvoiceNo", "stock_code": "StockCode", "description": "Description",
        "quantity": "Quantity", "invoice_date": "InvoiceDate", "unit_price": "UnitPrice",
        "customer_id": "CustomerID", "country": "Country",
    })
    for column in ("InvoiceNo", "StockCode", "Description", "CustomerID", "Country"):
        df[column] = df[column].astype(object)  # what read_csv gives a notebook
    df["TotalPrice"] = df["Quantity"] * df["UnitPrice"]
    times = {}

    def rfm_at(frame, when):
        frame = frame[frame["InvoiceDate"] < when]
        known = frame.dropna(subset=["CustomerID"])
        sales = known[~known["InvoiceNo"].str.startswith("C")]
        rfm = sales.groupby("CustomerID").agg({
            "InvoiceDate": lambda x: (when - x.max()).days,
            "InvoiceNo": lambda x: x.nunique(),
        })
        rfm.columns = ["Recency", "Frequency"]
        rfm["Monetary"] = known.groupby("CustomerID")["TotalPrice"].agg(lambda x: x.sum())
        rfm["R"] = pd.qcut(rfm["Recency"].rank(method="first"), 5, labels=[5, 4, 3, 2, 1]).astype(int)
        rfm["F"] = pd.qcut(rfm["Frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)
        rfm["M"] = pd.qcut(rfm["Monetary"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)
        rfm["RFM_Score"] = rfm.apply(lambda row: f"{row['R']}{row['F']}{row['M']}", axis=1)

        def segment(row):
            key = f"{row['R']}{row['F']}"
            for pattern, name in SEGMENT_MAP.itertuples(index=False):
                if re.fullmatch(pattern, key):
                    return name
            return None

        rfm["Segment"] = rfm.apply(segment, axis=1)
        return rfm

    start = time.perf_counter()
    rfm = rfm_at(df, snapshot)
    rfm.groupby("Segment").agg({"Recency": "mean", "Frequency": "mean", "Monetary": ["mean", "count", "sum"]})
    times["rfm+segments"] = time.perf_counter() - start

    start = time.perf_counter()
    before = rfm_at(df, snapshot - pd.Timedelta(days=LOOKBACK))
    now = rfm_at(df, snapshot)
    merged = now[["Segment"]].join(before[["Segment"]], rsuffix="_before")
    merged["Segment_before"] = merged["Segment_before"].fillna("Not yet a customer")
    pd.crosstab(merged["Segment_before"], merged["Segment"])
    times["migration"] = time.perf_counter() - start

    start = time.perf_counter()
    known = df.dropna(subset=["CustomerID"])
    sales = known[~known["InvoiceNo"].str.startswith("C")].copy()
    sales["InvoiceMonth"] = sales["InvoiceDate"].apply(lambda x: dt.datetime(x.year, x.month, 1))
    sales["CohortMonth"] = sales.groupby("CustomerID")["InvoiceMonth"].transform("min")
    years = sales["InvoiceMonth"].dt.year - sales["CohortMonth"].dt.year
    months = sales["InvoiceMonth"].dt.month - sales["CohortMonth"].dt.month
    sales["CohortIndex"] = years * 12 + months + 1
    counts = sales.groupby(["CohortMonth", "CohortIndex"])["CustomerID"].apply(pd.Series.nunique).unstack()
    counts.divide(counts.iloc[:, 0], axis=0)
    times["cohorts"] = time.perf_counter() - start

    start = time.perf_counter()
    countries = df.groupby("Country").agg({
        "TotalPrice": lambda x: x.sum(), "InvoiceNo": lambda x: x[~x.str.startswith("C")].nunique(),
        "CustomerID": lambda x: x.nunique(),
    })
    countries["Share"] = countries["TotalPrice"] / countries["TotalPrice"].sum()
    times["geography"] = time.perf_counter() - start

    start = time.perf_counter()
    df["Month"] = df["InvoiceDate"].apply(lambda x: x.strftime("%Y-%m"))
    monthly = df.groupby("Month").agg({
        "TotalPrice": lambda x: x.sum(), "InvoiceNo": lambda x: x[~x.str.startswith("C")].nunique(),
        "CustomerID": lambda x: x.nunique(),
    })
    first = df.dropna(subset=["CustomerID"]).groupby("CustomerID")["Month"].min()
    monthly["New"] = first.value_counts()
    df["Weekday"] = df["InvoiceDate"].apply(lambda x: x.day_name())
    df["Hour"] = df["InvoiceDate"].apply(lambda x: x.hour)
    df.pivot_table(index="Weekday", columns="Hour", values="TotalPrice", aggfunc="sum")
    times["trends"] = time.perf_counter() - start

    start = time.perf_counter()
    products = df.groupby("StockCode").agg({
        "Description": lambda x: x.mode().iloc[0] if x.notna().any() else None,
        "TotalPrice": lambda x: x.sum(), "Quantity": lambda x: x[x > 0].sum(),
        "CustomerID": lambda x: x.nunique(), "InvoiceNo": lambda x: x.nunique(),
    })
    products.sort_values("TotalPrice", ascending=False)["TotalPrice"].cumsum()
    times["products"] = time.perf_counter() - start
    return times


def section_notebook() -> dict:
    cleaned = A.clean_transactions(A.load_transactions(DATA))
    ours = [descriptive_steps(cleaned) for _ in range(3)]
    ours_median = {k: statistics.median(r[k] for r in ours) for k in ours[0]}
    theirs = notebook_way(cleaned)
    return {"ours": ours_median, "notebook": theirs}


# ---------------------------------------------------------------------------------
# orchestration and printing


def child(section: str, *args: object) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", section, *map(str, args)],
        capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"section {section} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt(seconds: float) -> str:
    return f"{seconds:7.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 runs; scaling up to 1M rows")
    parser.add_argument("--section", choices=["real", "kmeans", "scaling", "notebook"], action="append")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, *rest = args.child
        handler = {"real": lambda: section_real(int(rest[0])),
                   "kmeans": lambda: section_kmeans(int(rest[0]), int(rest[1])),
                   "scale": lambda: section_scale(int(rest[0]), int(rest[1])),
                   "notebook": section_notebook}[name]
        print(json.dumps(handler()))
        return
    runs = 2 if args.quick else args.runs
    sections = args.section or ["real", "kmeans", "scaling", "notebook"]
    print(f"python {sys.version.split()[0]}, pandas {pd.__version__}, numpy {np.__version__}")

    if "real" in sections:
        if not DATA.exists():
            print(f"[real] skipped: {DATA} not found")
        else:
            r = child("real", runs)
            print(f"\n[real] {DATA.name}: {r['rows']:,} rows, median of {r['runs']} runs")
            for name, seconds in r["median"].items():
                print(f"  {name:<14}{fmt(seconds)}")
            print(f"  {'TOTAL':<14}{fmt(r['total_core'])}   (load..trends; target < 3 s)")
            print(f"  {'+ products':<14}{fmt(r['total_with_products'])}")
            print(f"  peak RSS      {r['peak_rss_mb']:7.0f} MB (target < 1536 MB)")

    if "kmeans" in sections:
        r = child("kmeans", 100_000, 1 if args.quick else 3)
        print(f"\n[kmeans] {r['customers']:,} synthetic customers, k = 2..10, sample 10,000")
        print(f"  median {fmt(r['median'])}  (runs: {', '.join(f'{t:.2f}' for t in r['times'])}; target < 5 s)")
        print(f"  chosen k = {r['k']}, silhouette {r['silhouette']:.3f}; labels: {'; '.join(r['labels'])}")
        print(f"  peak RSS {r['peak_rss_mb']:.0f} MB (includes generating the log)")

    if "scaling" in sections:
        sizes = (100_000, 1_000_000) if args.quick else (100_000, 1_000_000, 5_000_000)
        print("\n[scaling] synthetic logs, whole pipeline load..products (median of 3 runs)")
        print(f"  {'rows':>10} {'seconds':>9} {'s / M rows':>11} {'peak RSS':>9}   load / clean / descriptive")
        for size in sizes:
            r = child("scale", size, 1 if args.quick else 3)
            m = r["median"]
            descriptive = r["total"] - m["load"] - m["clean"]
            print(f"  {r['rows']:>10,} {r['total']:>9.3f} {r['total'] / r['rows'] * 1e6:>11.3f} "
                  f"{r['peak_rss_mb']:>7.0f}MB   {m['load']:.2f} / {m['clean']:.2f} / {descriptive:.2f}")

    if "notebook" in sections and DATA.exists():
        r = child("notebook")
        print(f"\n[notebook] same steps on the cleaned {DATA.name} (ours: median of 3; notebook: 1 run)")
        print(f"  {'step':<14}{'ours':>10}{'notebook':>11}{'ratio':>8}")
        for name in r["ours"]:
            a, b = r["ours"][name], r["notebook"][name]
            print(f"  {name:<14}{a:>9.3f}s{b:>10.2f}s{b / a:>7.0f}x")
        total_a, total_b = sum(r["ours"].values()), sum(r["notebook"].values())
        print(f"  {'TOTAL':<14}{total_a:>9.3f}s{total_b:>10.2f}s{total_b / total_a:>7.0f}x")


if __name__ == "__main__":
    main()
