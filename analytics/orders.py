"""Orders: the unit that frequency, recency, cohorts and the CLV models count.

An order is a distinct non-cancellation invoice of the cleaned log (see
:mod:`analytics.cleaning`).  Its date is the invoice timestamp, its value the
gross revenue of its lines (returns are separate events and net against
customer revenue, not against the order they cancel, which the data does not
link).
"""
from __future__ import annotations

import pandas as pd

from .schema import LINE_IS_RETURN, LINE_REVENUE


def order_table(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per order, guests' included.

    Columns: ``invoice`` (str), ``customer_id`` (str, missing for guests),
    ``invoice_date``, ``country`` (str), ``revenue`` (gross, currency),
    ``quantity`` (units), ``lines`` (line count).  Sorted by date, then invoice.
    """
    sales = lines.loc[~lines[LINE_IS_RETURN]]
    grouped = sales.groupby(sales["invoice"].cat.codes.rename("_code"), sort=False)
    orders = grouped.agg(
        customer_id=("customer_id", "first"),
        invoice_date=("invoice_date", "min"),
        country=("country", "first"),
        revenue=(LINE_REVENUE, "sum"),
        quantity=("quantity", "sum"),
        lines=("quantity", "size"),
    )
    orders.insert(0, "invoice", sales["invoice"].cat.categories[orders.index].astype("str"))
    for column in ("customer_id", "country"):
        orders[column] = orders[column].astype("str").where(orders[column].notna())
    return orders.sort_values(["invoice_date", "invoice"], kind="stable").reset_index(drop=True)


def customer_orders(lines: pd.DataFrame) -> pd.DataFrame:
    """:func:`order_table` restricted to identified customers."""
    orders = order_table(lines)
    return orders.loc[orders["customer_id"].notna()].reset_index(drop=True)


def customer_net_revenue(lines: pd.DataFrame) -> pd.Series:
    """Net revenue (sales minus returns) per customer id, currency units."""
    known = lines.loc[lines["customer_id"].notna()]
    revenue = known.groupby("customer_id", observed=True)[LINE_REVENUE].sum()
    revenue.index = revenue.index.astype("str")
    return revenue


def invoice_table(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per invoice, orders *and* returns (e.g. a customer's history).

    Columns: ``invoice`` (str), ``customer_id`` (str, missing for guests),
    ``invoice_date`` (earliest line), ``country`` (str), ``is_return`` (bool:
    a cancellation invoice), ``revenue`` (sum of the lines: gross value of an
    order, negative refunded value of a return; currency), ``quantity`` (units,
    negative for returns), ``lines`` (line count).  Sorted by date, then invoice.
    For orders alone the rows equal :func:`order_table`'s.
    """
    columns = ["invoice", "customer_id", "invoice_date", "country", "is_return", "revenue", "quantity", "lines"]
    if lines.empty:
        return pd.DataFrame({c: pd.Series([], dtype="bool" if c == "is_return" else "object") for c in columns})
    invoice = lines["invoice"].astype("str")
    grouped = lines.groupby(invoice.rename("_invoice"), sort=False, observed=True)
    table = grouped.agg(
        customer_id=("customer_id", "first"),
        invoice_date=("invoice_date", "min"),
        country=("country", "first"),
        is_return=(LINE_IS_RETURN, "first"),
        revenue=(LINE_REVENUE, "sum"),
        quantity=("quantity", "sum"),
        lines=("quantity", "size"),
    )
    table.insert(0, "invoice", table.index.astype("str"))
    for column in ("customer_id", "country"):
        table[column] = table[column].astype("str").where(table[column].notna())
    table["is_return"] = table["is_return"].astype(bool)
    return table.sort_values(["invoice_date", "invoice"], kind="stable").reset_index(drop=True)[columns]
