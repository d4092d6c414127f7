"""Versioned records of fitted models: bytes a store can keep, checked before use.

Every fitted model (purchase models, Gamma-Gamma, churn estimators and
calibrators, interval draws) turns into a *record*: a small JSON header
(record format version, model kind, project version, the versions of the
libraries its predictions depend on, the dataset version it was fitted on)
followed by a payload:

* ``npz``: parameters in the header and arrays in a NumPy ``.npz`` archive
  (loaded with ``allow_pickle=False``) -- BTYD models, interval draws;
* ``joblib``: a scikit-learn estimator or calibrator, unpickled only *after*
  the header has been checked (same format, kind, project and library
  versions, and the payload's SHA-256 matches the header).

Layout: ``MAGIC`` (8 bytes) + header length (4 bytes, big-endian) + header
(UTF-8 JSON) + payload.  Anything else -- an old unversioned pickle, another
format version, a record written by other library versions -- is refused with
a :class:`ModelRecordError` naming what differs; the caller refits.  The
portal stores the bytes (see its model store); this module never touches disk.
"""
from __future__ import annotations

import hashlib
import io
import json
from importlib import metadata

import numpy as np

from .errors import AnalyticsError

MAGIC = b"ANLXREC\n"
FORMAT_VERSION = 1
#: Project version written into every record (kept in step with pyproject.toml).
PROJECT_VERSION = "0.1.0"
#: Libraries whose versions must match for a kind of payload to be used.
REQUIRED_LIBRARIES: dict[str, tuple[str, ...]] = {
    "npz": ("numpy", "lifetimes"),
    "joblib": ("scikit-learn", "numpy", "scipy", "joblib"),
}


class ModelRecordError(AnalyticsError):
    """A stored model record that cannot be used as is (refit); the message says why."""


def library_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of ``names`` ("missing" when not installed)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def _header(kind: str, payload_type: str, dataset_version: str | None, params: dict | None,
            meta: dict | None, payload: bytes) -> dict:
    return {"format_version": FORMAT_VERSION, "kind": kind, "payload": payload_type,
            "project_version": PROJECT_VERSION,
            "libraries": library_versions(REQUIRED_LIBRARIES[payload_type]),
            "dataset_version": dataset_version, "params": params or {}, "meta": meta or {},
            "sha256": hashlib.sha256(payload).hexdigest()}


def _pack(header: dict, payload: bytes) -> bytes:
    head = json.dumps(header, sort_keys=True, allow_nan=True).encode("utf-8")
    return MAGIC + len(head).to_bytes(4, "big") + head + payload


def pack_arrays(kind: str, params: dict, arrays: dict[str, np.ndarray] | None = None, *,
                dataset_version: str | None = None, meta: dict | None = None) -> bytes:
    """A record of plain parameters (JSON numbers/strings) and named numeric arrays."""
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in (arrays or {}).items()})
    payload = buffer.getvalue()
    return _pack(_header(kind, "npz", dataset_version, params, meta, payload), payload)


def pack_estimator(kind: str, estimator: object, *, dataset_version: str | None = None,
                   meta: dict | None = None) -> bytes:
    """A record of a scikit-learn estimator or calibrator (joblib payload)."""
    import joblib  # lazy: only estimator records need it

    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    payload = buffer.getvalue()
    return _pack(_header(kind, "joblib", dataset_version, None, meta, payload), payload)


def read_header(record: bytes) -> tuple[dict, bytes]:
    """The header and the raw payload of a record, after checking the framing only."""
    if not isinstance(record, (bytes, bytearray, memoryview)):
        raise ModelRecordError(f"A model record is bytes, got {type(record).__name__}.")
    record = bytes(record)
    if not record.startswith(MAGIC):
        raise ModelRecordError(
            "Not a versioned model record (an old unversioned pickle or another format); "
            "it is not loaded -- refit the model.")
    size = int.from_bytes(record[len(MAGIC):len(MAGIC) + 4], "big")
    start = len(MAGIC) + 4
    try:
        header = json.loads(record[start:start + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelRecordError("The model record's header is damaged; refit the model.") from None
    return header, record[start + size:]


def check_header(header: dict, kind: str, dataset_version: str | None = None) -> None:
    """Raise :class:`ModelRecordError` unless the record can be used here."""
    if header.get("format_version") != FORMAT_VERSION:
        raise ModelRecordError(
            f"Model record format {header.get('format_version')!r} is not the current format "
            f"{FORMAT_VERSION}; refit the model.")
    if header.get("kind") != kind:
        raise ModelRecordError(f"The record holds a {header.get('kind')!r} model, not {kind!r}.")
    if header.get("project_version") != PROJECT_VERSION:
        raise ModelRecordError(
            f"The record was written by project version {header.get('project_version')!r}, "
            f"this is {PROJECT_VERSION}; refit the model.")
    payload_type = header.get("payload")
    if payload_type not in REQUIRED_LIBRARIES:
        raise ModelRecordError(f"Unknown record payload {payload_type!r}; refit the model.")
    installed = library_versions(REQUIRED_LIBRARIES[payload_type])
    stored = header.get("libraries") or {}
    differ = {k: (stored.get(k), v) for k, v in installed.items() if stored.get(k) != v}
    if differ:
        raise ModelRecordError(
            "The record was written with other library versions ("
            + ", ".join(f"{k} {old} != installed {new}" for k, (old, new) in differ.items())
            + "); refit the model.")
    if dataset_version is not None and header.get("dataset_version") != dataset_version:
        raise ModelRecordError(
            f"The record was fitted on dataset version {header.get('dataset_version')!r}, "
            f"not {dataset_version!r}; refit the model.")


def _verified_payload(header: dict, payload: bytes) -> bytes:
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise ModelRecordError("The model record's payload does not match its checksum; refit the model.")
    return payload


def unpack_arrays(record: bytes, kind: str, dataset_version: str | None = None
                  ) -> tuple[dict, dict[str, np.ndarray], dict]:
    """``(params, arrays, meta)`` of an ``npz`` record after the version checks."""
    header, payload = read_header(record)
    check_header(header, kind, dataset_version)
    if header["payload"] != "npz":
        raise ModelRecordError(f"Expected a parameter record, got a {header['payload']!r} payload.")
    with np.load(io.BytesIO(_verified_payload(header, payload)), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return header["params"], arrays, header["meta"]


def unpack_estimator(record: bytes, kind: str, dataset_version: str | None = None) -> tuple[object, dict]:
    """``(estimator, meta)`` of a ``joblib`` record; unpickled only after every check passed."""
    import joblib  # lazy: only estimator records need it

    header, payload = read_header(record)
    check_header(header, kind, dataset_version)
    if header["payload"] != "joblib":
        raise ModelRecordError(f"Expected an estimator record, got a {header['payload']!r} payload.")
    return joblib.load(io.BytesIO(_verified_payload(header, payload))), header["meta"]
