"""Order-export layouts: the fields a shop's file can give and the known layouts.

A *field* is what the package needs from a column (an order id, a date, a price
...); a *layout* names the column that gives each field in one kind of export,
recognised by its header, with the rule its refunds follow.  Column mapping
itself (proposal, correction, applying it) is :mod:`analytics.mapping`.

Known layouts (public documentation of the exports; the synthetic samples of
:func:`render_layout` follow them):

* ``Online Retail`` / ``Online Retail II`` - the UCI files; the canonical layout.
* ``Shopify orders`` - *Orders > Export*: one row per line item; order-level
  columns (``Email``, ``Financial Status``, ``Refunded Amount``, ``Cancelled at``,
  ``Billing Country`` ...) are filled on the order's first row only.
* ``WooCommerce orders`` - the *Customer / Order CSV Export* "one row per item"
  format (``order_id``, ``order_date``, ``status``, ``billing_email``,
  ``item_sku``, ``item_quantity``, ``item_total``, ``refunded_total`` ...).
* ``generic`` - one row per order: ``order_id``, ``customer_id``, ``order_date``,
  ``amount`` (optional ``country``, ``email``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .schema import CANCELLATION_PREFIX

#: field -> (label shown to an admin, what it means).
FIELDS: dict[str, tuple[str, str]] = {
    "order_id": ("Order id", "order or invoice number; lines of one order share it (required)"),
    "order_date": ("Order date-time", "when the order was placed, shop-local or with a UTC offset (required)"),
    "quantity": ("Quantity", "units on the line; 1 when not given; negative on a return line"),
    "unit_price": ("Unit price", "price of one unit, in the shop's currency"),
    "line_amount": ("Line amount", "quantity x unit price; used when there is no unit price"),
    "customer_id": ("Customer id", "the shop's customer number"),
    "email": ("Customer e-mail", "identifies the customer when there is no customer id (personal data)"),
    "name": ("Customer name", "personal data: stored only if the tenant opts in"),
    "country": ("Country", "customer's or billing country"),
    "product_code": ("Product code", "SKU / stock code"),
    "product_name": ("Product name", "description of the product"),
    "refund_amount": ("Refunded amount", "order-level amount refunded (nets as one return line)"),
    "cancelled_at": ("Cancelled at", "date-time of cancellation; the refunded amount nets on it"),
    "status": ("Order status", "status text; some values mean the order was never a sale"),
    "currency": ("Currency", "ISO 4217 code of the amounts, checked against the tenant's currency"),
}

#: At least one field of each group must be mapped.
REQUIRED_GROUPS: tuple[tuple[str, ...], ...] = (
    ("order_id",), ("order_date",), ("unit_price", "line_amount"), ("customer_id", "email"),
)

#: Returns rule of a layout without an order-level refund amount.
RULE_RETURN_LINES = (
    "Refunds are their own lines: an invoice starting with 'C', or a negative quantity or amount, is a return "
    "line; it nets against revenue on its own date and is never an order."
)
RULE_REFUNDED_AMOUNT = (
    "The export gives only an order-level refunded amount ({refund}), without a refund date. It nets as one "
    "return line of that amount on the order's cancellation date ({cancelled}) when it has one, else on the "
    "order date ({date}). Orders whose {status} is {excluded} were never sales and are left out."
)


@dataclass(frozen=True)
class Layout:
    """A known export layout: field -> column, the columns that identify it, its statuses."""

    name: str
    columns: dict[str, str]
    signature: frozenset[str]
    excluded_statuses: frozenset[str] = frozenset()
    notes: str = ""
    text_columns: tuple[str, ...] = field(default=())

    def returns_rule(self) -> str:
        return returns_rule(self.columns, self.excluded_statuses)


def returns_rule(columns: dict[str, str | None], excluded: frozenset[str] | set[str] = frozenset()) -> str:
    """The returns rule, in words, of a mapping (field -> column)."""
    if not columns.get("refund_amount"):
        rule = RULE_RETURN_LINES
        if columns.get("status") and excluded:
            rule += f" Orders whose {columns['status']!r} is {_or(excluded)} were never sales and are left out."
        return rule
    return RULE_REFUNDED_AMOUNT.format(
        refund=repr(columns["refund_amount"]),
        cancelled=repr(columns["cancelled_at"]) if columns.get("cancelled_at") else "not in this export",
        date=repr(columns.get("order_date")),
        status=repr(columns["status"]) if columns.get("status") else "status",
        excluded=_or(excluded) if excluded else "(none listed)",
    )


def _or(values) -> str:
    values = sorted(values)
    return " or ".join(repr(v) for v in values)


LAYOUTS: dict[str, Layout] = {
    layout.name: layout for layout in (
        Layout("Online Retail", {
            "order_id": "InvoiceNo", "product_code": "StockCode", "product_name": "Description",
            "quantity": "Quantity", "order_date": "InvoiceDate", "unit_price": "UnitPrice",
            "customer_id": "CustomerID", "country": "Country"},
            frozenset({"InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"})),
        Layout("Online Retail II", {
            "order_id": "Invoice", "product_code": "StockCode", "product_name": "Description",
            "quantity": "Quantity", "order_date": "InvoiceDate", "unit_price": "Price",
            "customer_id": "Customer ID", "country": "Country"},
            frozenset({"Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Customer ID"})),
        Layout("canonical", {
            "order_id": "invoice", "product_code": "stock_code", "product_name": "description",
            "quantity": "quantity", "order_date": "invoice_date", "unit_price": "unit_price",
            "customer_id": "customer_id", "country": "country"},
            frozenset({"invoice", "stock_code", "quantity", "invoice_date", "unit_price", "customer_id"})),
        Layout("Shopify orders", {
            "order_id": "Name", "email": "Email", "status": "Financial Status", "order_date": "Created at",
            "quantity": "Lineitem quantity", "product_name": "Lineitem name", "unit_price": "Lineitem price",
            "product_code": "Lineitem sku", "name": "Billing Name", "country": "Billing Country",
            "refund_amount": "Refunded Amount", "cancelled_at": "Cancelled at", "currency": "Currency"},
            frozenset({"Name", "Created at", "Lineitem quantity", "Lineitem price"}),
            excluded_statuses=frozenset({"voided"}),
            notes="Shopify's export has no customer number: the e-mail identifies the customer."),
        Layout("WooCommerce orders", {
            "order_id": "order_id", "order_date": "order_date", "status": "status",
            "customer_id": "customer_id", "email": "billing_email", "name": "billing_first_name",
            "country": "billing_country", "product_name": "item_name", "product_code": "item_sku",
            "quantity": "item_quantity", "line_amount": "item_total", "refund_amount": "refunded_total",
            "currency": "order_currency"},
            frozenset({"order_id", "order_date", "item_quantity", "item_total"}),
            excluded_statuses=frozenset({"cancelled", "failed", "pending", "checkout-draft"}),
            notes="WooCommerce guests have customer_id 0: the e-mail identifies them."),
        Layout("generic", {
            "order_id": "order_id", "customer_id": "customer_id", "order_date": "order_date",
            "line_amount": "amount", "country": "country", "email": "email"},
            frozenset({"order_id", "customer_id", "order_date", "amount"}),
            notes="One row per order: each order is one line of product 'ORDER'."),
    )
}

#: Values of a customer-id column that mean "no customer" (WooCommerce guests are 0).
NO_CUSTOMER_VALUES = frozenset({"0", "guest", "none", "null", "n/a", "-"})


def known_layout(header: list[object]) -> Layout | None:
    """The known layout whose identifying columns are all in ``header`` (most specific first)."""
    present = {str(h).strip() for h in header}
    matches = [layout for layout in LAYOUTS.values() if layout.signature <= present]
    if not matches:
        return None
    return max(matches, key=lambda layout: len(layout.signature))


# --------------------------------------------------------------------------
# synthetic samples of each layout (tests, documentation)


def render_layout(lines: pd.DataFrame, layout: str, time_zone: str = "Europe/London") -> pd.DataFrame:
    """Canonical cleaned ``lines`` written as a file of ``layout`` would hold them.

    For tests and examples: the same orders, customers and net revenue in another
    export's shape.  ``lines`` must be cleaned (no duplicates, no non-product
    lines).  Shopify and WooCommerce have no return invoices: each return
    invoice becomes the order-level refunded amount of its customer's latest
    earlier order without one (Shopify: with ``Cancelled at`` = the return's
    time; WooCommerce: on the order date); a return that finds no such order is
    dropped, and ``result.attrs["dropped_returns"]`` lists its invoices.
    Shopify times carry the UTC offset of ``time_zone``; the others are naive.
    The generic layout sums each order to one row.  Customer ids become e-mails
    ``c<id>@example.com`` where the layout identifies customers by e-mail.
    """
    lines = lines.reset_index(drop=True)
    invoice = lines["invoice"].astype(str)
    is_return = invoice.str.startswith(CANCELLATION_PREFIX).to_numpy()
    customer = lines["customer_id"].astype(object).where(lines["customer_id"].notna(), None)
    email = customer.map(lambda c: f"c{c}@example.com" if isinstance(c, str) else None)
    amount = lines["quantity"].to_numpy() * lines["unit_price"].to_numpy()
    if layout in ("Online Retail", "Online Retail II", "canonical"):
        columns = LAYOUTS[layout].columns
        out = pd.DataFrame({
            columns["order_id"]: invoice, columns["product_code"]: lines["stock_code"].astype(str),
            columns["product_name"]: lines["description"].astype(object),
            columns["quantity"]: lines["quantity"].to_numpy(),
            columns["order_date"]: lines["invoice_date"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            columns["unit_price"]: lines["unit_price"].to_numpy(),
            columns["customer_id"]: customer, columns["country"]: lines["country"].astype(str),
        })
        return out
    if layout == "generic":
        frame = pd.DataFrame({"order_id": invoice, "customer_id": customer, "date": lines["invoice_date"],
                              "amount": amount, "country": lines["country"].astype(str)})
        grouped = frame.groupby("order_id", sort=False, dropna=False).agg(
            customer_id=("customer_id", "first"), order_date=("date", "min"), amount=("amount", "sum"),
            country=("country", "first"))
        grouped["order_date"] = grouped["order_date"].dt.strftime("%Y-%m-%d %H:%M:%S")
        return grouped.reset_index()[["order_id", "customer_id", "order_date", "amount", "country"]]
    sales = lines.loc[~is_return]
    refunds, dropped = _attach_returns(lines, is_return, amount)
    order_no = sales["invoice"].astype(str)
    first = ~order_no.duplicated().to_numpy()
    refund = order_no.map(refunds["amount"].to_dict()).astype("float64").where(first)
    refund_time = pd.to_datetime(order_no.map(refunds["time"].to_dict())).where(first)
    cust = customer[~is_return]
    mail = email[~is_return]
    if layout == "Shopify orders":
        def stamp(values: pd.Series) -> pd.Series:
            aware = pd.DatetimeIndex(values).tz_localize(time_zone, ambiguous=False, nonexistent="shift_forward")
            return pd.Series(aware.strftime("%Y-%m-%d %H:%M:%S %z"), index=values.index).where(values.notna())

        out = pd.DataFrame({
            "Name": "#" + order_no, "Email": mail.where(first),
            "Financial Status": np.where(refund.notna(), "partially_refunded", "paid"),
            "Paid at": stamp(sales["invoice_date"]).where(first),
            "Currency": np.where(first, "GBP", None),
            "Created at": stamp(sales["invoice_date"]),
            "Lineitem quantity": sales["quantity"].to_numpy(),
            "Lineitem name": sales["description"].astype(object).to_numpy(),
            "Lineitem price": sales["unit_price"].to_numpy(),
            "Lineitem sku": sales["stock_code"].astype(str).to_numpy(),
            "Billing Name": mail.where(first).map(lambda m: None if not isinstance(m, str) else m.split("@")[0]),
            "Billing Country": sales["country"].astype(str).where(first),
            "Cancelled at": stamp(pd.to_datetime(refund_time)),
            "Refunded Amount": refund.fillna(0.0).where(first),
        })
        out["Financial Status"] = out["Financial Status"].where(first)
        out.attrs["dropped_returns"] = dropped
        return out.reset_index(drop=True)
    if layout == "WooCommerce orders":
        out = pd.DataFrame({
            "order_id": order_no.to_numpy(), "order_number": order_no.to_numpy(),
            "order_date": sales["invoice_date"].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
            "status": np.where(refund.notna(), "refunded", "completed"),
            "order_currency": "GBP", "refunded_total": refund.fillna(0.0).to_numpy(),
            "customer_id": cust.map(lambda c: c if isinstance(c, str) else "0").to_numpy(),
            "billing_first_name": mail.map(lambda m: m.split("@")[0] if isinstance(m, str) else "").to_numpy(),
            "billing_email": mail.to_numpy(), "billing_country": sales["country"].astype(str).to_numpy(),
            "item_name": sales["description"].astype(object).to_numpy(),
            "item_sku": sales["stock_code"].astype(str).to_numpy(),
            "item_quantity": sales["quantity"].to_numpy(),
            "item_total": amount[~is_return],
        })
        out.attrs["dropped_returns"] = dropped
        return out
    raise ValueError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")


def _attach_returns(lines: pd.DataFrame, is_return: np.ndarray, amount: np.ndarray
                    ) -> tuple[pd.DataFrame, list[str]]:
    """Each return invoice -> (order it refunds, amount, time); see :func:`render_layout`."""
    sales = lines.loc[~is_return]
    orders = (sales.assign(invoice=sales["invoice"].astype(str), customer=sales["customer_id"].astype(object))
              .groupby("invoice", sort=False).agg(customer=("customer", "first"), time=("invoice_date", "min")))
    returns = (lines.loc[is_return].assign(value=-amount[is_return], invoice=lines.loc[is_return, "invoice"]
                                           .astype(str), customer=lines.loc[is_return, "customer_id"].astype(object))
               .groupby("invoice", sort=False).agg(customer=("customer", "first"), time=("invoice_date", "min"),
                                                   value=("value", "sum")).sort_values("time"))
    taken: dict[str, tuple[float, pd.Timestamp]] = {}
    dropped: list[str] = []
    by_customer = {c: g.sort_values("time") for c, g in orders.groupby("customer", sort=False)}
    for number, row in returns.iterrows():
        candidates = by_customer.get(row["customer"])
        chosen = None
        if candidates is not None:
            earlier = candidates[candidates["time"] < row["time"]]
            for order_no in reversed(earlier.index.tolist()):
                if order_no not in taken:
                    chosen = order_no
                    break
        if chosen is None:
            dropped.append(str(number))
            continue
        taken[chosen] = (float(row["value"]), row["time"])
    table = pd.DataFrame({"amount": {k: v[0] for k, v in taken.items()},
                          "time": {k: v[1] for k, v in taken.items()}})
    if table.empty:
        table = pd.DataFrame({"amount": pd.Series(dtype=float), "time": pd.Series(dtype="datetime64[us]")})
    return table, dropped


def normalise(name: object) -> str:
    """Header name without case, spaces and punctuation (``Customer ID`` = ``customer_id``)."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())
