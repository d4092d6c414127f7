"""Import to ready (issue 14, item 2): a ~1M-line upload through the portal's own job code.

    python benchmarks/bench_import_ready.py [--file ../shared/data/online_retail_ii.parquet]
                                            [--formats parquet,csv] [--xlsx-rows 0]

For each format, in a fresh process (embedded mode: SQLite + the disk cache in a temporary
folder), it runs what the Data page's upload job runs: ``import_dataset(..., activate=False)``
for a tenant's FIRST version (current as soon as its descriptive results are stored), then
``fit_dataset_models``.  Every progress message is a step (:class:`portal.data.job_steps.StepClock`,
the same clock the Data page shows); it prints each step's wall time (and CPU time for the
model steps, scikit-learn's worker processes included), the time to the
descriptive pages being ready (goal < 10 s) and to the models (goal < 60 s), the process's CPU
time (user+sys) beside the wall time (the 2 cores are shared with other work), and the peak RSS.
The purchase-model candidates are fitted inside one step ("Choosing and fitting the CLV
models"); each candidate's fit on the whole customer summary is timed apart afterwards.
XLSX is reported apart (``--xlsx-rows N`` writes the first N lines as a workbook).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_FILE = ROOT.parent / "shared" / "data" / "online_retail_ii.parquet"


def cpu_s() -> float:
    """CPU seconds (user+sys) of this process and its live children (scikit-learn's worker processes)."""
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:4])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass
    return total


def run_one(path: Path) -> dict:
    """Import + fit ``path`` as a first upload; the figures as a dict (printed as JSON)."""
    from portal import create_app
    from portal.data.imports import import_dataset
    from portal.data.job_steps import StepClock, import_steps
    from portal.data.jobs import fit_dataset_models
    from portal.platform import accounts, db
    from portal.platform.config import Settings
    from portal.platform.tenancy import system_context

    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    settings = Settings(env="test", secret_key="bench", data_dir=folder, database_url=f"sqlite:///{folder}/p.db",
                        cache_prefix=f"bench-{uuid.uuid4().hex[:8]}", log_level="WARNING", lru_max_mb=2048,
                        auto_setup=False, seed_demo=False, max_upload_mb=2048, max_decompressed_mb=4096,
                        max_import_rows=20_000_000)
    db.upgrade(settings)
    app = create_app(settings)
    figures: dict = {"file": path.name, "bytes": path.stat().st_size}
    with app.app_context():
        accounts.create_tenant("shop", "Shop")
        started, cpu0 = time.perf_counter(), cpu_s()
        outcome = import_dataset("shop", path, activate=False)
        if not outcome.ok:
            raise SystemExit(f"import failed: {outcome.error}")
        figures["ready_s"], figures["ready_cpu_s"] = time.perf_counter() - started, cpu_s() - cpu0
        figures["current"] = system_context("shop").dataset_id == outcome.dataset_id
        figures["rows"] = outcome.rows_in
        figures["import_steps"] = import_steps(outcome.timings)
        steps, cpu_steps = StepClock(), StepClock(cpu_s)  # wall and CPU time of each step

        def progress(_fraction: float, message: str) -> None:
            steps.step(message)
            cpu_steps.step(message)

        status = fit_dataset_models(outcome.dataset_id, progress=progress)
        figures["fit_steps"] = [(name, wall, cpu) for (name, wall), (_, cpu) in zip(steps.finish(), cpu_steps.finish())]
        figures["models_s"], figures["models_cpu_s"] = time.perf_counter() - started, cpu_s() - cpu0
        figures["status"] = status
        figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        figures["candidates"] = candidate_times(outcome.dataset_id)
    return figures


def candidate_times(dataset_id: int) -> list[tuple[str, float]]:
    """Each purchase-model candidate fitted alone on the whole customer summary (seconds)."""
    from analytics.btyd import customer_summary
    from analytics.purchase_models import CANDIDATES, LABELS, fit_purchase_model
    from portal.data import results
    from portal.platform.tenancy import system_context

    cleaned = results.get_result(system_context("shop"), "cleaned")
    summary = customer_summary(cleaned.lines, cleaned.snapshot_date)
    times = []
    for name in CANDIDATES:
        started = time.perf_counter()
        try:
            fit_purchase_model(summary, name)
        except Exception as exc:  # noqa: BLE001 - reported, the others still run
            print(f"   candidate {name} failed: {exc}", file=sys.stderr)
        times.append((LABELS.get(name, name), time.perf_counter() - started))
    return times


def prepare(source: Path, formats: list[str], xlsx_rows: int, folder: Path) -> dict[str, Path]:
    import pandas as pd

    files: dict[str, Path] = {}
    frame = None
    for fmt in formats:
        if fmt == source.suffix.lstrip("."):
            files[fmt] = source
            continue
        frame = pd.read_parquet(source) if frame is None else frame
        target = folder / f"{source.stem}.{fmt}"
        if fmt == "csv":
            frame.to_csv(target, index=False)
        elif fmt == "parquet":
            frame.to_parquet(target, index=False)
        files[fmt] = target
    if xlsx_rows:
        frame = pd.read_parquet(source) if frame is None else frame
        target = folder / f"{source.stem}-{xlsx_rows}.xlsx"
        frame.head(xlsx_rows).to_excel(target, index=False)
        files["xlsx"] = target
    return files


def show(fmt: str, f: dict) -> None:
    def line(name: str, value: float, cpu: float | None = None) -> str:
        return f"      {name:<48} {value:7.2f} s" + (f"   CPU {cpu:6.2f} s" if cpu is not None else "")

    print(f"\n{fmt.upper()}: {f['file']} ({f['bytes'] / 2**20:.0f} MB, {f['rows']:,} lines), models {f['status']}")
    print("   import job (the Data page's steps):")
    for name, value in f["import_steps"]:
        print(line(name, value))
    print(f"   descriptive pages ready (current: {f['current']}): {f['ready_s']:.1f} s wall, "
          f"{f['ready_cpu_s']:.1f} s CPU   goal < 10 s: {'PASS' if f['ready_s'] < 10 else 'FAIL'}")
    print("   model fit:")
    for name, value, cpu in f["fit_steps"]:
        print(line(name, value, cpu))
    print(f"   models ready: {f['models_s']:.1f} s wall, {f['models_cpu_s']:.1f} s CPU since the upload   "
          f"goal < 60 s: {'PASS' if f['models_s'] < 60 else 'FAIL'}")
    print("   each purchase-model candidate alone (inside 'Choosing and fitting the CLV models'):")
    for name, value in f["candidates"]:
        print(line(name, value))
    print(f"   peak RSS of the job process: {f['peak_rss_mb']:.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--formats", default="parquet,csv")
    parser.add_argument("--xlsx-rows", type=int, default=0, help="also an XLSX of the first N lines (slow to write)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print("FIGURES " + json.dumps(run_one(args.one)))
        return 0
    if not args.file.exists():
        raise SystemExit(f"{args.file} not found: put the Online Retail II Parquet in ../shared/data "
                         "or pass --file (benchmarks/bench_synthetic.py makes a synthetic log)")
    load = os.getloadavg()
    print(f"import-to-ready benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
          f"load average {load[0]:.1f} at the start (the machine is shared: compare CPU with wall)")
    with tempfile.TemporaryDirectory() as tmp:
        files = prepare(args.file, [f for f in args.formats.split(",") if f], args.xlsx_rows, Path(tmp))
        for fmt, path in files.items():
            done = subprocess.run([sys.executable, __file__, "--one", str(path)], cwd=ROOT, capture_output=True,
                                  text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
            lines = [x for x in done.stdout.splitlines() if x.startswith("FIGURES ")]
            if done.returncode != 0 or not lines:
                print(f"\n{fmt}: failed\n{done.stderr[-2000:]}")
                continue
            show(fmt, json.loads(lines[-1][len("FIGURES "):]))
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
