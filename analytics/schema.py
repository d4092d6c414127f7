"""The canonical transaction schema and the source layouts that map onto it.

Every loader output and every function of this package speaks the canonical
schema: one row per invoice line.

=============  ==============  ====================================================
column         dtype           meaning
=============  ==============  ====================================================
invoice        category (str)  invoice number; a leading ``C`` marks a cancellation
stock_code     category (str)  product code (upper-cased, stripped)
description    category (str)  product name as given (may be missing)
quantity       int32 / int64   units; negative on cancellation lines
invoice_date   datetime64[us]  timestamp of the invoice (naive, shop-local time)
unit_price     float64         price per unit, in the shop's currency
customer_id    category (str)  customer number as text ("17850"); missing = guest
country        category (str)  customer's country as given ("Unspecified" if empty)
=============  ==============  ====================================================
"""
from __future__ import annotations

import pandas as pd

CANONICAL_COLUMNS: tuple[str, ...] = (
    "invoice",
    "stock_code",
    "description",
    "quantity",
    "invoice_date",
    "unit_price",
    "customer_id",
    "country",
)

#: Source column name -> canonical name, per accepted layout.  The canonical
#: layout itself is accepted too, so stored datasets round-trip.
LAYOUTS: dict[str, dict[str, str]] = {
    "Online Retail": {
        "InvoiceNo": "invoice",
        "StockCode": "stock_code",
        "Description": "description",
        "Quantity": "quantity",
        "InvoiceDate": "invoice_date",
        "UnitPrice": "unit_price",
        "CustomerID": "customer_id",
        "Country": "country",
    },
    "Online Retail II": {
        "Invoice": "invoice",
        "StockCode": "stock_code",
        "Description": "description",
        "Quantity": "quantity",
        "InvoiceDate": "invoice_date",
        "Price": "unit_price",
        "Customer ID": "customer_id",
        "Country": "country",
    },
    "canonical": {name: name for name in CANONICAL_COLUMNS},
}

#: Columns that may be empty; an empty value anywhere else is an error.
OPTIONAL_COLUMNS: frozenset[str] = frozenset({"description", "customer_id", "country"})

#: What an empty country becomes.
UNKNOWN_COUNTRY = "Unspecified"

#: Derived columns that cleaning adds to the canonical ones.
LINE_REVENUE = "revenue"  # quantity * unit_price; negative for returns
LINE_IS_RETURN = "is_return"  # line belongs to a cancellation invoice

CANCELLATION_PREFIX = "C"


def empty_transactions() -> pd.DataFrame:
    """A zero-row frame with the canonical columns and dtypes."""
    return pd.DataFrame(
        {
            "invoice": pd.Categorical([]),
            "stock_code": pd.Categorical([]),
            "description": pd.Categorical([]),
            "quantity": pd.Series([], dtype="int32"),
            "invoice_date": pd.Series([], dtype="datetime64[us]"),
            "unit_price": pd.Series([], dtype="float64"),
            "customer_id": pd.Categorical([]),
            "country": pd.Categorical([]),
        }
    )
