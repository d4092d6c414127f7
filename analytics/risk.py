"""Valuable customers at risk, and whether P(alive) and the churn model agree.

**Valuable customers at risk** (:func:`valuable_at_risk`, rule :data:`VALUABLE_AT_RISK_RULE`):

* *valuable*: in the top :data:`VALUE_SHARE` (20 %) of customers by net revenue
  (sales minus returns) over the last :data:`VALUE_DAYS` (365) days before the
  snapshot, among customers with positive net revenue in that window;
* *at risk relative to this shop*: churn probability at least
  :data:`RISK_MULTIPLE` (2) x the shop's base rate (the churn rate observed at the
  model's evaluation cut-off, else the mean churn probability), **or** overdue
  against their own rhythm: days since their last purchase day more than
  :data:`OVERDUE_MULTIPLE` (2) x their mean gap between purchase days (customers
  with at least two purchase days).

Fixed absolute bands would empty the list, because valuable customers churn
less.  The list is ranked by net revenue at risk = churn probability x net
12-month CLV (currency, net basis).  When nobody is selected the result says why.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .btyd import purchase_days
from .dates import as_day, require_shop_local
from .schema import LINE_IS_RETURN, LINE_REVENUE

VALUE_SHARE = 0.20
VALUE_DAYS = 365
RISK_MULTIPLE = 2.0
OVERDUE_MULTIPLE = 2.0
#: Spearman correlation of (1 - P(alive)) and churn probability below this is flagged as disagreement.
AGREEMENT_MIN = 0.3
VALUABLE_AT_RISK_RULE = (
    f"Top {VALUE_SHARE:.0%} of customers by net revenue (sales minus returns) over the last {VALUE_DAYS} days, "
    f"whose churn probability is at least {RISK_MULTIPLE:g} x the shop's base churn rate, or who are overdue: "
    f"more than {OVERDUE_MULTIPLE:g} x their own mean gap between purchase days since their last one. "
    "Ranked by net revenue at risk (churn probability x net 12-month CLV).")
COLUMNS = ("net_revenue_last_365d", "churn_probability", "relative_risk", "days_since_last_purchase",
           "mean_gap_days", "overdue", "net_clv_12m", "net_revenue_at_risk", "selected_because")


@dataclass(frozen=True)
class ValuableAtRisk:
    """``customers``: the list (index customer_id, :data:`COLUMNS`), ranked; ``reason``
    says why it is empty (None otherwise)."""

    customers: pd.DataFrame
    rule: str
    base_rate: float
    risk_threshold: float
    value_threshold: float  # net revenue over the window at the top-20 % cut (currency)
    n_valuable: int
    reason: str | None

    @property
    def net_revenue_at_risk(self) -> float:
        return float(self.customers["net_revenue_at_risk"].sum())

    def to_dict(self) -> dict:
        return {"rule": self.rule, "base_rate": self.base_rate, "risk_threshold": self.risk_threshold,
                "value_threshold_net": self.value_threshold, "valuable_customers": self.n_valuable,
                "customers": len(self.customers), "net_revenue_at_risk": self.net_revenue_at_risk,
                "reason": self.reason}


def net_revenue_window(lines: pd.DataFrame, snapshot_date, days: int = VALUE_DAYS) -> pd.Series:
    """Net revenue (sales minus returns, currency) per customer over ``[snapshot - days, snapshot)``."""
    require_shop_local(lines)
    snapshot = as_day(snapshot_date, "snapshot_date")
    keep = ((lines["invoice_date"] >= snapshot - pd.Timedelta(days=days)) & (lines["invoice_date"] < snapshot)
            & lines["customer_id"].notna())
    window = lines.loc[keep]
    return (window[LINE_REVENUE].groupby(window["customer_id"].astype("str")).sum()
            .rename("net_revenue_last_365d").rename_axis("customer_id"))


def purchase_rhythm(lines: pd.DataFrame, snapshot_date) -> pd.DataFrame:
    """Per customer: ``days_since_last_purchase`` (from the last purchase day to the snapshot)
    and ``mean_gap_days`` between purchase days (NaN with one purchase day)."""
    snapshot = as_day(snapshot_date, "snapshot_date")
    days = purchase_days(lines.loc[~lines[LINE_IS_RETURN]] if LINE_IS_RETURN in lines.columns else lines,
                         end=snapshot)
    grouped = days.groupby("customer_id")["day"]
    first, last, n = grouped.min(), grouped.max(), grouped.size()
    return pd.DataFrame({"days_since_last_purchase": (snapshot - last).dt.days.astype(float),
                         "mean_gap_days": np.where(n > 1, (last - first).dt.days / (n - 1).clip(lower=1), np.nan)},
                        index=pd.Index(last.index.astype("str"), name="customer_id"))


def valuable_at_risk(lines: pd.DataFrame, snapshot_date, scores: pd.DataFrame,
                     base_rate: float | None = None) -> ValuableAtRisk:
    """The valuable customers at risk (module docstring), ranked by net revenue at risk.

    ``scores``: per customer ``churn_probability`` and ``net_clv_12m`` (e.g.
    :func:`analytics.churn.score_customers`); ``base_rate``: the shop's churn
    rate (e.g. ``ChurnModel.churn_rate_eval``), else the mean churn probability.
    """
    revenue = net_revenue_window(lines, snapshot_date)
    positive = revenue[revenue > 0]
    base = float(scores["churn_probability"].mean()) if base_rate is None else float(base_rate)
    threshold = RISK_MULTIPLE * base
    if positive.empty:
        empty = pd.DataFrame(columns=list(COLUMNS), index=pd.Index([], dtype="str", name="customer_id"))
        return ValuableAtRisk(empty, VALUABLE_AT_RISK_RULE, base, threshold, value_threshold=float("nan"),
                              n_valuable=0,
                              reason=f"No customer has positive net revenue in the last {VALUE_DAYS} days.")
    rank = positive.rank(ascending=False, method="min") / len(positive)
    valuable = positive[rank <= VALUE_SHARE]
    cut = float(valuable.min())
    table = valuable.to_frame().join(scores[["churn_probability", "net_clv_12m"]], how="left")
    table = table.join(purchase_rhythm(lines, snapshot_date), how="left")
    table["relative_risk"] = table["churn_probability"] / base if base > 0 else np.nan
    table["overdue"] = table["days_since_last_purchase"] > OVERDUE_MULTIPLE * table["mean_gap_days"]
    risky = table["churn_probability"] >= threshold
    overdue = table["overdue"].fillna(False).astype(bool)
    table["selected_because"] = np.where(risky & overdue, "churn risk and overdue",
                                         np.where(risky, "churn risk", "overdue"))
    table["net_revenue_at_risk"] = table["churn_probability"] * table["net_clv_12m"]
    chosen = table.loc[risky | overdue, list(COLUMNS)].sort_values(
        ["net_revenue_at_risk", "net_revenue_last_365d"], ascending=False, na_position="last")
    reason = None
    if chosen.empty:
        top = table["churn_probability"].max()
        reason = (f"None of the {len(valuable)} valuable customers (net revenue of at least {cut:,.2f} in the last "
                  f"{VALUE_DAYS} days) has a churn probability of at least {threshold:.0%} "
                  f"({RISK_MULTIPLE:g} x the base rate {base:.0%}; the highest among them is "
                  f"{top:.0%}) or is overdue against their own purchase rhythm.")
    return ValuableAtRisk(chosen, VALUABLE_AT_RISK_RULE, base, threshold, value_threshold=cut,
                          n_valuable=len(valuable), reason=reason)


def p_alive_churn_agreement(p_alive: pd.Series, churn_probability: pd.Series, informative: bool,
                            repeat: pd.Series | None = None) -> dict:
    """Spearman rank correlation of (1 - P(alive)) with churn probability over common customers.

    ``repeat`` (boolean per customer): restrict to repeat customers (BG/NBD puts
    P(alive) = 1 for every one-time buyer by construction).  ``disagree`` is True
    when the correlation is below :data:`AGREEMENT_MIN`; when P(alive) is not
    informative (no dropout found) nothing is computed and ``note`` says why.
    """
    if not informative:
        return {"spearman": None, "customers": 0, "disagree": None,
                "note": "Not computed: the purchase model finds no dropout, so P(alive) carries no information."}
    if repeat is not None:
        p_alive = p_alive[repeat.reindex(p_alive.index, fill_value=False).astype(bool)]
    both = pd.concat([1 - p_alive.rename("a"), churn_probability.rename("b")], axis=1, join="inner").dropna()
    if len(both) < 3 or both["a"].nunique() < 2 or both["b"].nunique() < 2:
        return {"spearman": None, "customers": len(both), "disagree": None,
                "note": "Not computed: too few customers or no variation."}
    rho = float(spearmanr(both["a"], both["b"]).statistic)
    disagree = rho < AGREEMENT_MIN
    who = "repeat customers" if repeat is not None else "customers"
    note = (f"P(alive) and the churn model rank {who} {'differently' if disagree else 'alike'} "
            f"(Spearman {rho:.2f} between 1 - P(alive) and churn probability, {len(both)} {who}).")
    return {"spearman": rho, "customers": len(both), "disagree": disagree, "note": note}
