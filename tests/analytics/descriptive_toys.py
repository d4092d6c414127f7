"""Tiny transaction logs for the descriptive-analytics tests, built through the real
loader and :func:`clean_transactions`, with the figures worked out by hand in the
comments; and where the UCI files live.  Fixtures are in ``conftest.py``."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from analytics import clean_transactions, load_transactions
from analytics.cleaning import CleanedLog

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
ONLINE_RETAIL = SHARED_DATA / "online_retail.parquet"
ONLINE_RETAIL_II = SHARED_DATA / "online_retail_ii.parquet"

COLUMNS = ["invoice", "stock_code", "description", "quantity", "invoice_date", "unit_price", "customer_id", "country"]


def toy_csv(rows) -> bytes:
    """Canonical-layout CSV bytes of ``rows`` (tuples in :data:`COLUMNS` order)."""
    return pd.DataFrame(rows, columns=COLUMNS).to_csv(index=False).encode()


def make_log(rows, snapshot_date=None) -> CleanedLog:
    """Load ``rows`` through the CSV loader and clean them."""
    return clean_transactions(load_transactions(toy_csv(rows), filename="toy.csv"), snapshot_date)


# --- the RFM toy -----------------------------------------------------------------
# Default snapshot: 2011-03-01 (the day after the last line, B's order of 02-28).
#   A: 1001 (01-10: 2x5 + 1x3 = 13), return C1002 (01-15: -5), 1003 (02-27: 2x3 = 6)
#      -> recency 2, frequency 2, monetary 14, tenure 50, United Kingdom
#   B: 1004 (02-28 17:00: 4x5 = 20) -> recency 1, frequency 1, monetary 20, tenure 1, France
#   C: 1005 (01-05, Germany: 10x3 = 30), 1006 (02-20, France: 1x5 = 5)
#      -> recency 9, frequency 2, monetary 35, tenure 55, France (latest order)
#   D: only a return C1008 (02-01: -5) -> not a customer
#   guest: 1009 (02-15: 1x5 = 5)
RFM_ROWS = [
    ("1001", "P1", "Apple", 2, "2011-01-10 10:00", 5.0, "A", "United Kingdom"),
    ("1001", "P2", "Bowl", 1, "2011-01-10 10:00", 3.0, "A", "United Kingdom"),
    ("C1002", "P1", "Apple", -1, "2011-01-15 09:00", 5.0, "A", "United Kingdom"),
    ("1003", "P2", "Bowl", 2, "2011-02-27 09:00", 3.0, "A", "United Kingdom"),
    ("1004", "P1", "Apple", 4, "2011-02-28 17:00", 5.0, "B", "France"),
    ("1005", "P2", "Bowl", 10, "2011-01-05 11:00", 3.0, "C", "Germany"),
    ("1006", "P1", "Apple", 1, "2011-02-20 11:00", 5.0, "C", "France"),
    ("C1008", "P1", "Apple", -1, "2011-02-01 12:00", 5.0, "D", "United Kingdom"),
    ("1009", "P1", "Apple", 1, "2011-02-15 12:00", 5.0, "", "United Kingdom"),
]
RFM_SNAPSHOT = pd.Timestamp("2011-03-01")
RFM_EXPECTED = pd.DataFrame(
    {
        "recency": [2, 1, 9],
        "frequency": [2, 1, 2],
        "monetary": [14.0, 20.0, 35.0],
        "tenure": [50, 1, 55],
        "country": ["United Kingdom", "France", "France"],
    },
    index=pd.Index(["A", "B", "C"], dtype="str", name="customer_id"),
)



# --- the cohort toy ----------------------------------------------------------------
# Snapshot 2011-04-01; every order is one unit at 10.
#   cohort 2011-01: J1 (Jan, Feb, Mar), J2 (Jan, Mar)
#   cohort 2011-02: F1 (Feb, Mar), F2 (Feb), F3 (Feb; a return of 10 in Mar)
#   cohort 2011-03: M1 (Mar)
def _order(no, day, customer, quantity=1, country="United Kingdom"):
    return (str(no), "P1", "Apple", quantity, f"{day} 10:00", 10.0, customer, country)


COHORT_ROWS = [
    _order(2001, "2011-01-05", "J1"), _order(2002, "2011-02-05", "J1"), _order(2003, "2011-03-05", "J1"),
    _order(2004, "2011-01-31", "J2"), _order(2005, "2011-03-01", "J2"),
    _order(2006, "2011-02-01", "F1"), _order(2007, "2011-03-31", "F1"),
    _order(2008, "2011-02-10", "F2"),
    _order(2009, "2011-02-11", "F3"), _order("C2010", "2011-03-02", "F3", quantity=-1),
    _order(2011, "2011-03-15", "M1"),
]
COHORT_SNAPSHOT = pd.Timestamp("2011-04-01")



# --- the migration toy -------------------------------------------------------------
# Previous date P = 2011-03-01, snapshot S = 2011-03-31 (lookback 30 days).
# Before P, U1..U5 have 1..5 orders, their last on 01-01, 01-10, 01-20, 02-01, 02-20:
# recency and frequency both rank them U1 < ... < U5, so (5 distinct values) their
# scores are r = f = 1..5: Lost, Hibernating, Need Attention, Loyal Customers, Champions.
# In [P, S): U1 orders 5 times (last 03-20), new customer N once (03-10), U3 returns 10.
# At S (6 customers, scores by rank 1..6 = 1, 2, 3, 3, 4, 5):
#   frequency U1 6, U2 2, U3 3, U4 4, U5 5, N 1 -> f: U1 5, U2 2, U3 3, U4 3, U5 4, N 1
#   recency   U1 11, N 21, U5 39, U4 58, U3 70, U2 80 -> r: U1 5, N 4, U5 3, U4 3, U3 2, U2 1
#   U1 55 Champions, U2 12 Hibernating, U3 23 At Risk, U4 33 Need Attention,
#   U5 34 Loyal Customers, N 41 Promising.
MIGRATION_PREVIOUS = pd.Timestamp("2011-03-01")
MIGRATION_SNAPSHOT = pd.Timestamp("2011-03-31")
MIGRATION_EXPECTED = {
    "U1": ("Lost", "Champions", 50.0),
    "U2": ("Hibernating", "Hibernating", 0.0),
    "U3": ("Need Attention", "At Risk", -10.0),
    "U4": ("Loyal Customers", "Need Attention", 0.0),
    "U5": ("Champions", "Loyal Customers", 0.0),
    "N": ("Not yet a customer", "Promising", 10.0),
}


def _migration_rows():
    history = {
        "U1": ["2011-01-01"],
        "U2": ["2010-12-01", "2011-01-10"],
        "U3": ["2010-12-01", "2010-12-15", "2011-01-20"],
        "U4": ["2010-11-01", "2010-12-01", "2010-12-15", "2011-02-01"],
        "U5": ["2010-11-01", "2010-11-15", "2010-12-01", "2011-01-15", "2011-02-20"],
    }
    window = {"U1": ["2011-03-02", "2011-03-05", "2011-03-10", "2011-03-15", "2011-03-20"], "N": ["2011-03-10"]}
    rows, number = [], 3000
    for customer, days in list(history.items()) + list(window.items()):
        for day in days:
            number += 1
            rows.append(_order(number, day, customer))
    rows.append(_order("C3999", "2011-03-12", "U3", quantity=-1))
    rows.append(_order(3998, "2011-04-05", "U2"))  # after the snapshot: ignored
    return rows


MIGRATION_ROWS = _migration_rows()
