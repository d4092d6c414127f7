"""Per-customer predictive intervals of 12-month purchases and net CLV, by simulation.

Each customer's future is simulated from *their own* posterior given their
history (x, t_x, T) -- not from a bootstrap of the population parameters,
which gives near-zero widths:

1. alive at the snapshot with probability P(alive | x, t_x, T);
2. if alive, their purchase rate and dropout from the posterior given alive:
   ``lambda ~ Gamma(r + x, alpha + T)`` and
   * BG/NBD: ``p ~ Beta(a, b + x)``; MBG/NBD: ``p ~ Beta(a, b + x + 1)``; they
     make purchases until one of them is their last (Geometric(p) purchases),
     so N = min(Poisson(lambda t), Geometric(p));
   * Pareto/NBD: ``mu ~ Gamma(s, beta + T)``, remaining lifetime ``tau ~
     Exp(mu)``, N = Poisson(lambda min(tau, t));
3. their mean order value from the Gamma-Gamma posterior ``nu ~ Gamma(p x +
   q, v + x m)`` and the N gross values summed (a Gamma(N p, nu) draw),
   discounted by the customer's own expected monthly discount factor and scaled
   by their net/gross ratio (net basis, as ``net_clv_12m``).

Purchase draws are made once per unique (frequency, recency, T) row; the money
draws per customer.  Interval: the 10th and 90th percentiles of the draws
(``method="inverted_cdf"``, so purchase bounds are whole numbers).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .btyd_models import unique_rows
from .clv import DAYS_PER_MONTH, ClvResult, monthly_purchases
from .model_store import pack_arrays, unpack_arrays

LEVEL = 0.80
DRAWS = 400
HORIZON_DAYS = 12 * DAYS_PER_MONTH
INTERVAL_COLUMNS = ("purchase_days_12m_low", "purchase_days_12m_high", "net_clv_12m_low", "net_clv_12m_high")


@dataclass(frozen=True)
class ClvIntervals:
    """``table`` indexed by customer_id with :data:`INTERVAL_COLUMNS` (80 % by default)."""

    table: pd.DataFrame
    level: float
    draws: int
    seed: int
    model: str

    def to_record(self, dataset_version: str | None = None) -> bytes:
        arrays = {c: self.table[c].to_numpy(dtype=float) for c in INTERVAL_COLUMNS}
        arrays["customer_id"] = self.table.index.to_numpy(dtype="U")
        return pack_arrays("clv_intervals", {"level": self.level, "draws": self.draws, "seed": self.seed,
                                             "model": self.model}, arrays, dataset_version=dataset_version)

    @classmethod
    def from_record(cls, record: bytes, dataset_version: str | None = None) -> "ClvIntervals":
        params, arrays, _ = unpack_arrays(record, "clv_intervals", dataset_version)
        index = pd.Index(arrays["customer_id"].astype(str), dtype="str", name="customer_id")
        table = pd.DataFrame({c: arrays[c] for c in INTERVAL_COLUMNS}, index=index)
        return cls(table, float(params["level"]), int(params["draws"]), int(params["seed"]), str(params["model"]))


def simulate_purchases(fit, summary: pd.DataFrame, t: float, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Repeat purchases in the next ``t`` time units: rows of ``summary`` x ``draws`` (int)."""
    x, tx, T = (summary[c].to_numpy(dtype=float)[:, None] for c in ("frequency", "recency", "T"))
    shape = (len(summary), draws)
    params = fit.params
    alive = rng.random(shape) < fit.p_alive(summary)[:, None]
    lam = rng.gamma(params["r"] + x, 1.0 / (params["alpha"] + T), size=shape)
    if fit.model == "pnbd":
        mu = rng.gamma(params["s"], 1.0 / (params["beta"] + T), size=shape)
        with np.errstate(divide="ignore", over="ignore"):
            tau = rng.exponential(1.0, size=shape) / mu
        counts = rng.poisson(lam * np.minimum(tau, t))
    else:
        extra = 1.0 if fit.model == "mbgnbd" else 0.0
        p = rng.beta(params["a"], params["b"] + x + extra, size=shape)
        p = np.clip(p, 1e-300, 1.0)
        counts = np.minimum(rng.poisson(lam * t), rng.geometric(p))
    return np.where(alive, counts, 0)


def clv_intervals(clv: ClvResult, level: float = LEVEL, draws: int = DRAWS, seed: int = 0,
                  chunk: int = 20_000) -> ClvIntervals:
    """Per-customer ``level`` intervals of repeat purchase days and net CLV over 12 months.

    Run in the background job (seconds for 100k customers).  Needs the fitted
    purchase model (``clv.fit``); without Gamma-Gamma (``clv.gamma_gamma`` None)
    the value per purchase is the population mean and only purchases vary.
    """
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    rng = np.random.default_rng(seed)
    table = clv.customers
    summary = pd.DataFrame({"frequency": table["repeat_purchase_days"].to_numpy(),
                            "recency": table["btyd_recency_days"].to_numpy(),
                            "T": table["btyd_age_days"].to_numpy()})
    uniq, inverse = unique_rows(summary)
    per_month = monthly_purchases(clv.fit, uniq, 12)
    discount = (1.0 + clv.monthly_discount) ** -np.arange(1, 13)
    total = per_month.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(total > 0, (per_month @ discount) / total, discount.mean())[inverse]
    ratio = table["net_to_gross_ratio"].to_numpy(dtype=float)
    gg = clv.gamma_gamma
    if gg is not None:
        shape_nu, rate_nu = gg.posterior_rate(summary["frequency"].to_numpy(),
                                              table["mean_repeat_purchase_value_gross"].to_numpy())
        p_gg = gg.params["p"]
    low, high = (1 - level) / 2, 1 - (1 - level) / 2
    out = np.empty((len(table), 4))
    purchase_q = np.empty((len(uniq), 2))
    for start in range(0, len(uniq), chunk):
        rows = uniq.iloc[start:start + chunk]
        counts = simulate_purchases(clv.fit, rows, HORIZON_DAYS, draws, rng)
        purchase_q[start:start + chunk] = np.quantile(counts, [low, high], axis=1, method="inverted_cdf").T
        if start == 0:
            count_draws = np.empty((len(uniq), draws), dtype=np.int16)
        count_draws[start:start + chunk] = np.minimum(counts, np.iinfo(np.int16).max)
    out[:, :2] = purchase_q[inverse]
    for start in range(0, len(table), chunk):
        idx = slice(start, start + chunk)
        n = count_draws[inverse[idx]].astype(float)
        if gg is not None:
            nu = rng.gamma(shape_nu[idx, None], 1.0 / rate_nu[idx, None], size=n.shape)
            value = np.where(n > 0, rng.gamma(np.maximum(n * p_gg, 1e-12)) / nu, 0.0)
        else:
            value = n * clv.population_mean_order_value
        money = value * (factor[idx] * ratio[idx])[:, None]
        out[idx, 2:] = np.quantile(money, [low, high], axis=1, method="inverted_cdf").T
    frame = pd.DataFrame(out, columns=list(INTERVAL_COLUMNS), index=table.index)
    return ClvIntervals(frame, level, draws, seed, clv.purchase_model)
