"""Product recommendations: co-purchase rules and item-to-item similarity.

* :func:`association_rules` -- for ordered product pairs A -> B over the
  orders (non-cancellation invoices, guests' included):
  ``support`` = share of orders containing both, ``confidence`` = P(B | A) =
  orders with both / orders with A, ``lift`` = confidence / support(B) (> 1:
  bought together more often than by chance).  Computed from the sparse
  orders x products incidence matrix X as X^T X.
* :func:`recommend_products` -- for each customer, the top-N products they
  have not bought, scored by the summed cosine similarity between each
  candidate and the products they bought (item-based collaborative
  filtering on the customers x products "ever bought" matrix, each product
  keeping its :data:`NEIGHBOURS` most similar products).  Slots without a
  positive score (new customers, exotic baskets) are filled with the most
  popular products (most distinct buyers) they have not bought.
* :func:`evaluate_recommendations` -- hit rate at k on held-out time.

Everything is sparse linear algebra; no Python loop runs over orders or
customers (customers are scored in batches of :data:`BATCH` rows).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from .dates import as_day, require_shop_local
from .errors import InsufficientDataError
from .schema import LINE_IS_RETURN

NEIGHBOURS = 100
BATCH = 2048


@dataclass(frozen=True)
class RecommendationEvaluation:
    """Hit rate at k of :func:`recommend_products` vs the popularity baseline.

    Customers evaluated: bought before ``calibration_end`` and bought at least
    one product *new to them* in ``[calibration_end, snapshot_date)``; products
    first sold in the holdout are left out (neither method can know them).  A
    hit: at least one of the k recommended products is among those new products.
    ``precision`` = mean share of the k recommendations that were bought,
    ``recall`` = mean share of the new products that were recommended.
    """

    k: int
    holdout_days: int
    calibration_end: pd.Timestamp
    snapshot_date: pd.Timestamp
    n_customers: int
    hit_rate: float
    popularity_hit_rate: float
    precision: float
    popularity_precision: float
    recall: float
    popularity_recall: float

    def to_dict(self) -> dict:
        out = dict(self.__dict__)
        out["calibration_end"], out["snapshot_date"] = (self.calibration_end.isoformat(),
                                                        self.snapshot_date.isoformat())
        return out


def association_rules(lines: pd.DataFrame, min_support: float = 0.01, top: int | None = 100) -> pd.DataFrame:
    """Item-to-item rules A -> B with pair support >= ``min_support`` (share of orders).

    Columns: ``antecedent``, ``consequent`` (stock codes), their descriptions,
    ``orders`` (orders with both), ``support``, ``confidence``, ``lift``,
    ``antecedent_support``, ``consequent_support``; sorted by lift, then
    support (descending), then codes; the first ``top`` rows (all if None).
    """
    if not 0 < min_support <= 1:
        raise ValueError("min_support must be in (0, 1]")
    sales = lines.loc[~lines[LINE_IS_RETURN].to_numpy()]
    X, _, products = _incidence(sales["invoice"], sales["stock_code"])
    n_orders = X.shape[0]
    if n_orders == 0:
        raise InsufficientDataError("No orders: association rules need at least one order.")
    item_count = np.asarray(X.sum(axis=0)).ravel()
    keep = np.flatnonzero(item_count >= min_support * n_orders)  # a pair is never more frequent
    X = X[:, keep]
    pairs = sparse.triu(X.T @ X, k=1).tocoo()
    frequent = pairs.data >= min_support * n_orders
    i, j, both = keep[pairs.row[frequent]], keep[pairs.col[frequent]], pairs.data[frequent].astype(float)
    a, c, n_ac = np.r_[i, j], np.r_[j, i], np.r_[both, both]  # both directions
    support_a, support_c = item_count[a] / n_orders, item_count[c] / n_orders
    confidence = n_ac / item_count[a]
    names = _descriptions(sales)
    rules = pd.DataFrame({
        "antecedent": products[a].astype("str"), "consequent": products[c].astype("str"),
        "antecedent_description": names.reindex(products[a]).to_numpy(),
        "consequent_description": names.reindex(products[c]).to_numpy(),
        "orders": n_ac.astype("int64"), "support": n_ac / n_orders, "confidence": confidence,
        "lift": confidence / support_c, "antecedent_support": support_a, "consequent_support": support_c,
    })
    rules = rules.sort_values(["lift", "support", "antecedent", "consequent"],
                              ascending=[False, False, True, True], ignore_index=True)
    return rules if top is None else rules.head(top)


def recommend_products(lines: pd.DataFrame, customer_ids=None, n: int = 10,
                       snapshot_date: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Top-``n`` products per customer among those they have not bought.

    Uses customers' sales lines (before ``snapshot_date`` if given).
    ``customer_ids``: whom to recommend to (default: every customer with a
    purchase); unknown ids get the popularity fallback.  Returns one row per
    recommendation: ``customer_id``, ``rank`` (1 = best), ``stock_code``,
    ``description``, ``score`` (summed cosine similarity; for popularity
    fills, the share of customers who bought the product) and ``source``
    ("similar" or "popular").
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    sales = _customer_sales(lines, snapshot_date)
    U, customers, products = _incidence(sales["customer_id"], sales["stock_code"])
    if U.shape[0] == 0:
        raise InsufficientDataError("No customer purchases: nothing to recommend from.")
    wanted = customers if customer_ids is None else pd.Index(pd.unique(pd.Index(customer_ids).astype("str")))
    rows = customers.get_indexer(wanted)
    U_wanted = sparse.vstack([U, sparse.csr_matrix((1, U.shape[1]))]).tocsr()[np.where(rows >= 0, rows, -1)]
    items, scores, similar = _top_n(U_wanted, _item_similarity(U), _popularity(U), n)
    names = _descriptions(sales)
    valid = items >= 0
    owner = np.repeat(np.arange(len(wanted)), n).reshape(-1, n)
    rank = np.tile(np.arange(1, n + 1), (len(wanted), 1))
    codes = products.to_numpy(dtype=object)[np.where(valid, items, 0)]
    return pd.DataFrame({
        "customer_id": wanted.to_numpy(dtype=object)[owner[valid]], "rank": rank[valid].astype("int64"),
        "stock_code": codes[valid], "description": names.reindex(codes[valid]).to_numpy(),
        "score": scores[valid], "source": np.where(similar[valid], "similar", "popular"),
    })


def evaluate_recommendations(lines: pd.DataFrame, snapshot_date: str | pd.Timestamp,
                             holdout_days: int = 90, k: int = 10) -> RecommendationEvaluation:
    """Recommend from the purchases before ``snapshot - holdout_days``; check the holdout.

    See :class:`RecommendationEvaluation` for who is evaluated and the metrics;
    the baseline recommends the k most popular products (most distinct buyers
    in the calibration period) the customer has not bought.
    """
    snapshot = as_day(snapshot_date, "snapshot_date")
    cal_end = snapshot - pd.Timedelta(days=int(holdout_days))
    sales = _customer_sales(lines, snapshot)
    before = (sales["invoice_date"] < cal_end).to_numpy()
    U, customers, products = _incidence(sales.loc[before, "customer_id"], sales.loc[before, "stock_code"])
    held = sales.loc[~before]
    rows = customers.get_indexer(held["customer_id"].astype("str"))
    cols = products.get_indexer(held["stock_code"].astype("str"))
    ok = (rows >= 0) & (cols >= 0)  # calibration customers; products unseen before cannot be hit
    H = sparse.csr_matrix((np.ones(ok.sum()), (rows[ok], cols[ok])), shape=U.shape)
    H.data[:] = 1.0
    new = (H - H.multiply(U)).tocsr()  # bought in the holdout, not before
    new.eliminate_zeros()
    n_new = np.asarray(new.sum(axis=1)).ravel()
    who = np.flatnonzero(n_new > 0)
    if len(who) == 0:
        raise InsufficientDataError(
            f"No customer with purchases before {cal_end.date()} bought a product new to them in the "
            f"{holdout_days} holdout days; recommendations cannot be evaluated.")
    U_who, new_who = U[who], new[who]
    model_items, _, _ = _top_n(U_who, _item_similarity(U), _popularity(U), k)
    popular_items, _, _ = _top_n(U_who, None, _popularity(U), k)
    results = {}
    for name, items in (("model", model_items), ("popular", popular_items)):
        R = _as_matrix(items, U.shape[1])
        hits = np.asarray(R.multiply(new_who).sum(axis=1)).ravel()
        results[name] = (float((hits > 0).mean()), float((hits / k).mean()), float((hits / n_new[who]).mean()))
    return RecommendationEvaluation(
        k=k, holdout_days=int(holdout_days), calibration_end=cal_end, snapshot_date=snapshot,
        n_customers=len(who), hit_rate=results["model"][0], popularity_hit_rate=results["popular"][0],
        precision=results["model"][1], popularity_precision=results["popular"][1],
        recall=results["model"][2], popularity_recall=results["popular"][2])


def _customer_sales(lines: pd.DataFrame, snapshot_date) -> pd.DataFrame:
    require_shop_local(lines)
    mask = ~lines[LINE_IS_RETURN].to_numpy() & lines["customer_id"].notna().to_numpy()
    if snapshot_date is not None:
        mask &= (lines["invoice_date"] < as_day(snapshot_date, "snapshot_date")).to_numpy()
    return lines.loc[mask]


def _incidence(rows: pd.Series, cols: pd.Series) -> tuple[sparse.csr_matrix, pd.Index, pd.Index]:
    """Binary rows x cols matrix (float64) with the row and column labels (str, sorted)."""
    r, row_labels = pd.factorize(rows.astype("str"), sort=True)
    c, col_labels = pd.factorize(cols.astype("str"), sort=True)
    matrix = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(row_labels), len(col_labels)))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix, pd.Index(row_labels, dtype="str"), pd.Index(col_labels, dtype="str")


def _item_similarity(U: sparse.csr_matrix, neighbours: int = NEIGHBOURS) -> sparse.csr_matrix:
    """Cosine similarity of products over customers, diagonal 0, top ``neighbours`` per row."""
    n_items = U.shape[1]
    norm = np.sqrt(np.asarray(U.sum(axis=0)).ravel())
    inv = np.where(norm > 0, 1.0 / np.where(norm > 0, norm, 1.0), 0.0)
    Ut = U.T.tocsr()
    keep = min(neighbours, max(n_items - 1, 1))
    blocks = []
    for start in range(0, n_items, 1024):  # dense blocks of product rows, not a loop over customers
        stop = min(start + 1024, n_items)
        block = (Ut[start:stop] @ U).toarray() * inv[start:stop, None] * inv[None, :]
        block[np.arange(stop - start), np.arange(start, stop)] = 0.0
        if keep < n_items:
            cut = np.partition(block, n_items - keep, axis=1)[:, n_items - keep][:, None]
            block[block < cut] = 0.0
        blocks.append(sparse.csr_matrix(block, dtype=np.float32))
    return sparse.vstack(blocks).tocsr() if blocks else sparse.csr_matrix((0, 0), dtype=np.float32)


def _popularity(U: sparse.csr_matrix) -> np.ndarray:
    """Share of customers who bought each product."""
    return np.asarray(U.sum(axis=0)).ravel() / max(U.shape[0], 1)


def _top_n(U: sparse.csr_matrix, S: sparse.csr_matrix | None, popularity: np.ndarray,
           n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of U: the n best unbought products (-1 where fewer exist), their scores
    and whether they came from similarity (True) or popularity (False)."""
    n_rows, n_items = U.shape
    items = np.full((n_rows, n), -1, dtype=np.int64)
    scores = np.zeros((n_rows, n))
    similar = np.zeros((n_rows, n), dtype=bool)
    # popularity fills rank below any positive similarity: mapped into (-1, 0)
    fill = popularity / (popularity.max() + 1.0) - 1.0 if n_items else popularity
    take = min(n, n_items)
    for start in range(0, n_rows, BATCH):
        stop = min(start + BATCH, n_rows)
        bought = U[start:stop].toarray() > 0
        score = (U[start:stop] @ S).toarray() if S is not None else np.zeros(bought.shape)
        rank = np.where(score > 0, score, fill[None, :])
        rank[bought] = -np.inf
        best = np.argpartition(-rank, take - 1, axis=1)[:, :take] if take < n_items else \
            np.tile(np.arange(n_items), (stop - start, 1))
        order = np.argsort(-np.take_along_axis(rank, best, axis=1), axis=1, kind="stable")
        best = np.take_along_axis(best, order, axis=1)
        chosen = np.take_along_axis(rank, best, axis=1)
        valid = np.isfinite(chosen)
        items[start:stop, :take] = np.where(valid, best, -1)
        from_similarity = np.take_along_axis(score, best, axis=1) > 0
        scores[start:stop, :take] = np.where(from_similarity, np.take_along_axis(score, best, axis=1),
                                             popularity[best])
        similar[start:stop, :take] = from_similarity & valid
    return items, scores, similar


def _as_matrix(items: np.ndarray, n_items: int) -> sparse.csr_matrix:
    rows = np.repeat(np.arange(items.shape[0]), items.shape[1])
    flat = items.ravel()
    ok = flat >= 0
    return sparse.csr_matrix((np.ones(ok.sum()), (rows[ok], flat[ok])), shape=(items.shape[0], n_items))


def _descriptions(lines: pd.DataFrame) -> pd.Series:
    """Most frequent description per stock code (str index)."""
    named = lines.loc[lines["description"].notna().to_numpy()]
    pairs = pd.DataFrame({"code": named["stock_code"].astype("str").to_numpy(),
                          "description": named["description"].astype("str").to_numpy()})
    counts = pairs.groupby(["code", "description"]).size().sort_values(ascending=False, kind="stable")
    best = counts.reset_index().drop_duplicates("code")
    return pd.Series(best["description"].to_numpy(), index=pd.Index(best["code"], dtype="str"))
