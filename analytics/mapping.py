"""Column mapping: any order export -> the canonical transaction schema.

:func:`read_table` reads a CSV/XLSX/Parquet file as it is (every column, raw
values); :func:`propose_mapping` maps its header to the fields of
:data:`analytics.layouts.FIELDS` (a known layout by its header, otherwise by
column-name synonyms); the admin may correct it; :func:`apply_mapping` turns
the table into canonical lines (the input of :func:`analytics.clean_transactions`)
and a :class:`QualityReport`.  Unlike :func:`analytics.load_transactions`, which
refuses a whole file at its first bad value, a mapped import refuses bad *rows*
and reports them (row number, reason, value), so one typo does not block a
month of orders; a mapping that yields no valid line refuses the file.

Refunds follow :func:`analytics.layouts.returns_rule`: negative quantities or
amounts and ``C`` invoices are return lines on their own date; an order-level
refunded amount becomes one return line (stock code ``REFUND``) on the
cancellation date if given, else the order date.  Dates follow
:mod:`analytics.dates` (offsets converted to ``time_zone``, naive = shop-local).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .dates import time_zone as _zone
from .errors import LoadError
from .layouts import (
    FIELDS,
    LAYOUTS,
    NO_CUSTOMER_VALUES,
    REQUIRED_GROUPS,
    known_layout,
    normalise,
    returns_rule,
)
from .loading import Source
from .parsing import MAX_TEXT_LENGTH, RawTable, parse_table
from .rawtable import blank_to_na, numbers, parse_dates, per_unique, read_table, spread, texts

__all__ = ["ColumnMapping", "MappedLog", "QualityReport", "apply_mapping", "header_fingerprint", "load_mapped",
           "propose_mapping", "read_table"]
from .schema import CANCELLATION_PREFIX, CANONICAL_COLUMNS

#: Header synonyms (normalised) per field, for files of no known layout; first match wins.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "order_id": ("orderid", "ordernumber", "ordernr", "orderno", "order", "invoiceno", "invoice", "invoiceid",
                 "invoicenumber", "transactionid", "receiptnumber", "name"),
    "order_date": ("orderdate", "invoicedate", "createdat", "date", "orderdatetime", "datetime", "timestamp",
                   "purchasedate", "transactiondate", "ordercreated", "createddate"),
    "quantity": ("quantity", "qty", "lineitemquantity", "itemquantity", "units", "amountofitems"),
    "unit_price": ("unitprice", "price", "lineitemprice", "itemprice", "priceperunit", "itemcost"),
    "line_amount": ("amount", "lineamount", "linetotal", "itemtotal", "total", "ordertotal", "revenue",
                    "sales", "value", "net", "subtotal"),
    "customer_id": ("customerid", "customerno", "customernumber", "clientid", "userid", "customer",
                    "accountid", "buyerid"),
    "email": ("email", "customeremail", "billingemail", "emailaddress", "mail"),
    "name": ("billingname", "customername", "fullname", "billingfirstname", "firstname"),
    "country": ("country", "billingcountry", "shippingcountry", "countrycode", "customercountry"),
    "product_code": ("stockcode", "sku", "lineitemsku", "itemsku", "productcode", "productid", "itemcode",
                     "articlenumber"),
    "product_name": ("description", "productname", "lineitemname", "itemname", "product", "title", "item"),
    "refund_amount": ("refundedamount", "refundedtotal", "refundamount", "refunded", "refund"),
    "cancelled_at": ("cancelledat", "canceledat", "cancellationdate", "cancelleddate"),
    "status": ("financialstatus", "status", "orderstatus", "paymentstatus"),
    "currency": ("currency", "ordercurrency", "currencycode"),
}
#: Stock code of the return line an order-level refunded amount becomes.
REFUND_CODE = "REFUND"
#: Stock code of an order given as one amount (no product lines).
ORDER_CODE = "ORDER"
#: How many refused rows the report shows.
MAX_EXAMPLES = 10


@dataclass(frozen=True)
class ColumnMapping:
    """Field -> source column (None = not in the file), the layout's name and statuses that are not sales."""

    fields: dict[str, str | None]
    layout: str = "custom"
    excluded_statuses: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"layout": self.layout, "fields": {k: v for k, v in self.fields.items() if v},
                "excluded_statuses": list(self.excluded_statuses)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | str | Path) -> ColumnMapping:
        """From :meth:`to_json` output, a JSON text or a ``.json`` file; LoadError naming a bad field."""
        if isinstance(data, Path) or (isinstance(data, str) and not data.lstrip().startswith("{")):
            try:
                data = json.loads(Path(data).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise LoadError(f"The mapping file {data} cannot be read as JSON: {exc}") from None
        elif isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, dict) or not isinstance(data.get("fields", {}), dict):
            raise LoadError("A mapping is a JSON object {\"fields\": {field: column}, ...}.")
        fields = data.get("fields", {})
        unknown = [name for name in fields if name not in FIELDS]
        if unknown:
            raise LoadError(f"Unknown mapping field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                            f"fields are {', '.join(FIELDS)}.")
        return cls({name: (str(fields[name]) if fields.get(name) else None) for name in FIELDS},
                   str(data.get("layout") or "custom")[:64],
                   tuple(str(s) for s in data.get("excluded_statuses", ())))

    def returns_rule(self) -> str:
        return returns_rule(self.fields, set(self.excluded_statuses))

    def missing(self) -> list[str]:
        """Labels of the required field groups this mapping leaves empty."""
        return [" or ".join(FIELDS[f][0].lower() for f in group) for group in REQUIRED_GROUPS
                if not any(self.fields.get(f) for f in group)]


def header_fingerprint(header: list[object]) -> str:
    """A stable id of a header (normalised names, order ignored): the same layout gives the same id."""
    names = sorted({normalise(h) for h in header if normalise(h)})
    return hashlib.sha256("\x1f".join(names).encode()).hexdigest()[:32]


def propose_mapping(header: list[object]) -> ColumnMapping:
    """A known layout's mapping when the header has its columns, else one column per field by synonyms."""
    header = [str(h) for h in header]
    layout = known_layout(header)
    if layout is not None:
        present = set(header)
        return ColumnMapping({f: (layout.columns.get(f) if layout.columns.get(f) in present else None)
                              for f in FIELDS}, layout.name, tuple(sorted(layout.excluded_statuses)))
    by_norm: dict[str, str] = {}
    for h in header:
        by_norm.setdefault(normalise(h), h)
    used: set[str] = set()
    fields: dict[str, str | None] = {}
    for name in FIELDS:
        fields[name] = None
        for synonym in SYNONYMS[name]:
            column = by_norm.get(synonym)
            if column is not None and column not in used:
                fields[name] = column
                used.add(column)
                break
    if fields["unit_price"] and fields["line_amount"]:
        fields["line_amount"] = None  # the unit price is the more precise
    return ColumnMapping(fields, "custom")


# --------------------------------------------------------------------------
# applying a mapping


@dataclass
class QualityReport:
    """What a mapped import read, refused and doubted (counts are of rows of the file unless said)."""

    layout: str
    returns_rule: str
    rows_read: int = 0
    rows_mapped: int = 0
    rows_refused: int = 0
    rows_excluded_status: int = 0
    refused_by_reason: dict[str, int] = field(default_factory=dict)
    refused_examples: list[dict[str, Any]] = field(default_factory=list)
    refund_lines_added: int = 0
    duplicates: int = 0
    duplicates_of_loaded: int = 0
    future_dates: int = 0
    negative_prices: int = 0
    customers_without_id: int = 0
    dates_with_offset: int = 0
    currency_doubts: list[str] = field(default_factory=list)
    time_zone_doubts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MappedLog:
    """Canonical lines, the customers' contact details (if the file has them) and the report."""

    transactions: pd.DataFrame
    contacts: pd.DataFrame  # customer_id, email, name (rows where known)
    report: QualityReport
    identity: str  # "customer_id" or "email": what identifies a customer


class _Refusals:
    def __init__(self, n: int, header_rows: int) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.report_rows: list[tuple[int, str, object]] = []
        self.counts: dict[str, int] = {}
        self.header_rows = header_rows

    def add(self, mask: np.ndarray, reason: str, values: pd.Series | None = None) -> None:
        new = mask & ~self.bad
        if not new.any():
            return
        self.counts[reason] = self.counts.get(reason, 0) + int(new.sum())
        for position in np.flatnonzero(new)[:MAX_EXAMPLES]:
            value = None if values is None else values.iloc[position]
            self.report_rows.append((int(position), reason, value))
        self.bad |= new

    def examples(self) -> list[dict[str, Any]]:
        rows = sorted(self.report_rows)[:MAX_EXAMPLES]
        return [{"row": p + 1, "line": p + 1 + self.header_rows, "reason": r,
                 "value": None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)[:80]}
                for p, r, v in rows]


def apply_mapping(raw: pd.DataFrame, mapping: ColumnMapping, time_zone: str | None = None, *,
                  currency: str | None = None, today: pd.Timestamp | None = None) -> MappedLog:
    """Canonical lines from ``raw`` (a :func:`read_table` frame) under ``mapping``.

    ``time_zone``: the shop's (dates with offsets are converted to it; refused
    without it).  ``currency``: the tenant's ISO code, compared with a currency
    column.  ``today``: shop-local "now" for the future-date check (default: now
    in ``time_zone``).  Raises :class:`LoadError` naming the fields that are not
    mapped, a mapped column that is not in the file, or when no row gives a line.
    """
    missing = mapping.missing()
    if missing:
        raise LoadError(f"The file's columns give no {', no '.join(missing)}: map a column to "
                        f"{'each' if len(missing) > 1 else 'it'} (columns in the file: "
                        f"{', '.join(map(str, raw.columns[:40]))}).")
    absent = [f"{FIELDS[f][0]} -> {c!r}" for f, c in mapping.fields.items() if c and c not in raw.columns]
    if absent:
        raise LoadError(f"The mapping names columns that are not in the file: {', '.join(absent)}.")
    zone = None if time_zone is None else _zone(time_zone)
    n = len(raw)
    report = QualityReport(layout=mapping.layout, returns_rule=mapping.returns_rule(), rows_read=n)
    if n == 0:
        raise LoadError(f"{raw.attrs.get('name', 'The file')} has a header but no data rows.")
    refusals = _Refusals(n, header_rows=1)

    def column(name: str) -> pd.Series | None:
        source = mapping.fields.get(name)
        return None if not source else blank_to_na(raw[source])

    order = column("order_id")
    order_text = texts(order)
    refusals.add(order_text.isna().to_numpy(), "no order id", order)
    key = order_text.fillna("")
    # Order-level fields are often filled on an order's first row only (Shopify): spread them.
    level = {name: spread(column(name), key) for name in
             ("order_date", "customer_id", "email", "name", "country", "status", "refund_amount", "cancelled_at",
              "currency")}
    status = level["status"]
    excluded = np.zeros(n, dtype=bool)
    if status is not None and mapping.excluded_statuses:
        values = {s.lower() for s in mapping.excluded_statuses}
        excluded = per_unique(status, lambda s: s is not None and str(s).strip().lower() in values) \
            .fillna(False).to_numpy(dtype=bool)
        report.rows_excluded_status = int((excluded & ~refusals.bad).sum())

    dates, with_offset = parse_dates(level["order_date"], zone, mapping.fields["order_date"])
    report.dates_with_offset = int(with_offset.sum())
    refusals.add(dates.isna().to_numpy(), "not a date", level["order_date"])

    quantity_raw = column("quantity")
    if quantity_raw is None:
        quantity = pd.Series(1.0, index=raw.index)
    else:
        quantity = numbers(quantity_raw)
        refusals.add(quantity.isna().to_numpy(), "quantity is not a number", quantity_raw)
        refusals.add((quantity.notna() & (quantity % 1 != 0)).to_numpy(), "quantity is not a whole number",
                     quantity_raw)
        refusals.add((quantity == 0).to_numpy(), "quantity is zero", quantity_raw)
    if mapping.fields.get("unit_price"):
        price_raw = column("unit_price")
        price = numbers(price_raw)
        refusals.add(price.isna().to_numpy(), "price is not a number", price_raw)
        amount = quantity * price
    else:
        price_raw = column("line_amount")
        amount = numbers(price_raw)
        refusals.add(amount.isna().to_numpy(), "amount is not a number", price_raw)
        price = amount / quantity.where(quantity != 0)
    if not mapping.fields.get("unit_price"):
        # A negative amount is a return: negative quantity, positive unit price.
        sign = np.where((amount < 0).to_numpy(), -1.0, 1.0)
        quantity = pd.Series(np.abs(quantity.to_numpy()) * sign, index=raw.index)
        price = price.abs()
    report.negative_prices = int(((price < 0).to_numpy() & ~refusals.bad & ~excluded).sum())

    customer = _customers(level["customer_id"], level["email"])
    identity = "customer_id" if mapping.fields.get("customer_id") else "email"
    code = column("product_code")
    name = column("product_name")
    code_text = texts(code) if code is not None else pd.Series(None, index=raw.index, dtype=object)
    name_text = texts(name) if name is not None else code_text.copy()
    code_text = code_text.fillna(name_text).fillna(ORDER_CODE)
    country = texts(level["country"]) if level["country"] is not None else \
        pd.Series(None, index=raw.index, dtype=object)
    for what, values in (("order id", order_text), ("product code", code_text), ("customer id", customer),
                         ("country", country)):
        limit = MAX_TEXT_LENGTH[{"order id": "invoice", "product code": "stock_code",
                                 "customer id": "customer_id", "country": "country"}[what]]
        refusals.add((values.str.len().fillna(0) > limit - 1).to_numpy(),
                     f"{what} longer than {limit - 1} characters", values)
    name_text = name_text.where(name_text.str.len().fillna(0) <= MAX_TEXT_LENGTH["description"],
                                name_text.str.slice(0, MAX_TEXT_LENGTH["description"]))

    local_today = today if today is not None else (
        pd.Timestamp.now(tz=zone).tz_localize(None) if zone is not None else pd.Timestamp.now())
    future = (dates > local_today).to_numpy()
    report.future_dates = int((future & ~refusals.bad).sum())
    refusals.add(future, "date in the future", level["order_date"])

    keep = ~refusals.bad & ~excluded
    report.rows_refused = int(refusals.bad.sum())
    report.refused_by_reason = refusals.counts
    report.refused_examples = refusals.examples()
    invoice = order_text.where(~((quantity < 0).to_numpy() & ~order_text.fillna("").str.startswith(
        CANCELLATION_PREFIX).to_numpy()), CANCELLATION_PREFIX + order_text.fillna(""))
    lines = pd.DataFrame({
        "invoice": invoice, "stock_code": code_text, "description": name_text,
        "quantity": quantity, "invoice_date": dates, "unit_price": price,
        "customer_id": customer, "country": country,
    }).loc[keep]
    refunds = _refund_lines(mapping, level, key, dates, customer, country, keep, zone)
    report.refund_lines_added = len(refunds)
    if not refunds.empty:
        lines = pd.concat([lines, refunds], ignore_index=True)
    report.rows_mapped = int(keep.sum())
    if lines.empty:
        reasons = "; ".join(f"{reason}: {count:,}" for reason, count in refusals.counts.items()) or "none"
        first = refusals.examples()[:3]
        shown = "; ".join(f"row {e['row']} {e['reason']} ({e['value']!r})" for e in first)
        raise LoadError(
            f"The mapping gives no valid line: {n:,} rows read, {report.rows_refused:,} refused ({reasons})"
            f"{', ' + str(report.rows_excluded_status) + ' left out by status' if report.rows_excluded_status else ''}"
            f"{'; e.g. ' + shown if shown else ''}. Nothing was imported.")
    lines["quantity"] = lines["quantity"].astype("int64")
    canonical = parse_table(RawTable(lines.reset_index(drop=True), "", header_rows=0),
                            {c: c for c in CANONICAL_COLUMNS}, zone)
    report.duplicates = int(canonical.duplicated().sum())
    report.customers_without_id = int(canonical["customer_id"].isna().sum())
    report.currency_doubts = _currency_doubts(level["currency"], keep, currency)
    report.time_zone_doubts = _zone_doubts(report, n, zone, dates[keep])
    contacts = _contacts(customer, level["email"], level["name"], keep)
    canonical.attrs["source"] = {"name": raw.attrs.get("name", ""), "layout": mapping.layout,
                                 "rows": n, "mapping": mapping.to_json(),
                                 "dates_with_offset": report.dates_with_offset,
                                 **({} if zone is None else {"time_zone": zone.key})}
    return MappedLog(canonical, contacts, report, identity)


def load_mapped(source: Source, mapping: ColumnMapping | None = None, *, filename: str | None = None,
                time_zone: str | None = None, currency: str | None = None) -> MappedLog:
    """:func:`read_table` then :func:`apply_mapping` (the proposed mapping when none is given)."""
    raw = read_table(source, filename)
    return apply_mapping(raw, mapping or propose_mapping(list(raw.columns)), time_zone, currency=currency)


# --------------------------------------------------------------------------
# helpers


def _customers(customer_id: pd.Series | None, email: pd.Series | None) -> pd.Series:
    """The customer id: the shop's number, else the e-mail in lower case; None for guests."""
    out = None
    if customer_id is not None:
        out = texts(customer_id)
        out = out.where(~out.fillna("").str.lower().isin(NO_CUSTOMER_VALUES))
        out = out.str.replace(r"\.0+$", "", regex=True)
    if email is not None:
        mail = texts(email).str.lower()
        out = mail if out is None else out.fillna(mail)
    return out.astype(object).where(out.notna(), None)


def _refund_lines(mapping, level, key, dates, customer, country, keep, zone) -> pd.DataFrame:
    """One return line per order with a positive refunded amount (see the module)."""
    amounts = level["refund_amount"]
    if amounts is None:
        return pd.DataFrame()
    values = numbers(amounts)
    frame = pd.DataFrame({"order": key, "refund": values, "date": dates, "customer": customer,
                          "country": country})
    if level["cancelled_at"] is not None:
        cancelled, _ = parse_dates(level["cancelled_at"], zone, mapping.fields["cancelled_at"])
        frame["cancelled"] = cancelled
    else:
        frame["cancelled"] = pd.Series(pd.NaT, index=key.index, dtype="datetime64[us]")
    frame = frame.loc[keep]
    orders = frame.groupby("order", sort=False).agg(refund=("refund", "max"), date=("date", "min"),
                                                    cancelled=("cancelled", "first"),
                                                    customer=("customer", "first"), country=("country", "first"))
    orders = orders.loc[orders["refund"] > 0]
    if orders.empty:
        return pd.DataFrame()
    when = orders["cancelled"].where(orders["cancelled"].notna() & (orders["cancelled"] >= orders["date"]),
                                     orders["date"])
    return pd.DataFrame({
        "invoice": CANCELLATION_PREFIX + orders.index.astype(str), "stock_code": REFUND_CODE,
        "description": "Refund (order-level refunded amount)", "quantity": -1,
        "invoice_date": when.astype("datetime64[us]").to_numpy(), "unit_price": orders["refund"].to_numpy(),
        "customer_id": orders["customer"].to_numpy(), "country": orders["country"].to_numpy(),
    })


def _currency_doubts(values: pd.Series | None, keep: np.ndarray, currency: str | None) -> list[str]:
    if values is None:
        return [] if currency is None else [
            f"The file has no currency column: its amounts are taken to be {currency}, the tenant's currency."]
    codes = texts(values[keep]).dropna().str.upper().value_counts()
    doubts = []
    if len(codes) > 1:
        doubts.append(f"The file mixes currencies ({', '.join(f'{c}: {n:,} rows' for c, n in codes.items())}); "
                      "amounts are not converted.")
    if currency is not None and len(codes) and set(codes.index) != {currency.upper()}:
        doubts.append(f"The file's currency is {', '.join(codes.index)} but the tenant's is {currency}: "
                      "amounts are shown as they are, not converted.")
    return doubts


def _zone_doubts(report: QualityReport, n: int, zone, dates: pd.Series) -> list[str]:
    doubts = []
    if 0 < report.dates_with_offset < n:
        doubts.append(f"{report.dates_with_offset:,} of {n:,} times carry a UTC offset and the others do not: the "
                      f"others are taken as shop-local ({zone.key if zone else 'no time zone'}).")
    elif report.dates_with_offset and zone is not None:
        doubts.append(f"Times carry UTC offsets; they were converted to the shop's time zone {zone.key}.")
    if len(dates) and bool((dates == dates.dt.normalize()).all()):
        doubts.append("Every time is midnight: the file has dates without times, so hour-of-day figures are empty.")
    return doubts


def _contacts(customer: pd.Series, email: pd.Series | None, name: pd.Series | None, keep: np.ndarray
              ) -> pd.DataFrame:
    frame = pd.DataFrame({"customer_id": customer, "email": None if email is None else texts(email),
                          "name": None if name is None else texts(name)}).loc[keep]
    frame = frame.dropna(subset=["customer_id"])
    frame = frame.loc[frame["email"].notna() | frame["name"].notna()]
    return frame.drop_duplicates("customer_id", keep="last").reset_index(drop=True)


def available_layouts() -> list[str]:
    """Names of the known layouts."""
    return list(LAYOUTS)
