"""Clean a canonical transaction log, counting what every rule does.

Definitions used by the whole package (also in the README):

* **Line**: one row of the log.  Revenue of a line = quantity x unit price.
* **Return**: a line of a cancellation invoice (invoice number starting with
  ``C``).  Its quantity is negative, so its revenue is negative and nets
  against the customer's (and the business's) revenue on the day it happened.
  A cancellation invoice is never an order.
* **Order**: a distinct invoice number that is not a cancellation and has at
  least one product line left after cleaning.  Orders of guests (no customer
  id) count in business KPIs, not in customer analytics.
* **Net revenue**: sum of line revenue, sales minus returns.
* **Snapshot date**: the day at which "now" is measured (midnight at its
  start, shop-local).  Default: the day after the last invoice.  Lines on or
  after it are ignored, so a snapshot of 2011-06-01 analyses everything up to
  2011-05-31.  A snapshot with a time of day is refused, as every date
  parameter of the package is (:func:`analytics.dates.as_day`).

Rules are applied in the order of :data:`CLEANING_RULES`; a line removed by an
earlier rule is not counted again by a later one.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .dates import DateLike, as_day, day_after, require_shop_local
from .schema import CANCELLATION_PREFIX, LINE_IS_RETURN, LINE_REVENUE

#: (rule, action, definition), in the order they are applied.
CLEANING_RULES: pd.DataFrame = pd.DataFrame(
    [
        ("duplicate", "remove", "exact duplicate of an earlier line (all eight columns equal); the first is kept"),
        ("after_snapshot", "remove", "invoice dated on or after the snapshot date"),
        ("non_positive_price", "remove", "unit price zero or negative (free samples, bad-debt adjustments)"),
        ("non_product", "remove", "stock code of a non-product line (postage, fees, adjustments: NON_PRODUCT_CODES)"),
        ("invalid_quantity", "remove", "quantity zero, negative on a sale or positive on a cancellation"),
        ("no_customer", "keep", "no customer id: kept for business revenue, excluded from customer analytics"),
        ("return", "keep", "line of a cancellation invoice: nets against revenue, never an order"),
    ],
    columns=["rule", "action", "definition"],
).set_index("rule")

#: Stock codes that are not products, as regular expressions matched against
#: the whole (upper-cased) code; the codes are those of the UCI data.
NON_PRODUCT_CODES: pd.DataFrame = pd.DataFrame(
    [
        ("POST", "postage", "postage"),
        ("DOT", "postage", "dotcom postage"),
        ("C2", "postage", "carriage"),
        ("C3", "postage", "carriage"),
        ("M", "adjustment", "manual line"),
        ("ADJUST\\d*", "adjustment", "adjustment"),
        ("B", "adjustment", "adjust bad debt"),
        ("D", "discount", "discount"),
        ("S", "sample", "samples"),
        ("PADS", "sample", "pads to match all cushions (0.001 placeholder)"),
        ("BANK CHARGES", "fee", "bank charges"),
        ("AMAZONFEE", "fee", "Amazon fee"),
        ("CRUK", "fee", "CRUK commission"),
        ("TEST\\d*", "test", "test line"),
        ("GIFT_\\d+_\\d+", "voucher", "gift voucher"),
    ],
    columns=["pattern", "kind", "meaning"],
)


@dataclass(frozen=True)
class CleaningReport:
    """What cleaning did; every count is of lines unless it says otherwise."""

    rows_in: int
    removed: dict[str, int]
    rows_out: int
    rows_without_customer: int
    return_lines: int
    customers: int  # distinct customer ids with at least one order
    orders: int  # distinct orders, guests' included
    first_date: pd.Timestamp | None
    last_date: pd.Timestamp | None
    snapshot_date: pd.Timestamp
    rules: dict[str, str] = field(default_factory=lambda: CLEANING_RULES["definition"].to_dict())

    def to_dict(self) -> dict:
        """JSON-ready: timestamps as ISO strings."""
        out = asdict(self)
        for key in ("first_date", "last_date", "snapshot_date"):
            out[key] = None if out[key] is None else out[key].isoformat()
        return out


@dataclass(frozen=True)
class CleanedLog:
    """Clean lines (canonical columns + ``revenue`` + ``is_return``) and the report."""

    lines: pd.DataFrame
    report: CleaningReport

    @property
    def snapshot_date(self) -> pd.Timestamp:
        return self.report.snapshot_date

    @property
    def customer_lines(self) -> pd.DataFrame:
        """Lines of identified customers (guests dropped), for customer analytics."""
        return customer_lines(self.lines)


def default_snapshot_date(transactions: pd.DataFrame) -> pd.Timestamp:
    """The day after the last invoice (midnight), the default "now"."""
    return day_after(transactions["invoice_date"])


def clean_transactions(transactions: pd.DataFrame, snapshot_date: DateLike | None = None) -> CleanedLog:
    """Apply :data:`CLEANING_RULES` to a canonical log and add line revenue.

    ``snapshot_date``: a calendar day (:func:`analytics.dates.as_day`), default
    :func:`default_snapshot_date`.
    """
    require_shop_local(transactions)
    snapshot = (
        default_snapshot_date(transactions) if snapshot_date is None
        else as_day(snapshot_date, "snapshot_date")
    )
    removed: dict[str, int] = {}
    # Every rule after the first looks at one line at a time, so the masks are taken
    # on the whole log and the lines are copied once, not once per rule; a line
    # counts for the first rule that removes it.
    keep = np.ones(len(transactions), dtype=bool)
    for rule, mask_of in _REMOVAL_MASKS.items():
        mask = np.asarray(mask_of(transactions, snapshot), dtype=bool) & keep
        removed[rule] = int(mask.sum())
        keep &= ~mask
    lines = transactions if keep.all() else transactions.loc[keep]
    lines = lines.reset_index(drop=True)
    is_return = _is_cancellation(lines["invoice"])
    lines = lines.assign(
        **{
            LINE_REVENUE: lines["quantity"].to_numpy(dtype="float64") * lines["unit_price"].to_numpy(),
            LINE_IS_RETURN: is_return,
        }
    )
    sales = lines.loc[~is_return]
    known = sales["customer_id"].notna()
    report = CleaningReport(
        rows_in=len(transactions),
        removed=removed,
        rows_out=len(lines),
        rows_without_customer=int(lines["customer_id"].isna().sum()),
        return_lines=int(is_return.sum()),
        customers=int(sales.loc[known, "customer_id"].nunique()),
        orders=int(sales["invoice"].nunique()),
        first_date=lines["invoice_date"].min() if len(lines) else None,
        last_date=lines["invoice_date"].max() if len(lines) else None,
        snapshot_date=snapshot,
    )
    return CleanedLog(lines=lines, report=report)


def customer_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """Lines with a customer id."""
    return lines.loc[lines["customer_id"].notna()]


def lines_before(lines: pd.DataFrame, cutoff: DateLike) -> pd.DataFrame:
    """Lines dated strictly before ``cutoff`` (a calendar day: a snapshot or calibration date)."""
    require_shop_local(lines)
    mask = lines["invoice_date"] < as_day(cutoff, "cutoff")
    return lines if mask.all() else lines.loc[mask]


def non_product_mask(stock_codes: pd.Series) -> np.ndarray:
    """True where a stock code is a non-product code (see NON_PRODUCT_CODES)."""
    pattern = "|".join(f"(?:{p})" for p in NON_PRODUCT_CODES["pattern"])
    categorical = stock_codes.astype("category")
    categories = pd.Series(categorical.cat.categories, dtype="str").str.upper()
    is_fee = categories.str.fullmatch(pattern).to_numpy()
    codes = categorical.cat.codes.to_numpy()
    return np.where(codes >= 0, is_fee[np.maximum(codes, 0)], False)


def _is_cancellation(invoices: pd.Series) -> np.ndarray:
    categorical = invoices.astype("category")
    flags = pd.Series(categorical.cat.categories, dtype="str").str.startswith(CANCELLATION_PREFIX).to_numpy()
    codes = categorical.cat.codes.to_numpy()
    return np.where(codes >= 0, flags[np.maximum(codes, 0)], False)


def _duplicate_mask(lines: pd.DataFrame, _snapshot: pd.Timestamp) -> np.ndarray:
    """Exact duplicates of an earlier line: hash every row, then confirm the
    candidates with an exact comparison (hash collisions cannot remove a line)."""
    if lines.empty:
        return np.zeros(0, dtype=bool)
    hashes = pd.util.hash_pandas_object(lines, index=False).to_numpy()
    # rows whose hash occurs twice or more: found by sorting (a hash table over every
    # row is about 3x slower at 10M lines), then looked up in the few repeated hashes
    ordered = np.sort(hashes)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]  # sorted; a hash seen k times is here k - 1 times
    repeated = repeated[np.concatenate(([True], repeated[1:] != repeated[:-1]))] if len(repeated) else repeated
    candidates = pd.Index(repeated).get_indexer(hashes) >= 0 if len(repeated) else np.zeros(len(lines), bool)
    mask = np.zeros(len(lines), dtype=bool)
    if candidates.any():
        mask[np.flatnonzero(candidates)] = lines.loc[candidates].duplicated().to_numpy()
    return mask


def _after_snapshot_mask(lines: pd.DataFrame, snapshot: pd.Timestamp) -> np.ndarray:
    return (lines["invoice_date"] >= snapshot).to_numpy()


def _price_mask(lines: pd.DataFrame, _snapshot: pd.Timestamp) -> np.ndarray:
    return (lines["unit_price"] <= 0).to_numpy()


def _non_product_mask(lines: pd.DataFrame, _snapshot: pd.Timestamp) -> np.ndarray:
    return non_product_mask(lines["stock_code"])


def _quantity_mask(lines: pd.DataFrame, _snapshot: pd.Timestamp) -> np.ndarray:
    quantity = lines["quantity"].to_numpy()
    cancellation = _is_cancellation(lines["invoice"])
    return (quantity == 0) | (cancellation & (quantity > 0)) | (~cancellation & (quantity < 0))


_REMOVAL_MASKS = {
    "duplicate": _duplicate_mask,
    "after_snapshot": _after_snapshot_mask,
    "non_positive_price": _price_mask,
    "non_product": _non_product_mask,
    "invalid_quantity": _quantity_mask,
}
assert list(_REMOVAL_MASKS) == list(CLEANING_RULES.index[CLEANING_RULES["action"] == "remove"])
