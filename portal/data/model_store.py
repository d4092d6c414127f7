"""The model store: fitted models kept as versioned records next to the dataset payloads.

A *record* is what a fitted model's ``to_record(dataset_version) -> bytes`` returns
and its ``from_record(record, dataset_version)`` reads back (the protocol of the
analytics models, see :class:`Recordable` and :class:`RecordCodec`)::

    MAGIC (8 bytes) | header length (4 bytes, big-endian) | header (UTF-8 JSON) | payload

The header names the record format version, the model kind, the project version,
the versions of the libraries the payload depends on, the dataset version it was
fitted on and the payload's SHA-256.  :func:`save` copies these into the columns of
``model_records`` (one row per dataset and name); :func:`load` checks them
against this process *before* the codec sees a byte of the payload, and refuses
anything else with :class:`ModelRecordRefused` whose message says what differs
(an old unversioned pickle, another format, another scikit-learn...): the caller
refits (:func:`portal.data.jobs.load_model_results`).  Nothing here unpickles.

Names: ``"results"`` holds today's whole set of fitted models (adapter in
:mod:`portal.data.model_records`); the store is keyed by name so several CLV
candidates, a churn calibrator or per-customer interval draws each get a row.

The one cache in front of the store is the per-process LRU of the result cache
(:mod:`portal.data.results`, result ``"models"``, keyed by the fit's stamp); the
database is the level shared by every worker and host.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select

from analytics.model_store import library_versions

from ..platform.config import PROJECT_ROOT
from ..platform.db import session_scope
from ..platform.models import Dataset, ModelRecord, utcnow

MAGIC = b"ANLXREC\n"
#: The record framing this portal reads and writes.
RECORD_FORMAT_VERSION = 1


def _project_version() -> str:
    try:
        with open(PROJECT_ROOT / "pyproject.toml", "rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


#: Version of this project written into (and required of) every record.
PROJECT_VERSION = _project_version()


class ModelRecordRefused(LookupError):
    """A stored record that this process will not load as is; the message says why (refit)."""


class Recordable(Protocol):
    """A fitted model that turns into a versioned record."""

    def to_record(self, dataset_version: str | None = None) -> bytes: ...


class RecordCodec(Protocol):
    """Reads a record back (a model class's ``from_record`` classmethod, or an adapter)."""

    def from_record(self, record: bytes, dataset_version: str | None = None) -> Any: ...


def pack(header: dict[str, Any], payload: bytes) -> bytes:
    """Frame ``payload`` behind ``header`` (format version and checksum are added here)."""
    header = dict(header, format_version=RECORD_FORMAT_VERSION, sha256=hashlib.sha256(payload).hexdigest())
    head = json.dumps(header, sort_keys=True, allow_nan=True).encode("utf-8")
    return MAGIC + len(head).to_bytes(4, "big") + head + payload


def read_header(record: bytes) -> tuple[dict[str, Any], bytes]:
    """``(header, payload)`` of a record, checking only its framing."""
    record = bytes(record)
    if not record.startswith(MAGIC):
        raise ModelRecordRefused(
            "The stored models are not a versioned record (an old unversioned pickle or another format); "
            "they are not loaded and must be refitted.")
    start = len(MAGIC) + 4
    size = int.from_bytes(record[len(MAGIC):start], "big")
    try:
        header = json.loads(record[start:start + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelRecordRefused("The stored model record's header is damaged; the models must be refitted.") \
            from None
    if not isinstance(header, dict):
        raise ModelRecordRefused("The stored model record's header is damaged; the models must be refitted.")
    return header, record[start + size:]


def check_header(header: dict[str, Any], payload: bytes, *, kind: str | None = None,
                 dataset_version: str | None = None) -> None:
    """Raise :class:`ModelRecordRefused` unless a record with ``header`` can be used here."""
    if header.get("format_version") != RECORD_FORMAT_VERSION:
        raise ModelRecordRefused(f"The stored models use record format {header.get('format_version')!r}; this "
                                 f"portal reads format {RECORD_FORMAT_VERSION}. Refit the models.")
    if kind is not None and header.get("kind") != kind:
        raise ModelRecordRefused(f"The stored record holds {header.get('kind')!r}, not {kind!r}.")
    if header.get("project_version") != PROJECT_VERSION:
        raise ModelRecordRefused(f"The stored models were written by version {header.get('project_version')!r} "
                                 f"of the portal; this is {PROJECT_VERSION}. Refit the models.")
    stored = header.get("libraries") or {}
    if not isinstance(stored, dict):
        raise ModelRecordRefused("The stored model record names no library versions; refit the models.")
    installed = library_versions(stored)
    differ = [f"{name} {stored[name]} (installed {installed[name]})" for name in sorted(stored)
              if stored[name] != installed[name]]
    if differ:
        raise ModelRecordRefused("The stored models were fitted with other library versions: "
                                 + ", ".join(differ) + ". Refit the models.")
    if dataset_version is not None and header.get("dataset_version") != dataset_version:
        raise ModelRecordRefused(f"The stored models were fitted on dataset {header.get('dataset_version')!r}, "
                                 f"not {dataset_version!r}. Refit the models.")
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise ModelRecordRefused("The stored model record does not match its checksum; refit the models.")


def dataset_version_of(dataset: Dataset) -> str:
    """The dataset version written into a record: tenant, version and row id."""
    return f"t{dataset.tenant_id}-v{dataset.version}-d{dataset.id}"


@dataclass(frozen=True)
class StoredRecord:
    """A row of ``model_records`` without its bytes."""

    dataset_id: int
    name: str
    kind: str
    format_version: int
    project_version: str
    library_versions: dict
    dataset_version: str
    sha256: str
    size_bytes: int
    created_at: Any


def _info(row: ModelRecord) -> StoredRecord:
    return StoredRecord(**{name: getattr(row, name) for name in StoredRecord.__dataclass_fields__})


def save(session, dataset: Dataset, name: str, model: Recordable) -> StoredRecord:
    """Store ``model.to_record(...)`` as record ``name`` of ``dataset`` in ``session`` (replacing it)."""
    return save_record(session, dataset, name, model.to_record(dataset_version_of(dataset)))


def save_record(session, dataset: Dataset, name: str, record: bytes) -> StoredRecord:
    """Store ready-made record bytes (checked to be a record of ``dataset`` for this process)."""
    header, payload = read_header(record)
    check_header(header, payload, dataset_version=dataset_version_of(dataset))
    row = session.scalars(select(ModelRecord).where(ModelRecord.dataset_id == dataset.id,
                                                    ModelRecord.name == name)).one_or_none()
    if row is None:
        row = ModelRecord(tenant_id=dataset.tenant_id, dataset_id=dataset.id, name=name)
        session.add(row)
    row.kind, row.format_version = str(header.get("kind")), int(header["format_version"])
    row.project_version, row.library_versions = str(header["project_version"]), dict(header["libraries"])
    row.dataset_version, row.sha256 = str(header["dataset_version"]), str(header["sha256"])
    row.record, row.size_bytes, row.created_at = bytes(record), len(record), utcnow()
    session.flush()
    return _info(row)


def stored_records(tenant_id: int, dataset_id: int) -> list[StoredRecord]:
    """The records of a dataset of a tenant (no bytes), by name."""
    with session_scope() as session:
        rows = session.scalars(select(ModelRecord).where(ModelRecord.tenant_id == tenant_id,
                                                         ModelRecord.dataset_id == dataset_id)
                               .order_by(ModelRecord.name))
        return [_info(row) for row in rows]


def load(tenant_id: int, dataset_id: int, name: str, codec: RecordCodec) -> Any:
    """The model stored as ``name`` for a dataset of ``tenant_id``, or None when there is none.

    Refuses (:class:`ModelRecordRefused`) a record of another format, project or
    library version, or another dataset, before ``codec`` decodes anything."""
    with session_scope() as session:
        dataset = session.get(Dataset, dataset_id)
        if dataset is None or dataset.tenant_id != tenant_id:
            raise LookupError(f"Dataset {dataset_id} not found.")
        expected = dataset_version_of(dataset)
        row = session.execute(select(ModelRecord.record).where(ModelRecord.dataset_id == dataset_id,
                                                               ModelRecord.name == name)).scalar()
    if row is None:
        return None
    header, payload = read_header(row)
    check_header(header, payload, dataset_version=expected)
    return codec.from_record(bytes(row), expected)
