"""Column mappings per tenant: propose, preview, save, reuse for the same header.

A file whose header is one of the UCI layouts (or the canonical one) is read
by :func:`analytics.load_transactions`, which refuses a whole file at its first
bad value, as before.  Any other header goes through :mod:`analytics.mapping`:
the mapping given (admin, ``--mapping``), else the tenant's saved mapping for
that header (its fingerprint), else the proposal (a known layout such as
Shopify's, or synonyms).  Both paths give canonical lines and a quality report.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select

import analytics
from analytics.layouts import LAYOUTS, known_layout
from analytics.mapping import (
    ColumnMapping,
    MappedLog,
    QualityReport,
    apply_mapping,
    header_fingerprint,
    propose_mapping,
    read_table,
)

from ..platform.accounts import audit
from ..platform.db import session_scope
from ..platform.models import TenantMapping, utcnow
from ..platform.tenancy import PortalContext

#: Layouts read by the strict loader (their own refusal rules, multi-sheet workbooks).
LOADER_LAYOUTS = frozenset({"Online Retail", "Online Retail II", "canonical"})
PREVIEW_ROWS = 8


@dataclass(frozen=True)
class ReadResult:
    """What an import read: canonical lines, contacts, the quality report, the mapping used."""

    transactions: pd.DataFrame
    contacts: pd.DataFrame | None
    quality: dict[str, Any]
    mapping: ColumnMapping | None
    origin: str  # "loader", "given", "saved", "known layout", "proposed"
    fingerprint: str
    identity: str


def saved_mapping(ctx: PortalContext, header: list[str]) -> ColumnMapping | None:
    """The tenant's mapping saved for this header, if any."""
    with session_scope() as session:
        row = session.scalars(select(TenantMapping).where(
            TenantMapping.tenant_id == ctx.tenant_id,
            TenantMapping.fingerprint == header_fingerprint(header))).one_or_none()
        return None if row is None else ColumnMapping.from_json(row.mapping)


def save_mapping(ctx: PortalContext, header: list[str], mapping: ColumnMapping, *, ip: str | None = None) -> str:
    """Save (or replace) the tenant's mapping for this header; audited.  Returns the fingerprint."""
    unknown = [c for c in mapping.fields.values() if c and c not in set(header)]
    if unknown:
        raise analytics.LoadError(f"The mapping names columns that are not in the file: {', '.join(unknown)}.")
    fingerprint = header_fingerprint(header)
    with session_scope() as session:
        row = session.scalars(select(TenantMapping).where(
            TenantMapping.tenant_id == ctx.tenant_id, TenantMapping.fingerprint == fingerprint)).one_or_none()
        if row is None:
            row = TenantMapping(tenant_id=ctx.tenant_id, fingerprint=fingerprint, created_at=utcnow())
            session.add(row)
        row.layout, row.mapping, row.header, row.updated_at = mapping.layout, mapping.to_json(), \
            [str(h)[:200] for h in header][:500], utcnow()
        audit(session, "mapping_saved", tenant_id=ctx.tenant_id, user_id=ctx.user_id, ip=ip,
              detail={"fingerprint": fingerprint, "layout": mapping.layout, "fields": mapping.to_json()["fields"]})
    return fingerprint


def choose_mapping(ctx: PortalContext, header: list[str], given: ColumnMapping | None = None
                   ) -> tuple[ColumnMapping | None, str]:
    """(mapping, origin); ``(None, "loader")`` for a UCI/canonical header without a given or saved mapping."""
    if given is not None:
        return given, "given"
    saved = saved_mapping(ctx, header)
    if saved is not None:
        return saved, "saved"
    layout = known_layout(header)
    if layout is not None and layout.name in LOADER_LAYOUTS:
        return None, "loader"
    proposal = propose_mapping(header)
    return proposal, "known layout" if proposal.layout in LAYOUTS else "proposed"


def read_for_import(ctx: PortalContext, source, name: str, given: ColumnMapping | None = None) -> ReadResult:
    """Read ``source`` for the tenant (its time zone and currency); LoadError when it cannot be used."""
    head = read_table(source, name, max_rows=5)
    header = list(head.columns)
    if hasattr(source, "seek"):
        source.seek(0)
    mapping, origin = choose_mapping(ctx, header, given)
    if mapping is None:
        frame, offsets = _load_strict(source, name, ctx.time_zone)
        frame.attrs["source"]["dates_with_offset"] = offsets
        return ReadResult(frame, None, loader_quality(frame, ctx), None, origin, header_fingerprint(header),
                          "customer_id")
    raw = read_table(source, name)
    mapped: MappedLog = apply_mapping(raw, mapping, ctx.time_zone, currency=ctx.currency)
    quality = mapped.report.to_dict()
    quality["mapping_origin"] = origin
    return ReadResult(mapped.transactions, mapped.contacts, quality, mapping, origin,
                      header_fingerprint(header), mapped.identity)


def _load_strict(source, name: str, zone: str) -> tuple[pd.DataFrame, int]:
    """The loader's frame; dates_with_offset 0 for a file of naive times, -1 (unknown count) otherwise."""
    try:
        return analytics.load_transactions(source, filename=name), 0
    except analytics.LoadError as exc:
        if "time zone" not in str(exc):
            raise
    if hasattr(source, "seek"):
        source.seek(0)
    frame = analytics.load_transactions(source, filename=name, time_zone=zone)
    return frame, -1


def loader_quality(frame: pd.DataFrame, ctx: PortalContext) -> dict[str, Any]:
    """The quality report of a file read by the strict loader (it refuses a file, never a row)."""
    today = pd.Timestamp.now(tz=ctx.time_zone).tz_localize(None)
    layout = frame.attrs.get("source", {}).get("layout", "")
    report = QualityReport(layout=layout, returns_rule=LAYOUTS["Online Retail"].returns_rule(),
                                             rows_read=len(frame), rows_mapped=len(frame))
    report.duplicates = int(frame.duplicated().sum())
    report.future_dates = int((frame["invoice_date"] > today).sum())
    report.negative_prices = int((frame["unit_price"] < 0).sum())
    report.customers_without_id = int(frame["customer_id"].isna().sum())
    offsets = frame.attrs.get("source", {}).get("dates_with_offset", 0)
    if offsets:
        report.time_zone_doubts.append(f"Times carry UTC offsets; they were converted to {ctx.time_zone}.")
    report.currency_doubts.append(f"The file has no currency column: amounts are taken to be {ctx.currency}.")
    out = report.to_dict()
    out["mapping_origin"] = "loader"
    return out


def preview(ctx: PortalContext, source, name: str, given: ColumnMapping | None = None,
            rows: int = PREVIEW_ROWS) -> dict[str, Any]:
    """The proposal for a file and its first ``rows`` rows as the portal will read them.

    Returns ``header``, ``mapping`` (JSON), ``origin``, ``fingerprint``,
    ``returns_rule``, ``rows`` (canonical records), ``missing`` and ``error``.
    """
    raw = read_table(source, name)
    header = list(raw.columns)
    mapping, origin = choose_mapping(ctx, header, given)
    if mapping is None:
        mapping, origin = propose_mapping(header), "known layout"
    out: dict[str, Any] = {"header": header, "mapping": mapping.to_json(), "origin": origin,
                           "fingerprint": header_fingerprint(header), "returns_rule": mapping.returns_rule(),
                           "missing": mapping.missing(), "rows": [], "error": None}
    try:
        sample = raw.head(max(rows * 5, 50))
        mapped = apply_mapping(sample, mapping, ctx.time_zone, currency=ctx.currency)
        frame = mapped.transactions.head(rows).copy()
        frame["invoice_date"] = frame["invoice_date"].dt.strftime("%Y-%m-%d %H:%M")
        out["rows"] = frame.astype(object).where(frame.notna(), None).to_dict("records")
        out["refused"] = mapped.report.refused_examples[:5]
    except (analytics.LoadError, analytics.AnalyticsError) as exc:
        out["error"] = str(exc)
    return out


def quality_lines(quality: dict[str, Any]) -> list[str]:
    """The quality report of an import as short lines (CLI, Data page)."""
    if not quality:
        return []
    lines = [(f"Layout: {quality.get('layout') or 'unknown'} (mapping: {quality.get('mapping_origin', '-')}); "
              f"rows read {quality.get('rows_read', 0):,}, mapped {quality.get('rows_mapped', 0):,}, "
              f"refused {quality.get('rows_refused', 0):,}.")]
    for name, label in (("rows_excluded_status", "left out by status (never sales)"),
                        ("refund_lines_added", "refund lines added from refunded amounts"),
                        ("duplicates", "exact duplicate lines (removed by cleaning)"),
                        ("duplicates_of_loaded", "lines already loaded (not added again)"),
                        ("future_dates", "rows dated in the future (refused)"),
                        ("negative_prices", "negative prices (removed by cleaning)"),
                        ("customers_without_id", "lines without a customer id (guests)")):
        if quality.get(name):
            lines.append(f"{quality[name]:,} {label}.")
    for example in quality.get("refused_examples", [])[:5]:
        lines.append(f"Refused row {example['row']} (line {example['line']}): {example['reason']} "
                     f"({example['value']!r}).")
    lines += list(quality.get("currency_doubts", [])) + list(quality.get("time_zone_doubts", []))
    return lines
