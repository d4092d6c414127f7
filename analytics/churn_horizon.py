"""The churn horizon H: how long a silence is unusual, from gaps corrected for censoring.

A *gap* is the number of days between two consecutive purchase days of a
customer.  Gaps still running at a cut-off (days from a customer's last
purchase day to the cut-off) are *censored*: cut short, not finished.  Taking
percentiles of finished gaps only biases H towards short gaps; the
Kaplan-Meier estimator (:func:`kaplan_meier`) uses both.

Many gaps never end (customers who left), so the Kaplan-Meier distribution
function F levels off below 1.  H is the day by which :data:`QUANTILE` (90 %)
of the gaps that do end within the observed range have ended:
the smallest t with F(t) >= 0.9 x F(t_max), t_max the longest finished gap.

**No look-ahead** (:func:`churn_horizon`): H must come from gaps observed
before T - H (T the snapshot), which depends on H.  Starting from the longest
usable horizon h_0 = span / 3 (two horizons plus as much history), we iterate
h_{k+1} = H(gaps before T - h_k) while it strictly decreases and stop at the
first h_k whose estimate is not shorter; H = h_k.  Every step looked only at
data before T - h_j with h_j >= H, so nothing on or after T - H enters.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .btyd import purchase_days
from .dates import as_day, require_shop_local
from .errors import InsufficientDataError

QUANTILE = 0.9
HORIZON_RULE = ("Kaplan-Meier estimate of the gaps between purchase days observed before the evaluation "
                f"cut-off (running gaps censored): the day by which {QUANTILE:.0%} of the gaps that end have "
                "ended")


def kaplan_meier(durations: np.ndarray, observed: np.ndarray) -> pd.DataFrame:
    """Kaplan-Meier survival of ``durations`` (``observed`` False = censored there).

    One row per distinct event time (ascending): ``time``, ``at_risk`` (durations
    >= time), ``events``, ``survival`` = prod over event times <= time of (1 - events / at_risk).
    """
    durations = np.asarray(durations, dtype=float)
    observed = np.asarray(observed, dtype=bool)
    times = np.unique(durations[observed])
    ordered = np.sort(durations)
    at_risk = len(ordered) - np.searchsorted(ordered, times, side="left")
    events = np.bincount(np.searchsorted(times, durations[observed]), minlength=len(times))
    survival = np.cumprod(1.0 - events / at_risk)
    return pd.DataFrame({"time": times, "at_risk": at_risk, "events": events, "survival": survival})


def gaps_before(lines: pd.DataFrame, cutoff: pd.Timestamp, orders=None) -> tuple[np.ndarray, np.ndarray]:
    """Gaps (days) between purchase days before ``cutoff`` and each customer's running gap
    to the cut-off (censored).  Returns (durations, observed).  ``orders``: the log's
    :class:`analytics.churn_features.OrdersBefore`, if built."""
    days = purchase_days(lines if orders is None else orders.before(cutoff), end=cutoff)
    customer = days["customer_id"].to_numpy()
    day = days["day"].to_numpy().astype("datetime64[D]").astype("int64")
    same = customer[1:] == customer[:-1]
    finished = np.diff(day)[same]
    last = np.r_[~same, True]
    cut = int(np.datetime64(cutoff, "D").astype("int64"))
    running = cut - day[last]
    return np.r_[finished, running].astype(float), np.r_[np.ones(len(finished), bool), np.zeros(len(running), bool)]


def km_horizon(lines: pd.DataFrame, cutoff: pd.Timestamp, quantile: float = QUANTILE, orders=None) -> int:
    """H from the gaps observed before ``cutoff`` (module docstring), whole days >= 1."""
    durations, observed = gaps_before(lines, cutoff, orders)
    if not observed.any():
        raise InsufficientDataError(
            f"Nobody bought on two different days before {cutoff.date()}, so there is no gap between purchases "
            "to derive a churn horizon from; give horizon_days explicitly.")
    km = kaplan_meier(durations, observed)
    cdf = 1.0 - km["survival"].to_numpy()
    target = quantile * cdf[-1]
    return max(1, int(round(float(km["time"].to_numpy()[np.argmax(cdf >= target - 1e-12)]))))


def churn_horizon(lines: pd.DataFrame, snapshot_date: str | pd.Timestamp, quantile: float = QUANTILE,
                  max_steps: int = 25, orders=None) -> tuple[int, list[int]]:
    """H without look-ahead (module docstring).  Returns H and the visited h_k (days).
    ``orders``: the log's :class:`analytics.churn_features.OrdersBefore`, if built."""
    require_shop_local(lines)
    snapshot = as_day(snapshot_date, "snapshot_date")
    dates = lines.loc[lines["customer_id"].notna(), "invoice_date"]
    if dates.empty:
        raise InsufficientDataError("No identified customer bought anything; no churn horizon.")
    span = (snapshot - dates.min().normalize()).days
    h = max(1, span // 3)
    path = [h]
    for _ in range(max_steps):
        nxt = km_horizon(lines, snapshot - pd.Timedelta(days=h), quantile, orders)
        if nxt >= h:
            break
        h = nxt
        path.append(h)
    return h, path
