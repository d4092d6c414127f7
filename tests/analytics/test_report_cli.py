"""``python -m analytics report|synth``: files and values on a toy and a synthetic log,
one-line errors with exit code 2, and the describe() / write_report() API."""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from descriptive_toys import REPO, RFM_EXPECTED, RFM_ROWS, make_log, toy_csv

import analytics as A
from analytics import clean_transactions, load_transactions
from analytics.__main__ import main
from analytics.report import MODEL_FILES, REPORT_FILES, ModelOutput, describe, write_report
from analytics.rfm import SEGMENT_ORDER, rfm_table


def run_cli(*args, cwd=None):
    """``python -m analytics ARGS`` as a process (exit code, stdout, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("ANALYTICS_TRACEBACK", None)
    return subprocess.run(
        [sys.executable, "-m", "analytics", *map(str, args)],
        cwd=cwd or REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture
def cli(monkeypatch):
    """The same command line run in this process (``analytics.__main__.main``): what a process
    adds (exit code of the interpreter, PYTHONPATH) is tested with :func:`run_cli`; spawning
    a Python that imports pandas for every call is not needed for the rest."""
    monkeypatch.delenv("ANALYTICS_TRACEBACK", raising=False)

    def run(*args):
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse: usage errors
                code = exc.code
        return subprocess.CompletedProcess(["python", "-m", "analytics", *args], code, stdout.getvalue(),
                                           stderr.getvalue())
    return run


@pytest.fixture
def toy_file(tmp_path):
    path = tmp_path / "toy.csv"
    path.write_bytes(toy_csv(RFM_ROWS))
    return path


def test_report_on_the_toy(toy_file, tmp_path):
    out = tmp_path / "report"
    result = run_cli("report", toy_file, "--out", out, "--skip-models")
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(REPORT_FILES)

    customers = pd.read_csv(out / "customers.csv", dtype={"customer_id": str}).set_index("customer_id")
    assert list(customers.index) == ["A", "B", "C"]
    for column in ("recency", "frequency", "monetary", "tenure", "country"):
        assert customers[column].tolist() == RFM_EXPECTED[column].tolist(), column
    assert customers["segment"].tolist() == ["Loyal Customers", "New Customers", "At Risk"]
    assert customers["rfm_score"].astype(str).tolist() == ["341", "513", "145"]
    assert customers["cluster"].isna().all()  # 3 customers: too few to cluster

    segments = pd.read_csv(out / "segments.csv", index_col="segment")
    assert list(segments.index) == list(SEGMENT_ORDER) and segments["customers"].sum() == 3
    countries = pd.read_csv(out / "countries.csv", index_col="country")
    assert countries.loc["France", "revenue"] == pytest.approx(25.0)
    monthly = pd.read_csv(out / "monthly.csv")
    assert monthly["revenue"].tolist() == pytest.approx([38.0, 31.0])
    assert pd.read_csv(out / "products.csv", index_col="stock_code")["revenue"].to_dict() == {"P2": 39.0, "P1": 30.0}
    migration = pd.read_csv(out / "migration.csv")
    assert migration["customers"].sum() == 3
    assert pd.read_csv(out / "cohort_retention.csv")["cohort_size"].max() == 2

    summary = json.loads((out / "summary.json").read_text())
    assert summary["snapshot_date"] == "2011-03-01" and summary["customers"] == 3
    assert summary["cleaning"]["rows_in"] == 9 and summary["cleaning"]["customers"] == 3
    assert sum(summary["segment_counts"].values()) == 3
    assert summary["clusters"] is None and any("clustering skipped" in n for n in summary["notes"])
    assert summary["kpis"]["revenue"]["value"] == pytest.approx(69.0)
    assert summary["concentration"]["customers"] == 3


def test_snapshot_date_option(toy_file, tmp_path, cli):
    out = tmp_path / "early"
    result = cli("report", toy_file, "--out", out, "--snapshot-date", "2011-02-01", "--quiet")
    assert result.returncode == 0, result.stderr
    customers = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    assert customers["customer_id"].tolist() == ["A", "C"]
    assert json.loads((out / "summary.json").read_text())["snapshot_date"] == "2011-02-01"


def test_bad_inputs_exit_2_with_one_line(tmp_path, cli):
    bad = tmp_path / "bad.csv"
    frame = pd.DataFrame(RFM_ROWS, columns=["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                                            "UnitPrice", "CustomerID", "Country"])
    frame.drop(columns="Quantity").to_csv(bad, index=False)
    result = run_cli("report", bad, "--out", tmp_path / "out")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Quantity" in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()

    missing = cli("report", tmp_path / "nope.csv", "--out", tmp_path / "out")
    assert missing.returncode == 2 and missing.stderr.startswith("error: ") and "nope.csv" in missing.stderr

    date = cli("report", bad, "--out", tmp_path / "out", "--snapshot-date", "31/31/2011")
    assert date.returncode == 2 and len(date.stderr.strip().splitlines()) == 1
    assert "not a date" in date.stderr


def test_synth_then_report_with_clusters(tmp_path, cli):
    log = tmp_path / "synth.csv"
    made = cli("synth", "--customers", "80", "--months", "6", "--seed", "3", log)
    assert made.returncode == 0, made.stderr
    assert log.exists() and "rows" in made.stdout
    out = tmp_path / "report"
    result = cli("report", log, "--out", out, "--skip-models", "--progress")
    assert result.returncode == 0, result.stderr
    assert "report" in result.stderr  # the tqdm bar went to stderr

    cleaned = clean_transactions(load_transactions(log))
    rfm = rfm_table(cleaned.lines)
    customers = pd.read_csv(out / "customers.csv", dtype={"customer_id": str}).set_index("customer_id")
    assert list(customers.index) == list(rfm.index)
    assert customers["frequency"].tolist() == rfm["frequency"].tolist()
    assert customers["monetary"].to_numpy() == pytest.approx(rfm["monetary"].to_numpy())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["clusters"]["k"] >= 2 and -1 <= summary["clusters"]["silhouette"] <= 1
    assert customers["cluster"].notna().all() and customers["cluster"].max() == summary["clusters"]["k"] - 1
    assert customers["cluster_label"].nunique() == summary["clusters"]["k"]


def test_report_with_models_writes_clv_churn_and_models_json(tmp_path, cli):
    log = tmp_path / "synth.parquet"
    assert cli("synth", "--customers", "400", "--months", "18", "--seed", "5", log).returncode == 0
    out = tmp_path / "report"
    result = cli("report", log, "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted({*REPORT_FILES, *MODEL_FILES})

    customers = pd.read_csv(out / "customers.csv", dtype={"customer_id": str}).set_index("customer_id")
    clv = pd.read_csv(out / "clv.csv", dtype={"customer_id": str}).set_index("customer_id")
    churn = pd.read_csv(out / "churn.csv", dtype={"customer_id": str}).set_index("customer_id")
    models = json.loads((out / "models.json").read_text())
    assert models["errors"] == {}
    # the columns joined to customers.csv are the model tables' own values
    joined = customers.loc[clv.index]
    assert joined["net_clv_12m"].to_numpy() == pytest.approx(clv["net_clv_12m"].to_numpy())
    assert joined["p_alive"].to_numpy() == pytest.approx(clv["p_alive"].to_numpy())
    assert customers.loc[churn.index, "risk_band"].tolist() == churn["risk_band"].tolist()
    expected_risk = churn["churn_probability"] * churn["net_clv_12m"]
    assert churn["net_revenue_at_risk"].to_numpy() == pytest.approx(expected_risk.to_numpy(), nan_ok=True)
    params = {"bgnbd": {"r", "alpha", "a", "b"}, "mbgnbd": {"r", "alpha", "a", "b"}, "pnbd": {"r", "alpha", "s", "beta"}}
    assert set(models["clv"]["purchase_params"]) == params[models["clv"]["purchase_model"]]
    assert models["clv"]["customers"] == len(clv)
    assert models["churn"]["chosen"] in models["churn"]["metrics"]
    assert models["clv_validation"]["metrics"][models["clv_validation"]["model"]]["mae"] > 0


def test_synth_bad_arguments(cli):
    result = cli("synth", "--customers", "0", "x.csv")
    assert result.returncode == 2 and result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_describe_and_model_outputs(tmp_path):
    cleaned = make_log(RFM_ROWS)
    report = describe(cleaned, lookback_days=30)
    assert report.snapshot_date == pd.Timestamp("2011-03-01") and report.clusters is None
    assert report.migration.lookback_days == 30
    customers = report.customers()
    assert list(customers.columns[-4:]) == ["segment", "previous_segment", "cluster", "cluster_label"]
    extra = ModelOutput(
        name="clv",
        customer_columns=pd.DataFrame({"clv": [1.0, 2.0]}, index=pd.Index(["A", "C"], name="customer_id")),
        payload={"clv": {"model": "toy", "customers": 2}},
        tables={"clv.csv": pd.DataFrame({"clv": [1.0]}, index=pd.Index(["A"], name="customer_id"))},
    )
    paths = write_report(report, tmp_path, [extra])
    written = pd.read_csv(paths["customers.csv"], dtype={"customer_id": str}).set_index("customer_id")
    assert written.loc["A", "clv"] == 1.0 and pd.isna(written.loc["B", "clv"])
    assert json.loads(paths["models.json"].read_text()) == {"clv": {"model": "toy", "customers": 2}}
    assert pd.read_csv(paths["clv.csv"], dtype={"customer_id": str}).to_dict("records") == [
        {"customer_id": "A", "clv": 1.0}]


def test_describe_on_guests_only():
    guests = [row[:6] + ("",) + row[7:] for row in RFM_ROWS if not row[0].startswith("C")]
    report = describe(make_log(guests))
    assert report.rfm.empty and report.concentration is None and report.clusters is None
    assert report.segments["customers"].sum() == 0
    assert report.summary()["customers"] == 0


TABLES = {
    "rfm": lambda lines: A.segmented_rfm(lines, "2011-03-01"),
    "migration": lambda lines: A.segment_migration(lines, "2011-03-01").counts,
    "cohorts": lambda lines: A.cohort_table(lines, "2011-03-01"),
    "countries": lambda lines: A.country_summary(lines, "2011-03-01"),
    "monthly": lambda lines: A.monthly_summary(lines),
    "weekday_hour": lambda lines: A.weekday_hour(lines),
    "kpis": lambda lines: A.kpi_change(lines, "2011-02-01", "2011-03-01"),
    "products": lambda lines: A.product_summary(lines),
    "distributions": lambda lines: A.rfm_distributions(A.rfm_table(lines, "2011-03-01")),
    "curve": lambda lines: A.average_retention_curve(A.cohort_table(lines, "2011-03-01")),
}


@pytest.mark.parametrize("rows", [0, 1, "return"], ids=["empty", "one line", "one return"])
@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_accepts_empty_and_tiny_inputs(name, rows):
    lines = make_log(RFM_ROWS).lines
    lines = {0: lines.iloc[:0], 1: lines.iloc[:1], "return": lines.iloc[2:3]}[rows]
    assert isinstance(TABLES[name](lines), pd.DataFrame)


def test_summaries_of_nothing_raise_insufficient_data():
    empty = make_log(RFM_ROWS).lines.iloc[:0]
    for call in (lambda: A.cluster_customers(A.rfm_table(empty)),
                 lambda: A.revenue_concentration(A.rfm_table(empty)["monetary"]),
                 lambda: A.pareto_curve(A.product_summary(empty))):
        with pytest.raises(A.InsufficientDataError):
            call()
