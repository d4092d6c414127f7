"""The shop-export part of an import (issue 15), kept apart from :mod:`portal.data.imports`:
read with the tenant's mapping, time zone and currency (:mod:`portal.data.mappings`),
pseudonymise e-mail customer ids (:mod:`portal.data.privacy`), append to the
current version (:mod:`portal.data.versions`), then, inside the storing
transaction, keep the quality report with the version, store contacts of
opted-in tenants and prune old versions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analytics.mapping import ColumnMapping

from ..platform.models import Dataset, Tenant
from ..platform.tenancy import PortalContext
from . import privacy, versions
from .mappings import read_for_import
from .storage import DatasetNotFound
from .storage import load_transactions as load_version

MODES = ("replace", "append")


@dataclass
class Prepared:
    """A file read for an import: the lines to store and what goes with them."""

    frame: pd.DataFrame
    quality: dict[str, Any]
    contacts: pd.DataFrame | None
    mode: str
    pruned: list[int] = field(default_factory=list)


def prepare(ctx: PortalContext, source, name: str, mapping: ColumnMapping | None = None,
            mode: str = "replace") -> Prepared:
    """Read ``source`` for the tenant; for ``append``, add it to the current version's lines."""
    if mode not in MODES:
        raise ValueError(f"Import mode must be {' or '.join(MODES)}, got {mode!r}.")
    read = read_for_import(ctx, source, name, mapping)
    frame, contacts = privacy.pseudonymise(ctx, read.transactions, read.contacts, read.identity)
    frame.attrs["source"] = dict(read.transactions.attrs.get("source", {}), mapping_origin=read.origin,
                                 fingerprint=read.fingerprint, mode=mode)
    quality = dict(read.quality, mode=mode, duplicates_of_loaded=0)
    if mode == "append" and ctx.dataset_id is not None:
        try:
            current = load_version(ctx)
        except DatasetNotFound:
            current = None
        if current is not None:
            source_info = frame.attrs["source"]
            old = current.attrs.get("source", {})
            merged, duplicates = versions.append_lines(current, frame)
            quality["duplicates_of_loaded"] = duplicates
            quality["appended_to_version"] = old.get("version")
            quality["lines_added"] = len(frame) - duplicates
            offsets = [old.get("dates_with_offset", 0), source_info.get("dates_with_offset", 0)]
            merged.attrs["source"] = dict(source_info, rows=len(merged),
                                          dates_with_offset=-1 if -1 in offsets else sum(offsets),
                                          appended_to_version=old.get("version"))
            if duplicates == len(frame):
                raise ValueError(f"Every one of the {len(frame):,} lines of {name} is already loaded "
                                 f"(version {old.get('version')}): nothing to append. The current version stays.")
            frame = merged
    return Prepared(frame, quality, contacts, mode)


def finish(session, ctx: PortalContext, dataset: Dataset, prepared: Prepared) -> None:
    """Inside the storing transaction: quality report, mode, contacts, pruning."""
    dataset.quality_report = prepared.quality
    dataset.import_mode = prepared.mode
    privacy.store_contacts(session, ctx.tenant_id, prepared.contacts)
    tenant = session.get(Tenant, ctx.tenant_id)
    prepared.pruned = versions.prune(session, ctx.tenant_id, tenant.keep_versions, dataset.id)
