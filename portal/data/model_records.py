"""Adapter: today's fitted models (``analytics.models.ModelResults``) as a versioned record.

Until every analytics model writes its own record (``to_record()/from_record()``,
see :mod:`portal.data.model_store`), the portal stores the whole
``ModelResults`` through this adapter -- never as a pickle of the object:

* the header (kind ``analytics.ModelResults``, payload ``bundle``) carries the
  project version and the versions of lifetimes, scikit-learn, numpy, pandas,
  scipy, pyarrow and joblib; the store checks them before decoding;
* the payload is a ZIP archive: ``tree.json`` (the dataclasses field by field,
  plain values as JSON, dates as ISO text), one Parquet file per data frame or
  series, one ``.npy`` file per array (read with ``allow_pickle=False``) and one
  joblib file per scikit-learn estimator (read only after the version check, and
  only when the estimator is first used: see :class:`StoredEstimator`);
* only dataclasses of the ``analytics`` package are rebuilt, through their
  constructors; any other object makes the encoding fail, naming where it is.
"""
from __future__ import annotations

import dataclasses
import io
import json
import sys
import zipfile
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .model_store import PROJECT_VERSION, ModelRecordRefused, library_versions, pack, read_header

KIND = "analytics.ModelResults"
PAYLOAD = "bundle"
#: Libraries whose versions a stored bundle must match to be decoded.
LIBRARIES = ("lifetimes", "scikit-learn", "numpy", "pandas", "scipy", "pyarrow", "joblib")


class ResultsRecord:
    """``ResultsRecord(model_results).to_record(dataset_version)``: the :class:`Recordable` of today's models."""

    def __init__(self, results: Any) -> None:
        self.results = results

    def to_record(self, dataset_version: str | None = None) -> bytes:
        members: dict[str, bytes] = {}
        tree = _encode(self.results, members, "results")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr("tree.json", json.dumps(tree, allow_nan=True))
            for name, data in members.items():
                archive.writestr(name, data)
        header = {"kind": KIND, "payload": PAYLOAD, "project_version": PROJECT_VERSION,
                  "libraries": library_versions(LIBRARIES), "dataset_version": dataset_version,
                  "params": {}, "meta": {"members": len(members)}}
        return pack(header, buffer.getvalue())

    @staticmethod
    def from_record(record: bytes, dataset_version: str | None = None) -> Any:
        """The ``ModelResults`` of a record :func:`portal.data.model_store.load` has checked."""
        header, payload = read_header(record)
        if header.get("kind") != KIND or header.get("payload") != PAYLOAD:
            raise ModelRecordRefused(f"The stored record holds {header.get('kind')!r}, not {KIND!r}.")
        if dataset_version is not None and header.get("dataset_version") != dataset_version:
            raise ModelRecordRefused("The stored models belong to another dataset version; refit the models.")
        classes = _analytics_dataclasses()
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            tree = json.loads(archive.read("tree.json"))
            return _decode(tree, archive, classes)


class StoredEstimator:
    """A stored scikit-learn estimator, unpickled (with joblib, which loads scikit-learn) on first use.

    The web reads stored scores and curves, never an estimator: decoding one there would load
    scikit-learn into every worker.  A job that scores (``estimator.predict_proba``) gets the
    real estimator through attribute access; storing the results again writes the same bytes.
    The record's library versions were checked by the store before this object exists."""

    __slots__ = ("payload", "_loaded")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self._loaded: Any = None

    def load(self) -> Any:
        """The estimator (unpickled once)."""
        if self._loaded is None:
            import joblib  # deliberate lazy loading: only where an estimator is used (a job)

            self._loaded = joblib.load(io.BytesIO(self.payload))
        return self._loaded

    def __getattr__(self, name: str) -> Any:
        return getattr(self.load(), name)

    def __reduce_ex__(self, protocol):  # pickled (e.g. by joblib) as the estimator itself
        return self.load().__reduce_ex__(protocol)


def _analytics_dataclasses() -> dict[str, type]:
    # Deliberate lazy loading: analytics.models loads lifetimes and scikit-learn, needed
    # only where fitted models are read.  Every dataclass of the analytics package that
    # analytics.models pulls in may be rebuilt; nothing else.
    import analytics.models  # noqa: F401

    out = {}
    for module_name, module in list(sys.modules.items()):
        if not (module_name == "analytics" or module_name.startswith("analytics.")) or module is None:
            continue
        for value in vars(module).values():
            if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == module_name:
                out[f"{module_name}.{value.__qualname__}"] = value
    return out


def _encode(value: Any, members: dict[str, bytes], path: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp) or (isinstance(value, type(pd.NaT)) and value is pd.NaT):
        return {"$ts": None if value is pd.NaT else value.isoformat()}
    if isinstance(value, pd.Timedelta):
        return {"$td": value.value}
    if isinstance(value, (pd.DataFrame, pd.Series)):
        name = f"frames/{len(members)}.parquet"
        frame = value.to_frame(name="__series__") if isinstance(value, pd.Series) else value
        if not all(isinstance(c, str) for c in frame.columns):
            raise TypeError(f"{path}: a frame with non-text column names cannot be stored")
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=True), buffer, compression="zstd")
        members[name] = buffer.getvalue()
        return {"$frame": name, "series": isinstance(value, pd.Series),
                "series_name": value.name if isinstance(value, pd.Series) else None}
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"{path}: an object array cannot be stored")
        name = f"arrays/{len(members)}.npy"
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        members[name] = buffer.getvalue()
        return {"$array": name}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, members, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, members, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {"$dict": [[_encode(k, members, f"{path}.key"), _encode(v, members, f"{path}[{k!r}]")]
                          for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and type(value).__module__.split(".")[0] == "analytics":
        cls = type(value)
        fields = {f.name: _encode(getattr(value, f.name), members, f"{path}.{f.name}")
                  for f in dataclasses.fields(value) if f.init}
        return {"$dataclass": f"{cls.__module__}.{cls.__qualname__}", "fields": fields}
    if isinstance(value, StoredEstimator):
        name = f"estimators/{len(members)}.joblib"
        members[name] = value.payload
        return {"$sklearn": name}
    if any(base.__module__.split(".")[0] == "sklearn" for base in type(value).__mro__):
        # a scikit-learn estimator, or an analytics estimator built on its API (the churn calibrator)
        import joblib  # deliberate lazy loading: only where an estimator is stored

        name = f"estimators/{len(members)}.joblib"
        buffer = io.BytesIO()
        joblib.dump(value, buffer)
        members[name] = buffer.getvalue()
        return {"$sklearn": name}
    raise TypeError(f"{path}: a {type(value).__module__}.{type(value).__qualname__} cannot be stored in a "
                    "model record")


def _decode(node: Any, archive: zipfile.ZipFile, classes: dict[str, type]) -> Any:
    if isinstance(node, list):
        return [_decode(v, archive, classes) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ts" in node:
        return pd.NaT if node["$ts"] is None else pd.Timestamp(node["$ts"])
    if "$td" in node:
        return pd.Timedelta(node["$td"])
    if "$frame" in node:
        frame = pq.read_table(pa.BufferReader(archive.read(node["$frame"]))).to_pandas()
        if node.get("series"):
            return frame["__series__"].rename(node.get("series_name"))
        return frame
    if "$array" in node:
        return np.load(io.BytesIO(archive.read(node["$array"])), allow_pickle=False)
    if "$tuple" in node:
        return tuple(_decode(v, archive, classes) for v in node["$tuple"])
    if "$dict" in node:
        return {_decode(k, archive, classes): _decode(v, archive, classes) for k, v in node["$dict"]}
    if "$dataclass" in node:
        cls = classes.get(node["$dataclass"])
        if cls is None:
            raise ModelRecordRefused(f"The stored models name {node['$dataclass']!r}, which this version of the "
                                     "analytics package does not have; refit the models.")
        try:
            return cls(**{k: _decode(v, archive, classes) for k, v in node["fields"].items()})
        except TypeError as exc:
            raise ModelRecordRefused(f"The stored {node['$dataclass']} does not fit this version ({exc}); "
                                     "refit the models.") from None
    if "$sklearn" in node:
        return StoredEstimator(archive.read(node["$sklearn"]))
    raise ModelRecordRefused("The stored model record has an unknown entry; refit the models.")
