"""``flask --app wsgi import SLUG FILE --mapping FILE.json --append`` and
``python -m analytics report --mapping``."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from portal_testlib import build_app, make_settings, run_cli

from analytics.__main__ import main as analytics_main
from portal.data import storage
from portal.platform.tenancy import system_context

HEADER = ["Beleg", "Kunde", "Zeit", "Netto"]
MAPPING = {"layout": "custom", "fields": {"order_id": "Beleg", "customer_id": "Kunde", "order_date": "Zeit",
                                          "line_amount": "Netto"}}


@pytest.fixture
def files(tmp_path):
    january = tmp_path / "jan.csv"
    pd.DataFrame([["A1", "k1", "2024-01-05 09:00", "10"], ["A2", "k2", "2024-01-06 09:00", "5"]],
                 columns=HEADER).to_csv(january, index=False)
    february = tmp_path / "feb.csv"
    pd.DataFrame([["A2", "k2", "2024-01-06 09:00", "5"], ["B1", "k1", "2024-02-01 10:00", "7"]],
                 columns=HEADER).to_csv(february, index=False)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING))
    return january, february, mapping


def test_import_with_a_mapping_then_append_reuses_it(tmp_path, files):
    january, february, mapping = files
    app = build_app(make_settings(tmp_path))
    first = run_cli(app, "import", "alpha", str(january), "--mapping", str(mapping), "--no-models")
    assert first.exit_code == 0, first.output
    assert "Imported version 1" in first.output and "Layout: custom (mapping: given)" in first.output
    second = run_cli(app, "import", "alpha", str(february), "--append", "--no-models")  # saved mapping
    assert second.exit_code == 0, second.output
    assert "1 line was already loaded and was not added again" in second.output and "mapping: saved" in second.output
    with app.app_context():
        lines = storage.load_transactions(system_context("alpha"))
    assert sorted(lines["invoice"].astype(str)) == ["A1", "A2", "B1"]
    assert float((lines["quantity"] * lines["unit_price"]).sum()) == pytest.approx(22.0)


def test_import_refuses_a_bad_mapping_file_in_one_line(tmp_path, files):
    january, _, mapping = files
    mapping.write_text(json.dumps({"fields": {"order": "Beleg"}}))
    app = build_app(make_settings(tmp_path))
    result = run_cli(app, "import", "alpha", str(january), "--mapping", str(mapping), "--no-models")
    assert result.exit_code == 1 and "Unknown mapping field 'order'" in result.output
    assert "Traceback" not in result.output


def test_analytics_report_reads_through_a_mapping(tmp_path, files, capsys):
    january, _, mapping = files
    out = tmp_path / "report"
    code = analytics_main(["report", str(january), "--out", str(out), "--mapping", str(mapping), "--skip-models",
                           "--quiet"])
    assert code == 0, capsys.readouterr().err
    quality = json.loads((out / "quality.json").read_text())
    assert quality["rows_read"] == 2 and quality["rows_mapped"] == 2 and quality["layout"] == "custom"
    code = analytics_main(["report", str(january), "--out", str(out), "--quiet", "--skip-models"])
    assert code == 2 and "missing column" in capsys.readouterr().err  # without --mapping: the UCI loader
