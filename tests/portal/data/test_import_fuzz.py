"""Property-based fuzzing of the import path (issue 6, bad input): malformed files get a clear
error or a correct import, never an exception, and never a partial dataset in use.

After every attempt the tenant's current dataset is either the previous one with
its stored payload byte-for-byte unchanged, or a new version equal to what the
loader reads from the same bytes.
"""
from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from portal_testlib import build_app, make_settings

from analytics import LoadError, load_transactions
from portal.platform.db import session_scope
from portal.data.imports import import_dataset
from portal.platform.models import Dataset, Tenant
from portal.data.storage import read_payload
from tests.fuzz_files import malformed_files


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory, alpha_csv, beta_csv):
    return build_app(make_settings(tmp_path_factory.mktemp("fuzz")), logs={"alpha": alpha_csv, "beta": beta_csv})


def current_state(slug: str) -> tuple[int, str]:
    with session_scope() as session:
        tenant = session.query(Tenant).filter_by(slug=slug).one()
        digest = hashlib.sha256(read_payload(session, tenant.current_dataset_id)).hexdigest()
        return tenant.current_dataset_id, digest


def check_import(data: bytes, kind: str) -> bool:
    """Import ``data`` for alpha and check the invariants; True when it was accepted."""
    before = current_state("alpha")
    beta_before = current_state("beta")
    outcome = import_dataset("alpha", data, filename=f"fuzz-{kind}.csv")  # must not raise
    after = current_state("alpha")
    assert current_state("beta") == beta_before, "another tenant's data never changes"
    if not outcome.ok:
        assert outcome.error and outcome.error.strip(), "a refusal says what is wrong"
        assert "internal error" not in outcome.error, outcome.error
        assert after == before, "a failed import leaves the previous version current and intact"
        with session_scope() as session:
            failed = session.query(Dataset).filter_by(version=outcome.version, tenant_id=1).one()
            assert failed.status == "failed" and failed.error == outcome.error
        return False
    assert after[0] == outcome.dataset_id != before[0]
    stored = pd.read_parquet(__import__("io").BytesIO(_payload(outcome.dataset_id)))
    expected = load_transactions(data)
    assert len(stored) == len(expected) == outcome.rows_in
    assert stored["quantity"].tolist() == expected["quantity"].tolist()
    return True


def _payload(dataset_id: int) -> bytes:
    with session_scope() as session:
        return read_payload(session, dataset_id)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(case=malformed_files())
def test_malformed_files_never_break_the_current_dataset(fuzz_app, case):
    data, kind = case
    with fuzz_app.app_context():
        check_import(data, kind)


def test_each_named_kind_once(fuzz_app):
    """The kinds the issue names, deterministically (the fuzz above draws them at random)."""
    from tests.fuzz_files import OR_COLUMNS, VALID_ROW, _csv

    header, row = list(OR_COLUMNS), list(VALID_ROW)
    cases = {
        "empty": (b"", False), "header only": (_csv([header]), False),
        "random bytes": (bytes(range(256)) * 10, False),
        "10000 columns": (_csv([header + [f"x{i}" for i in range(10_000)], row + ["1"] * 10_000]), True),
        "long cell": (_csv([header, row[:2] + ["z" * 100_000] + row[3:]]), False),
        "latin-1": (_csv([header, row[:2] + ["CAFÉ £"] + row[3:]], encoding="latin-1"), True),
        "duplicated column": (_csv([header + ["Quantity"], row + ["7"]]), False),
        "huge number": (_csv([header, row[:3] + ["1e400"] + row[4:]]), False),
        "negative price": (_csv([header, row[:5] + ["-2.55"] + row[6:]]), False),  # cleans to nothing
        "guests only": (_csv([header, row[:6] + [""] + row[7:]]), False),  # nothing for customer analytics
        "formula strings": (_csv([header, row[:2] + ["=1+1"] + row[3:7] + ["@SUM(A1)"]]), True),
    }
    with fuzz_app.app_context():
        results = {kind: check_import(data, kind) for kind, (data, _) in cases.items()}
    assert results == {kind: accepted for kind, (_, accepted) in cases.items()}


def test_loader_and_import_agree_on_refusals(fuzz_app):
    bad = ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
           "1,2,x,one,2011-01-01 10:00,1.0,5,UK\n").encode()
    with pytest.raises(LoadError) as error:
        load_transactions(bad, filename="bad.csv")
    with fuzz_app.app_context():
        outcome = import_dataset("alpha", bad, filename="bad.csv")
    assert outcome.error == str(error.value)
