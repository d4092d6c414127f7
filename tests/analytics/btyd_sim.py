"""Simulated order tables from the BTYD models, at day resolution (test helper).

Each customer enters at a uniform day in [0, ``entry``) with a first purchase,
then buys as a Poisson process of rate lambda ~ Gamma(r, alpha) (per day):

* "bgnbd": after each repeat purchase drops out with probability p ~ Beta(a, b);
* "mbgnbd": also at the first purchase;
* "pnbd": dies after an Exp(mu) lifetime, mu ~ Gamma(s, beta);
* "nbd": never drops out.

Purchase values: Gamma-Gamma with (p, q, v) = ``spend``.  Orders on the same day
merge into one purchase day, as in :mod:`analytics.btyd`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

START = pd.Timestamp("2020-01-01")


def simulate_orders(n: int, model: str, params: dict, days: int = 730, entry: int = 365, seed: int = 0,
                    spend=(6.0, 4.0, 60.0)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids, times, values = [], [], []
    for i in range(n):
        t = rng.uniform(0, entry)
        lam = rng.gamma(params["r"], 1 / params["alpha"])
        death = np.inf
        if model == "pnbd":
            death = t + rng.exponential(1 / rng.gamma(params["s"], 1 / params["beta"]))
        p = rng.beta(params["a"], params["b"]) if model in ("bgnbd", "mbgnbd") else 0.0
        nu = rng.gamma(spend[1], 1 / spend[2])
        alive = not (model == "mbgnbd" and rng.random() < p)
        ids.append(i), times.append(t), values.append(rng.gamma(spend[0], 1 / nu))
        while alive:
            t += rng.exponential(1 / lam)
            if t >= days or t >= death:
                break
            ids.append(i), times.append(t), values.append(rng.gamma(spend[0], 1 / nu))
            if p and rng.random() < p:
                alive = False
    day = np.floor(np.asarray(times)).astype("int64")
    return pd.DataFrame({"customer_id": np.asarray(ids).astype(str),
                         "invoice_date": START + pd.to_timedelta(day, unit="D"),
                         "revenue": np.asarray(values)})
