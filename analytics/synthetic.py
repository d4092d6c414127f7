"""Synthetic retail transaction logs in the layout of the UCI "Online Retail" data.

Generative process of :func:`generate_transactions` (time unit: days, money: the
currency of ``UnitPrice``), fully vectorised with numpy and deterministic by seed:

1. *Acquisition.* Each of ``n_customers`` makes a first purchase at a day drawn from
   a mixture of an exponential burst at the start (the existing base) and a steady
   stream, modulated by the calendar profile of step 3.
2. *Repeat purchases (BG/NBD).* Customer i has a purchase rate
   ``lambda_i ~ Gamma(shape=r, rate=alpha)`` (orders per day) and a dropout
   probability ``p_i ~ Beta(a, b)``. While active, repeat purchases form a Poisson
   process of intensity ``lambda_i * s(t)``; after each repeat purchase the customer
   becomes inactive for good with probability ``p_i`` (Fader, Hardie & Lee 2005).
3. *Calendar.* ``s(t)`` is a yearly cosine of amplitude ``seasonality`` peaking in
   mid-November times a weekday profile (office days, almost no Saturdays), both of
   mean 1, so ``lambda`` keeps its meaning of a long-run mean rate. It is applied by
   thinning. The time of day is drawn from an office-hours profile.
4. *Baskets.* An order has ``1 + NegBin`` lines (mean ``lines_mean``), products drawn
   with popularity ``(rank + zipf_offset) ** -zipf_s`` from ``n_products`` items with
   fixed code, name and log-normal unit price. Spend follows the Gamma-Gamma model: customer
   i has ``nu_i ~ Gamma(shape=spend_q, rate=spend_gamma)`` and each order a mean line
   value ``z ~ Gamma(shape=spend_p, rate=nu_i)``; a line's quantity is
   ``z * noise / UnitPrice`` snapped to a usual pack size.
5. *Noise of a real log.* Guest checkouts (``CustomerID`` NaN, own invoices),
   cancellation invoices ``"C<no>"`` with negative quantities of some lines of an
   earlier order of the same customer, non-product lines (postage, fees, manual),
   a few zero prices and exact duplicate lines.

Size: with the defaults a customer yields about 100 rows over 24 months, i.e.
~4.3 rows per customer-month (~6.4 over 12 months, ~3.4 over 36: customers are
acquired once and drop out), so 10,000 customers x 24 months give ~1M rows, about
1 s of generation. Invoice numbers start at 536365 and keep 6 digits up to
~460,000 invoices (~8M rows).

:func:`simulate_bgnbd` / :func:`simulate_bgnbd_purchases` draw the plain,
stationary BG/NBD process exactly, e.g. to check estimators such as
``lifetimes.BetaGeoFitter``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .dates import as_day

__all__ = ["COLUMNS", "SyntheticParams", "generate_transactions", "simulate_bgnbd",
           "simulate_bgnbd_purchases", "write_transactions"]

COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
           "UnitPrice", "CustomerID", "Country")

#: Markets besides ``home_country`` (dropped from here if listed), relative weights
#: about the line counts of the UCI data; they share ``1 - home_share``.
OTHER_COUNTRIES = pd.Series({
    "Germany": 9495, "France": 8557, "EIRE": 8196, "Spain": 2533, "Netherlands": 2371,
    "Belgium": 2069, "Switzerland": 2002, "Portugal": 1519, "Australia": 1259,
    "Norway": 1086, "Italy": 803, "Channel Islands": 758, "Finland": 695, "Cyprus": 622,
    "Sweden": 462, "Unspecified": 446, "Austria": 401, "Denmark": 389, "Japan": 358,
    "Poland": 341, "Israel": 297, "USA": 291, "Singapore": 229, "Iceland": 182,
    "Canada": 151, "Greece": 146, "Malta": 127, "United Arab Emirates": 68,
    "European Community": 61, "RSA": 58, "Lebanon": 45, "Lithuania": 35, "Brazil": 32,
    "United Kingdom": 5000,
}, dtype=float)

#: Product-name vocabulary: DESCRIPTION = "<ADJECTIVE> <MOTIF> <ITEM>".
ADJECTIVES = ("WHITE", "RED", "PINK", "BLUE", "GREEN", "IVORY", "BLACK", "CREAM",
              "VINTAGE", "RETRO", "REGENCY", "ANTIQUE", "SILVER", "GOLD", "JUMBO",
              "SMALL", "LARGE", "WOODEN", "GLASS", "ENAMEL", "CERAMIC", "ZINC", "FELT",
              "PAPER", "PASTEL", "SWEETHEART", "HOME SWEET HOME", "SET OF 3")
MOTIFS = ("HANGING HEART", "SPOTTY", "PAISLEY", "RETROSPOT", "POLKADOT", "STRAWBERRY",
          "CHRISTMAS", "SKULL", "ROSE", "BIRD", "DOILY", "STAR", "FLORAL", "OWL",
          "BUNTING", "SPACEBOY", "DOLLY GIRL", "WOODLAND", "ALPHABET", "CAT", "DAISY",
          "LOVE", "VICTORIAN", "FAIRY", "GINGHAM", "ORIENTAL", "PARISIENNE", "BAROQUE")
#: Item nouns and their typical (median) unit price.
ITEMS = pd.Series({
    "T-LIGHT HOLDER": 2.55, "LUNCH BAG": 1.65, "CAKE STAND": 9.95, "JAM MAKING SET": 4.25,
    "PARTY BUNTING": 4.95, "NAPKINS": 0.85, "MUG": 1.25, "TEA CUP AND SAUCER": 2.95,
    "WALL CLOCK": 8.50, "DOORMAT": 7.95, "CUSHION COVER": 3.75, "JUMBO BAG": 2.08,
    "STORAGE TIN": 3.39, "CHILDRENS APRON": 1.95, "HOT WATER BOTTLE": 4.95,
    "PHOTO FRAME": 2.55, "CANDLE": 1.25, "GIFT WRAP": 0.42, "GIFT TAGS": 0.85,
    "CHALKBOARD": 4.95, "LANTERN": 6.75, "PICNIC BASKET": 8.95, "DRAWER KNOB": 1.25,
    "COAT RACK": 9.95, "PLANTER": 3.75, "CUTLERY SET": 12.75, "FAIRY CAKE CASES": 0.55,
    "BAKING SET": 9.95, "WATER BOTTLE": 3.25, "PLAYING CARDS": 1.25, "NOTEBOOK": 1.65,
    "GARDEN MARKER": 0.85, "WALL MIRROR": 12.75, "SIDEBOARD": 29.95, "PEG BAG": 2.55,
})
#: Non-product stock codes: description, weight among such lines, median price, sigma.
NON_PRODUCTS = pd.DataFrame(
    [("POST", "POSTAGE", 0.45, 18.0, 0.3), ("DOT", "DOTCOM POSTAGE", 0.15, 120.0, 0.8),
     ("M", "Manual", 0.18, 5.0, 1.5), ("C2", "CARRIAGE", 0.06, 50.0, 0.0),
     ("BANK CHARGES", "Bank Charges", 0.03, 15.0, 0.0),
     ("AMAZONFEE", "AMAZON FEE", 0.01, 1500.0, 1.0),
     ("PADS", "PADS TO MATCH ALL CUSHIONS", 0.04, 0.0, 0.0),
     ("S", "SAMPLES", 0.04, 30.0, 1.0), ("CRUK", "CRUK Commission", 0.04, 20.0, 0.5)],
    columns=["code", "description", "weight", "price", "sigma"])
STOCK_SUFFIXES = tuple("ABCDEFGHJKLMNPS")
#: Relative order intensity Monday..Sunday and by hour of day 0..23.
WEEKDAY_WEIGHTS = np.array([1.0, 1.1, 1.15, 1.3, 0.9, 0.02, 0.6])
HOUR_WEIGHTS = np.array([0, 0, 0, 0, 0, 0, 1, 29, 555, 1393, 2226, 2276, 3129, 2637, 2275,
                         2038, 1100, 544, 169, 144, 18, 0, 0, 0], dtype=float)
PACK_SIZES = np.array([1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 18, 20, 24, 25, 30, 32, 36, 40, 48,
                       50, 60, 72, 80, 96, 100, 120, 144, 160, 192, 200, 240, 288, 300,
                       360, 400, 432, 480, 500, 576, 600, 720, 960, 1000, 1200, 1440])
SEASON_PEAK_DOY = 319  # 15 November
FIRST_INVOICE = 536365
FIRST_CUSTOMER_ID = 12346


@dataclass(frozen=True)
class SyntheticParams:
    """All knobs of :func:`generate_transactions`; the defaults give UCI-like data.

    Rates are per day; money is in the unit of ``UnitPrice``; shares are in [0, 1].
    """

    r: float = 0.75              #: Gamma shape of the purchase rate lambda (orders/day)
    alpha: float = 40.0          #: Gamma rate of lambda (days); E[lambda] = r / alpha
    a: float = 0.8               #: Beta(a, b) of the dropout probability after a repeat
    b: float = 2.5
    spend_p: float = 6.0         #: Gamma-Gamma: mean line value z ~ Gamma(p, rate=nu)
    spend_q: float = 3.5         #: nu ~ Gamma(q, rate=gamma); E[z] = p * gamma / (q - 1)
    spend_gamma: float = 15.0
    seasonality: float = 0.6     #: amplitude of the yearly cycle peaking mid-November
    n_products: int = 2000       #: catalogue size
    zipf_s: float = 1.1          #: popularity of rank k: (k + zipf_offset) ** -zipf_s
    zipf_offset: float = 10.0    #: Zipf-Mandelbrot shift; 0 gives a pure Zipf law
    home_country: str = "United Kingdom"
    home_share: float = 0.85     #: share of customers (and guest orders) at home
    cancellation_rate: float = 0.02  #: share of customer orders later (partly) cancelled
    anonymous_share: float = 0.2     #: share of lines in guest orders (no CustomerID)
    non_product_rate: float = 0.01   #: share of orders with a POST/DOT/M/... line
    duplicate_rate: float = 0.002    #: share of lines duplicated exactly
    zero_price_rate: float = 0.0005  #: share of product lines with UnitPrice 0
    lines_mean: float = 18.0         #: mean lines per order (1 + negative binomial)
    lines_dispersion: float = 1.2    #: negative-binomial size; small = heavy tail
    quantity_sigma: float = 0.6      #: log-normal noise of line value within an order
    initial_share: float = 0.35      #: share of customers in the starting burst
    initial_days: float = 30.0       #: e-folding time of that burst (days)

    def __post_init__(self) -> None:
        positive = ("r", "alpha", "a", "b", "spend_p", "spend_q", "spend_gamma",
                    "zipf_s", "lines_dispersion", "initial_days")
        shares = ("home_share", "cancellation_rate", "non_product_rate", "duplicate_rate",
                  "zero_price_rate", "initial_share")
        if any(getattr(self, k) <= 0 for k in positive):
            raise ValueError(f"parameters {positive} must be > 0")
        if any(not 0 <= getattr(self, k) <= 1 for k in shares):
            raise ValueError(f"parameters {shares} must be in [0, 1]")
        if not 0 <= self.anonymous_share < 1 or not 0 <= self.seasonality <= 1:
            raise ValueError("anonymous_share must be in [0, 1), seasonality in [0, 1]")
        if not 1 <= self.n_products <= 90_000 or self.lines_mean < 1 or self.zipf_offset < 0:
            raise ValueError("need 1 <= n_products <= 90000, lines_mean >= 1, zipf_offset >= 0")


def _group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each group of ``counts`` consecutive values."""
    c = np.cumsum(values)
    before = np.concatenate(([0.0], c))[np.cumsum(counts) - counts]
    return c - np.repeat(before, counts)


def _bgnbd_draws(n: int, T: float | np.ndarray, r: float, alpha: float, a: float,
                 b: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact BG/NBD draws: (T, repeats per customer, owner per repeat, repeat times).

    Given N ~ Poisson(lambda T) events in (0, T] and dropout after repeat K ~ Geom(p),
    the first X = min(N, K) of N uniform order statistics are ``T * S_j / (S_X + G)``
    with S_j cumulative Exp(1) sums and G ~ Gamma(N - X + 1).
    """
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = np.clip(rng.beta(a, b, n), 1e-12, 1.0)
    N = rng.poisson(lam * T)
    X = np.minimum(N, rng.geometric(p))
    owner = np.repeat(np.arange(n), X)
    S = _group_cumsum(rng.exponential(size=int(X.sum())), X)
    S_X = np.zeros(n)
    S_X[X > 0] = S[np.cumsum(X)[X > 0] - 1]
    total = S_X + rng.gamma(N - X + 1.0)
    return T, X, owner, T[owner] * S / total[owner]


def simulate_bgnbd(n_customers: int, T: float | np.ndarray, r: float, alpha: float,
                   a: float, b: float, seed: int = 0) -> pd.DataFrame:
    """Simulate the BG/NBD model; one row per customer (index ``customer_id``).

    Time is in the unit of ``1 / alpha``; ``T`` is the observation length after the
    first purchase (scalar or one per customer). Columns: ``frequency`` (number of
    repeat purchases in (0, T]), ``recency`` (time of the last purchase since the
    first, 0 without repeats) and ``T`` -- the input of ``lifetimes`` fitters.
    """
    T_, X, owner, times = _bgnbd_draws(n_customers, T, r, alpha, a, b, seed)
    recency = np.zeros(n_customers)
    recency[owner] = times  # times increase within a customer: the last one wins
    return pd.DataFrame({"frequency": X.astype(np.int64), "recency": recency, "T": T_},
                        index=pd.RangeIndex(n_customers, name="customer_id"))


def simulate_bgnbd_purchases(n_customers: int, T: float | np.ndarray, r: float,
                             alpha: float, a: float, b: float, seed: int = 0) -> pd.DataFrame:
    """The purchases behind :func:`simulate_bgnbd` (same seed, same draws).

    One row per purchase, columns ``customer_id`` and ``t`` (time since the first
    purchase, which is included with ``t == 0``), sorted by customer then time.
    """
    _, X, owner, times = _bgnbd_draws(n_customers, T, r, alpha, a, b, seed)
    cust = np.repeat(np.arange(n_customers), X + 1)
    t = np.zeros(len(cust))
    t[np.flatnonzero(np.diff(cust, prepend=-1) == 0)] = times
    return pd.DataFrame({"customer_id": cust, "t": t})


def _country_probs(params: SyntheticParams,
                   country_mix: Mapping[str, float] | pd.Series | None) -> pd.Series:
    if country_mix is not None:
        mix = pd.Series(country_mix, dtype=float)
    else:
        others = OTHER_COUNTRIES.drop(params.home_country, errors="ignore")
        mix = pd.concat([pd.Series({params.home_country: params.home_share}),
                         others / others.sum() * (1 - params.home_share)])
    if (mix < 0).any() or mix.sum() <= 0:
        raise ValueError("country weights must be >= 0 with a positive sum")
    return mix / mix.sum()


def _catalogue(rng: np.random.Generator, params: SyntheticParams
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Product codes, descriptions, unit prices and popularity (with non-products)."""
    n = params.n_products
    base = rng.choice(90_000, n, replace=False) + 10_000
    suffix = np.where(rng.random(n) < 0.12, rng.choice(STOCK_SUFFIXES, n), "")
    codes = np.char.add(base.astype(str), suffix)
    n_names = len(ADJECTIVES) * len(MOTIFS) * len(ITEMS)
    name = rng.choice(n_names, n, replace=n > n_names)
    adj, rest = np.divmod(name, len(MOTIFS) * len(ITEMS))
    motif, item = np.divmod(rest, len(ITEMS))
    desc = np.char.add(np.char.add(np.asarray(ADJECTIVES)[adj], " "),
                       np.char.add(np.char.add(np.asarray(MOTIFS)[motif], " "),
                                   ITEMS.index.to_numpy(dtype=str)[item]))
    price = ITEMS.to_numpy()[item] * rng.lognormal(0.0, 0.35, n)
    price = np.round(np.clip(price, 0.3, 50.0), 2)
    popularity = rng.permutation((np.arange(1, n + 1) + params.zipf_offset) ** -params.zipf_s)
    codes = np.concatenate([codes.astype(object), NON_PRODUCTS["code"].to_numpy(object)])
    desc = np.concatenate([desc.astype(object), NON_PRODUCTS["description"].to_numpy(object)])
    return codes, desc, price, popularity / popularity.sum()


def generate_transactions(n_customers: int = 1000, n_months: int = 24, seed: int = 0,
                          start: str | pd.Timestamp = "2022-01-01",
                          params: SyntheticParams = SyntheticParams(),
                          country_mix: Mapping[str, float] | pd.Series | None = None,
                          ) -> pd.DataFrame:
    """Generate a UCI "Online Retail"-like transaction log (see the module docstring).

    ``start`` is a calendar day (:func:`analytics.dates.as_day`); dates lie in ``[start, start + n_months)``.
    ``country_mix`` (country -> weight), if given, replaces ``home_country`` /
    ``home_share`` and the built-in mix. Returns one row per invoice line, columns
    :data:`COLUMNS`, sorted by ``InvoiceDate`` then ``InvoiceNo``; ``Quantity`` is in
    units, ``UnitPrice`` in currency per unit, ``CustomerID`` NaN for guests.
    """
    if n_customers < 1 or n_months < 1:
        raise ValueError("n_customers and n_months must be >= 1")
    P, rng = params, np.random.default_rng(seed)
    start = as_day(start, "start")
    n_days = (start + pd.DateOffset(months=n_months) - start).days
    dates = pd.date_range(start, periods=n_days, freq="D")
    doy = dates.day_of_year.to_numpy()
    season = 1 + P.seasonality * np.cos(2 * np.pi * (doy - SEASON_PEAK_DOY) / 365.25)
    profile = season * (WEEKDAY_WEIGHTS / WEEKDAY_WEIGHTS.mean())[dates.day_of_week.to_numpy()]
    countries = _country_probs(P, country_mix)
    codes, descs, prices, popularity = _catalogue(rng, P)

    # 1-2. acquisition, then BG/NBD repeats of intensity lambda * profile (thinning)
    n = n_customers
    burst = P.initial_share * np.exp(-np.arange(n_days) / P.initial_days) / P.initial_days
    acq = profile * (burst + (1 - P.initial_share) / n_days)
    t0 = rng.choice(n_days, n, p=acq / acq.sum()) + rng.random(n)
    lam = rng.gamma(P.r, 1 / P.alpha, n)
    K = rng.geometric(np.clip(rng.beta(P.a, P.b, n), 1e-12, 1.0))
    n_cand = rng.poisson(lam * profile.max() * (n_days - t0))
    owner = np.repeat(np.arange(n), n_cand)
    t = t0[owner] + rng.random(len(owner)) * (n_days - t0)[owner]
    t_day = np.minimum(t.astype(np.int64), n_days - 1)
    keep = rng.random(len(t)) * profile.max() < profile[t_day]
    owner, t = owner[keep], t[keep]
    order = np.lexsort((t, owner))
    owner, t = owner[order], t[order]
    rank = np.arange(len(owner)) - np.searchsorted(owner, owner)
    keep = rank < K[owner]
    cust = np.concatenate([np.arange(n), owner[keep]])  # orders of known customers
    day = np.concatenate([t0, t[keep]]).astype(np.int64)

    # guest checkouts: own orders, sized so that their share of lines is anonymous_share
    n_guest = int(round(len(cust) * P.anonymous_share / (1 - P.anonymous_share)))
    day = np.concatenate([day, rng.choice(n_days, n_guest, p=profile / profile.sum())])
    n_ord = len(day)
    cust_id = rng.permutation(n).astype(float) + FIRST_CUSTOMER_ID
    cust_country = rng.choice(len(countries), n, p=countries.to_numpy())
    o_cid = np.concatenate([cust_id[cust], np.full(n_guest, np.nan)])
    o_country = np.concatenate([cust_country[cust], rng.choice(
        len(countries), n_guest, p=countries.to_numpy())])
    nu = rng.gamma(P.spend_q, 1 / P.spend_gamma, n)
    o_nu = np.concatenate([nu[cust], rng.gamma(P.spend_q, 1 / P.spend_gamma, n_guest)])
    hour_p = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()
    o_min = day * 1440 + rng.choice(24, n_ord, p=hour_p) * 60 + rng.integers(0, 60, n_ord)

    # 4. baskets: lines, Zipf products, Gamma-Gamma line values -> quantities
    size = P.lines_dispersion
    n_lines = 1 + rng.negative_binomial(size, size / (size + P.lines_mean - 1), n_ord)
    l_ord = np.repeat(np.arange(n_ord), n_lines)
    prod = np.minimum(np.searchsorted(np.cumsum(popularity), rng.random(len(l_ord))),
                      P.n_products - 1)
    l_price = prices[prod]
    z = rng.gamma(P.spend_p, 1 / o_nu)[l_ord]
    noise = rng.lognormal(-P.quantity_sigma ** 2 / 2, P.quantity_sigma, len(l_ord))
    q = np.clip(z * noise / l_price, 1, PACK_SIZES[-1])
    i = np.clip(np.searchsorted(PACK_SIZES, q), 1, len(PACK_SIZES) - 1)
    lo, hi = PACK_SIZES[i - 1], PACK_SIZES[i]
    l_qty = np.where(q * q < lo * hi, lo, hi).astype(np.int64)  # nearest in log scale
    l_price = np.where(rng.random(len(l_ord)) < P.zero_price_rate, 0.0, l_price)
    l_seq = np.arange(len(l_ord)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines)

    # 5a. non-product lines, appended last to some orders
    np_ord = np.flatnonzero(rng.random(n_ord) < P.non_product_rate)
    w = NON_PRODUCTS["weight"].to_numpy()
    kind = rng.choice(len(NON_PRODUCTS), len(np_ord), p=w / w.sum())
    np_price = np.round(NON_PRODUCTS["price"].to_numpy()[kind] * rng.lognormal(
        0.0, NON_PRODUCTS["sigma"].to_numpy()[kind]), 2)
    l_ord = np.concatenate([l_ord, np_ord])
    prod = np.concatenate([prod, P.n_products + kind])
    l_qty = np.concatenate([l_qty, np.ones(len(np_ord), np.int64)])
    l_price = np.concatenate([l_price, np_price])
    l_seq = np.concatenate([l_seq, n_lines[np_ord]])

    # 5b. cancellations of customer orders: later invoice, some lines, negative qty
    c_src = np.flatnonzero((rng.random(n_ord) < P.cancellation_rate) & ~np.isnan(o_cid))
    lag = rng.geometric(0.25, len(c_src)) - 1  # days after the order
    c_min = np.where(lag == 0, o_min[c_src] + rng.integers(1, 181, len(c_src)),
                     (day[c_src] + lag) * 1440 + rng.choice(24, len(c_src), p=hour_p) * 60
                     + rng.integers(0, 60, len(c_src)))
    c_src, c_min = c_src[c_min < n_days * 1440], c_min[c_min < n_days * 1440]
    cancel_of = np.full(n_ord, -1)
    cancel_of[c_src] = n_ord + np.arange(len(c_src))
    forced = np.zeros(n_ord, np.int64)
    forced[c_src] = rng.integers(0, n_lines[c_src])
    cand = (cancel_of[l_ord] >= 0) & (l_seq < n_lines[l_ord])
    pick = cand & ((rng.random(len(l_ord)) < 0.5) | (l_seq == forced[l_ord]))
    part = np.where(rng.random(len(l_ord)) < 0.7, l_qty,
                    np.ceil(l_qty * rng.random(len(l_ord))).astype(np.int64))
    l_ord = np.concatenate([l_ord, cancel_of[l_ord[pick]]])
    prod, l_price, l_seq = (np.concatenate([x, x[pick]]) for x in (prod, l_price, l_seq))
    l_qty = np.concatenate([l_qty, -np.maximum(part[pick], 1)])
    i_min = np.concatenate([o_min, c_min])
    i_src = np.concatenate([np.arange(n_ord), c_src])  # source order of each invoice
    is_cancel = np.arange(len(i_min)) >= n_ord

    # invoice numbers in time order (at equal minutes, normal invoices first)
    i_order = np.lexsort((rng.random(len(i_min)), is_cancel, i_min))
    i_rank = np.empty(len(i_min), np.int64)
    i_rank[i_order] = np.arange(len(i_min))
    numbers = (FIRST_INVOICE + np.arange(len(i_min))).astype(str)
    inv_str = np.char.add(np.where(is_cancel[i_order], "C", ""), numbers).astype(object)

    # 5c. exact duplicates, then assemble in (invoice, line) order
    rep = 1 + (rng.random(len(l_ord)) < P.duplicate_rate)
    l_ord, prod, l_qty, l_price, l_seq = (np.repeat(x, rep) for x in
                                          (l_ord, prod, l_qty, l_price, l_seq))
    s = np.lexsort((l_seq, i_rank[l_ord]))
    l_ord, prod, l_qty, l_price = l_ord[s], prod[s], l_qty[s], l_price[s]
    src = i_src[l_ord]
    minutes = i_min[l_ord].astype("timedelta64[m]")
    return pd.DataFrame({
        "InvoiceNo": pd.Series(inv_str[i_rank[l_ord]], dtype="str"),
        "StockCode": pd.Series(codes[prod], dtype="str"),
        "Description": pd.Series(descs[prod], dtype="str"),
        "Quantity": l_qty.astype(np.int64),
        "InvoiceDate": (np.datetime64(start.date(), "m") + minutes).astype("datetime64[us]"),
        "UnitPrice": l_price.astype(np.float64),
        "CustomerID": o_cid[src],
        "Country": pd.Series(countries.index.to_numpy(object)[o_country[src]], dtype="str"),
    })


def write_transactions(transactions: pd.DataFrame, path: str | Path) -> Path:
    """Write a transaction log by suffix: ``.csv``, ``.csv.gz``, ``.parquet``, ``.xlsx``.

    Parent folders are created; returns the path. Excel holds at most 1,048,575 rows.
    """
    path = Path(path)
    name = path.name.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith((".csv", ".csv.gz")):
        transactions.to_csv(path, index=False)
    elif name.endswith(".parquet"):
        transactions.to_parquet(path, index=False)
    elif name.endswith(".xlsx"):
        if len(transactions) > 1_048_575:
            raise ValueError("too many rows for an .xlsx sheet")
        transactions.to_excel(path, index=False, sheet_name="Online Retail")
    else:
        raise ValueError(f"unsupported suffix: {path.name!r} (csv, csv.gz, parquet, xlsx)")
    return path
