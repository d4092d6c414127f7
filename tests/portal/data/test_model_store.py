"""portal.data.model_store + model_records: fitted models as versioned records.

* a fit stores one record whose columns carry the record format, the project version
  (read here from pyproject.toml), the installed versions of lifetimes, scikit-learn,
  numpy and pandas (read here with importlib.metadata) and the dataset version; read
  back, every model figure equals the fitted object's;
* an old-format record (today's pickle, in the legacy table or in the record column)
  is refused and the dataset refitted, and the pickle is never loaded (its payload
  would create a file when unpickled);
* a record written with other library versions, or for another dataset, is refused
  with a message naming what differs.
"""
from __future__ import annotations

import json
import pickle
import time
import tomllib
from importlib import metadata

import numpy as np
import pandas as pd
import pytest
from portal_testlib import ROOT, build_app, make_settings
from sqlalchemy import select

from portal.data import jobs, model_store, results
from portal.data.model_records import ResultsRecord
from portal.platform.db import session_scope
from portal.platform.models import Dataset, DatasetResult, ModelRecord
from portal.platform.tenancy import system_context


class Bomb:
    """Unpickling it creates the file ``path``: proof that a pickle was loaded."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture
def store_app(tmp_path, alpha_csv, beta_csv):
    settings = make_settings(tmp_path)
    app = build_app(settings, logs={"alpha": alpha_csv, "beta": beta_csv})
    with app.app_context():
        yield app, settings


@pytest.fixture(scope="module")
def fitted_app(tmp_path_factory, alpha_csv, beta_csv):
    """alpha's models fitted once for the tests that read its record (a test that changes
    the stored record puts it back)."""
    app = build_app(make_settings(tmp_path_factory.mktemp("store")), logs={"alpha": alpha_csv, "beta": beta_csv})
    with app.app_context():
        assert jobs.fit_dataset_models(system_context("alpha").dataset_id) == "ready"
        yield app


def _row(dataset_id: int) -> Dataset:
    with session_scope() as session:
        return session.get(Dataset, dataset_id)


def _record(dataset_id: int) -> ModelRecord:
    with session_scope() as session:
        return session.scalars(select(ModelRecord).where(ModelRecord.dataset_id == dataset_id)).one()


def _set_record(dataset_id: int, data: bytes) -> None:
    with session_scope() as session:
        row = session.scalars(select(ModelRecord).where(ModelRecord.dataset_id == dataset_id)).one()
        row.record = data


def _repack(record: bytes, **changes) -> bytes:
    header, payload = model_store.read_header(record)
    header.update(changes)
    head = json.dumps(header).encode()
    return model_store.MAGIC + len(head).to_bytes(4, "big") + head + payload


def test_a_fit_is_stored_as_a_versioned_record_and_read_back(fitted_app):
    ctx = system_context("alpha")
    stored = _record(ctx.dataset_id)
    dataset = _row(ctx.dataset_id)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert stored.name == "results" and stored.kind == "analytics.ModelResults"
    assert stored.format_version == 1 and stored.project_version == project
    for library in ("lifetimes", "scikit-learn", "numpy", "pandas"):
        assert stored.library_versions[library] == metadata.version(library)
    assert stored.dataset_version == f"t{ctx.tenant_id}-v{dataset.version}-d{ctx.dataset_id}"
    assert stored.size_bytes == len(stored.record) and not stored.record.startswith(b"\x80")  # not a pickle

    loaded = jobs.load_model_results(ctx, ctx.dataset_id)
    # an independent second fit on the same cleaned log gives the same figures
    from analytics.models import fit_models

    again = fit_models(results.get_result(ctx, "cleaned"))
    assert loaded.errors == again.errors and loaded.settings == again.settings
    pd.testing.assert_frame_equal(loaded.clv.customers, again.clv.customers)
    assert loaded.clv.bgnbd_params == pytest.approx(again.clv.bgnbd_params)
    assert loaded.snapshot_date == again.snapshot_date
    # issue 10: the fitted candidates, the churn calibrator and the interval draws come back whole
    got, want = loaded.clv.choice, again.clv.choice
    assert got.chosen == want.chosen and set(got.candidates) == set(want.candidates)
    for name, score in want.candidates.items():
        assert got.candidates[name].params == pytest.approx(score.params), name
        assert got.candidates[name].log_likelihood == pytest.approx(score.log_likelihood, nan_ok=True), name
    assert loaded.churn.calibration_method == again.churn.calibration_method
    assert type(loaded.churn.estimator.calibrator) is type(again.churn.estimator.calibrator)
    from analytics.churn import churn_features

    X = churn_features(results.get_result(ctx, "cleaned").lines, again.snapshot_date)
    X = X.reindex(columns=list(again.churn.feature_names))
    np.testing.assert_allclose(loaded.churn.estimator.predict_proba(X), again.churn.estimator.predict_proba(X))
    pd.testing.assert_frame_equal(loaded.churn_scores, again.churn_scores)
    pd.testing.assert_frame_equal(loaded.clv_intervals.table, again.clv_intervals.table)
    # one cache in front of the store: the second read is the same object
    variant = f"m{dataset.models_updated_at:%Y%m%dT%H%M%S%f}"
    first = results.get_result(ctx, "models", variant=variant)
    assert results.get_result(ctx, "models", variant=variant) is first
    # another tenant never reads it
    with pytest.raises(LookupError):
        jobs.load_model_results(system_context("beta"), ctx.dataset_id)


def test_other_library_versions_or_another_dataset_are_refused(fitted_app):
    ctx, beta = system_context("alpha"), system_context("beta")
    good = _record(ctx.dataset_id).record
    try:
        _refused_records(ctx, beta, good)
    finally:
        _set_record(ctx.dataset_id, good)
        with session_scope() as session:
            for row in session.scalars(select(ModelRecord).where(ModelRecord.dataset_id == beta.dataset_id)):
                session.delete(row)


def _refused_records(ctx, beta, good: bytes) -> None:
    libraries = dict(model_store.read_header(good)[0]["libraries"], **{"scikit-learn": "0.0.1"})
    _set_record(ctx.dataset_id, _repack(good, libraries=libraries))
    with pytest.raises(model_store.ModelRecordRefused, match=r"scikit-learn 0\.0\.1 \(installed "):
        model_store.load(ctx.tenant_id, ctx.dataset_id, "results", ResultsRecord)
    _set_record(ctx.dataset_id, _repack(good, format_version=0))
    with pytest.raises(model_store.ModelRecordRefused, match="record format 0"):
        model_store.load(ctx.tenant_id, ctx.dataset_id, "results", ResultsRecord)
    # alpha's record stored as beta's models: fitted on another dataset
    with session_scope() as session:
        session.add(ModelRecord(tenant_id=beta.tenant_id, dataset_id=beta.dataset_id, name="results",
                                kind="x", format_version=1, project_version="x", library_versions={},
                                dataset_version="x", sha256="x", size_bytes=len(good), record=good))
    with pytest.raises(model_store.ModelRecordRefused, match="fitted on dataset 't"):
        model_store.load(beta.tenant_id, beta.dataset_id, "results", ResultsRecord)
    # the store also refuses to save a record of another dataset
    with session_scope() as session, pytest.raises(model_store.ModelRecordRefused):
        model_store.save_record(session, session.get(Dataset, beta.dataset_id), "results", good)


def _wait_ready(dataset_id: int, timeout: float = 180.0) -> Dataset:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = _row(dataset_id)
        if row.models_status in ("ready", "failed"):
            return row
        time.sleep(0.5)
    raise AssertionError(f"no refit within {timeout} s: {row.models_status} {row.models_message}")


def test_an_old_pickle_is_refused_never_unpickled_and_refitted(store_app, tmp_path):
    ctx = system_context("alpha")
    bomb = tmp_path / "unpickled"
    # today's format: a pickle of the whole result object in dataset_results, status ready
    with session_scope() as session:
        session.add(DatasetResult(dataset_id=ctx.dataset_id, name="models", format="pickle",
                                  data=pickle.dumps(Bomb(str(bomb)))))
        row = session.get(Dataset, ctx.dataset_id)
        row.models_status, row.models_progress, row.models_message = "ready", 1.0, "ready"
    assert jobs.load_model_results(ctx, ctx.dataset_id) is None
    row = _row(ctx.dataset_id)
    assert row.models_status in ("pending", "running", "ready")  # the refit has started
    assert not bomb.exists()
    refitted = _wait_ready(ctx.dataset_id)
    assert refitted.models_status == "ready", refitted.models_message
    assert type(jobs.load_model_results(ctx, ctx.dataset_id)).__name__ == "ModelResults"
    with session_scope() as session:  # the legacy row is gone with the refit
        assert session.get(DatasetResult, (ctx.dataset_id, "models")) is None

    # the same pickle in the record column of the store: refused by its framing
    _set_record(ctx.dataset_id, pickle.dumps(Bomb(str(bomb))))
    with pytest.raises(model_store.ModelRecordRefused, match="not a versioned record"):
        model_store.load(ctx.tenant_id, ctx.dataset_id, "results", ResultsRecord)
    assert jobs.load_model_results(ctx, ctx.dataset_id) is None
    assert "not a versioned record" in _row(ctx.dataset_id).models_message
    assert not bomb.exists()
    assert _wait_ready(ctx.dataset_id).models_status == "ready"
    assert not bomb.exists()


def test_encoding_refuses_what_it_cannot_store_by_value():
    from dataclasses import dataclass

    from analytics.recommend import RecommendationEvaluation

    good = RecommendationEvaluation(k=10, holdout_days=90, calibration_end=pd.Timestamp("2021-01-01"),
                                    snapshot_date=pd.Timestamp("2021-04-01"), n_customers=3, hit_rate=0.5,
                                    popularity_hit_rate=0.25, precision=0.1, popularity_precision=0.05,
                                    recall=0.2, popularity_recall=0.1)
    assert ResultsRecord.from_record(ResultsRecord(good).to_record("d")) == good

    @dataclass
    class Foreign:  # not of the analytics package
        value: int

    with pytest.raises(TypeError, match="cannot be stored"):
        ResultsRecord(Foreign(1)).to_record("d")
    with pytest.raises(TypeError, match="results.k"):
        ResultsRecord(good.__class__(**{**good.__dict__, "k": object()})).to_record("d")
