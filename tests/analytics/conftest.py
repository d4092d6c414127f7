"""Shared fixtures for the descriptive-analytics tests (data in descriptive_toys.py)."""
from __future__ import annotations

import pandas as pd
import pytest
from descriptive_toys import (
    COHORT_ROWS,
    COHORT_SNAPSHOT,
    MIGRATION_ROWS,
    ONLINE_RETAIL,
    ONLINE_RETAIL_II,
    RFM_ROWS,
    make_log,
)

from analytics import clean_transactions, load_transactions
from analytics.cleaning import CleanedLog


@pytest.fixture
def rfm_log() -> CleanedLog:
    return make_log(RFM_ROWS)


@pytest.fixture
def cohort_log() -> CleanedLog:
    return make_log(COHORT_ROWS, COHORT_SNAPSHOT)


@pytest.fixture
def migration_log() -> CleanedLog:
    # cleaned without a snapshot, so the 04-05 line is still there: functions must cut it
    return make_log(MIGRATION_ROWS)


# --- real data ---------------------------------------------------------------------
@pytest.fixture(scope="session")
def online_retail_raw() -> pd.DataFrame:
    if not ONLINE_RETAIL.exists():
        pytest.skip(reason=f"UCI Online Retail not found at {ONLINE_RETAIL}"
                    " (the public UCI data is read from ../shared/data, never copied into this repository; see ../shared/data/README)")
    return load_transactions(ONLINE_RETAIL)


@pytest.fixture(scope="session")
def online_retail_ii_raw() -> pd.DataFrame:
    if not ONLINE_RETAIL_II.exists():
        pytest.skip(reason=f"UCI Online Retail II not found at {ONLINE_RETAIL_II}"
                    " (the public UCI data is read from ../shared/data, never copied into this repository; see ../shared/data/README)")
    return load_transactions(ONLINE_RETAIL_II)


@pytest.fixture(scope="session")
def online_retail(online_retail_raw) -> CleanedLog:
    return clean_transactions(online_retail_raw)


@pytest.fixture(scope="session")
def online_retail_standard(online_retail_raw) -> pd.DataFrame:
    """The README's "standard cleaning" (customer id present, no "C" invoice,
    quantity > 0, price > 0) as cleaned lines, for the README figures."""
    raw = online_retail_raw
    keep = (
        raw["customer_id"].notna()
        & ~raw["invoice"].astype("str").str.startswith("C")
        & (raw["quantity"] > 0)
        & (raw["unit_price"] > 0)
    )
    lines = raw.loc[keep].reset_index(drop=True)
    return lines.assign(revenue=lines["quantity"] * lines["unit_price"], is_return=False)
