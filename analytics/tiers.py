"""Cumulative CLV tiers: "top 10%" means rank within the top 10 % (so it holds the top 1 %).

A customer's ``clv_tier`` column holds the *narrowest* tier they belong to
(top 1% / top 10% / top 20% / rest); :func:`in_tier` is the filter: a customer
is "in top 10%" when their narrowest tier is top 1% or top 10%.  Rank: by
value, descending, ties sharing the best rank (``method="min"``); a customer is
in a tier when rank / customers <= the tier's share.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: The tiers as data: label and the share of customers (by rank) it covers, narrowest first.
CLV_TIERS: pd.DataFrame = pd.DataFrame({"tier": ["top 1%", "top 10%", "top 20%"], "share": [0.01, 0.10, 0.20]})
REST = "rest"
TIER_ORDER: tuple[str, ...] = tuple(CLV_TIERS["tier"]) + (REST,)
#: (label, share) pairs, for callers that iterate.
TIER_CUTS: tuple[tuple[str, float], ...] = tuple(CLV_TIERS.itertuples(index=False, name=None))


def clv_tiers(value: pd.Series) -> pd.Series:
    """Narrowest tier per customer of ``value`` (e.g. ``net_clv_12m``); NaN values are "rest"."""
    n = int(value.notna().sum())
    share = value.rank(ascending=False, method="min") / max(n, 1)
    tier = np.full(len(value), REST, dtype=object)
    for label, cut in reversed(TIER_CUTS):  # widest first, narrower ones overwrite
        tier[(share <= cut).to_numpy()] = label
    return pd.Series(pd.Categorical(tier, categories=list(TIER_ORDER)), index=value.index, name="clv_tier")


def in_tier(tiers: pd.Series, tier: str) -> pd.Series:
    """Boolean filter: customers within ``tier`` cumulatively ("top 10%" includes "top 1%";
    "rest" selects only the rest)."""
    if tier not in TIER_ORDER:
        raise ValueError(f"tier must be one of {TIER_ORDER}, got {tier!r}")
    if tier == REST:
        return tiers.astype("object") == REST
    allowed = TIER_ORDER[:TIER_ORDER.index(tier) + 1]
    return tiers.astype("object").isin(allowed)


def tier_counts(tiers: pd.Series) -> dict[str, int]:
    """Customers per tier, cumulative (top 10% counts the top 1%); "rest" on its own."""
    return {label: int(in_tier(tiers, label).sum()) for label in TIER_ORDER}
