"""BG/NBD and Gamma-Gamma models fitted on :mod:`analytics.btyd` summaries.

* **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy
  way"): while alive a customer makes repeat purchases (purchase days) as a
  Poisson process of rate ``lambda ~ Gamma(r, alpha)``; after each repeat
  purchase they drop out for good with probability ``p ~ Beta(a, b)``.
  ``alpha`` is in the summary's time unit.
* **Gamma-Gamma** (Fader, Hardie & Lee, "The Gamma-Gamma model of monetary
  value"): a customer's purchase values have mean ``p / nu`` with ``nu ~
  Gamma(q, v)``; fitted on repeat customers with a positive value only, it
  assumes value independent of frequency (their correlation is reported).
  Per-customer mean values above the ``monetary_cap_quantile`` (default the
  99th percentile among repeat customers) are winsorised to it, for fitting
  and prediction alike, because a few huge (often later cancelled) orders
  otherwise dominate ``v``.  Values are divided by their median for fitting
  (``v`` rescaled after), so the penalizer acts on unit-free parameters.

Estimation maximises lifetimes' (0.11.3) likelihoods with our optimiser.  The ``penalizer`` is
lifetimes' L2 penalty ``penalizer x sum(params^2)`` added to the mean negative
log-likelihood (BG/NBD time scaled so the oldest customer has T = 1); it
stabilises fits but shrinks the parameters (0 = plain maximum likelihood).  A
fit that fails (convergence errors, non-finite forecasts) or is degenerate
(``r``/``alpha`` non-finite, outside [1e-6, 1e6] or on the search bound;
Gamma-Gamma ``q <= 1``) is retried up :data:`PENALIZER_LADDER`; the notes say
so.  We use bounded L-BFGS-B (log-parameters in +-25) rather than lifetimes'
``fit`` (unbounded BFGS), which stops with "precision loss" errors at
maxima on the boundary -- BG/NBD ``a -> 0``, "nobody drops out", as in the
one-year UCI Online Retail log -- and even at interior Gamma-Gamma maxima.

Forecasts: P(alive) in closed form; expected purchases by lifetimes' closed
form (eq. 10 of the paper), which overflows for some parameters (``a + b``
near 0, large ``t``); there it is replaced by P(alive) x E[purchases | alive],
the latter integrated numerically over ``p ~ Beta(a, b + x)`` (see
:func:`_alive_expectation`, agreeing with the closed form to ~1e-7).

lifetimes is imported and run inside :func:`_quiet`: it otherwise installs a
process-wide ``simplefilter("ignore", FutureWarning)`` and prints optimiser
reports.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betainc, expit, roots_legendre

from .errors import InsufficientDataError
from .model_store import pack_arrays, unpack_arrays

PENALIZER_LADDER: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0)
PARAM_RANGE = (1e-6, 1e6)
NO_DROPOUT = 1e-6  # a / (a + b) below this is reported as "no evidence of dropout"
LOG_BOUND = 25.0  # search box of the log-parameters
MIN_CUSTOMERS = 10
MIN_REPEAT_CUSTOMERS = 2
MIN_GG_CUSTOMERS = 10

# Composite Gauss-Legendre rule on [0, 1], graded towards both ends where the
# Beta distribution function has its power-law layers.
_EDGES = np.array([0, 1e-12, 1e-9, 1e-6, 1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999,
                   1 - 1e-4, 1 - 1e-6, 1 - 1e-9, 1.0])
_U, _W = roots_legendre(12)
_NODES = (_EDGES[:-1, None] + np.diff(_EDGES)[:, None] * (_U + 1) / 2).ravel()
_WEIGHTS = (np.diff(_EDGES)[:, None] / 2 * _W).ravel()


@dataclass(frozen=True)
class PurchaseFitBase:
    """What every fitted purchase model shares: its fields, name, record round trip, boundary test.

    ``params`` (alpha, beta in the summary's time unit), the ``penalizer`` used, ``n_customers``
    in the fit, ``log_likelihood`` (unpenalised, at ``params``, in the summary's time unit) and
    ``notes``.  Subclasses (frozen dataclasses adding no field) set the class variables and
    define :meth:`p_alive`, :meth:`expected_purchases` and :attr:`dropout_share`.
    """

    model: ClassVar[str]
    label: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]

    params: dict[str, float]
    penalizer: float
    n_customers: int
    log_likelihood: float
    notes: tuple[str, ...] = ()

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    @property
    def no_dropout(self) -> bool:
        """Boundary fit: the model finds no dropout (``dropout_share`` below NO_DROPOUT)."""
        return self.dropout_share < NO_DROPOUT

    def boundary_note(self) -> str | None:
        """Plain words for a boundary fit, None when the model finds dropout."""
        if not self.no_dropout:
            return None
        return (f"{self.label}: the data shows no sign of customers leaving for good (the fitted dropout "
                f"is on the boundary, {self.dropout_share:.2g}), so P(alive) is about 1 for everybody and "
                "carries no information; use the churn model for risk.")

    def to_record(self, dataset_version: str | None = None) -> bytes:
        """Versioned record (see :mod:`analytics.model_store`)."""
        return pack_arrays(self.model, {k: float(v) for k, v in self.params.items()},
                           dataset_version=dataset_version,
                           meta={"penalizer": self.penalizer, "n_customers": self.n_customers,
                                 "log_likelihood": self.log_likelihood, "notes": list(self.notes)})

    @classmethod
    def from_record(cls, record: bytes, dataset_version: str | None = None):
        """Inverse of :meth:`to_record`; refuses other formats and versions (ModelRecordError)."""
        params, _, meta = unpack_arrays(record, cls.model, dataset_version)
        return cls(params={k: float(params[k]) for k in cls.param_names}, penalizer=meta["penalizer"],
                   n_customers=meta["n_customers"], log_likelihood=meta["log_likelihood"],
                   notes=tuple(meta["notes"]))


@dataclass(frozen=True)
class BgNbdFit(PurchaseFitBase):
    """Fitted BG/NBD: ``params`` r, alpha (time units), a, b; the penalizer used."""

    model: ClassVar[str] = "bgnbd"
    label: ClassVar[str] = "BG/NBD"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    @property
    def dropout_share(self) -> float:
        """Mean dropout probability after a purchase, a / (a + b)."""
        return self.params["a"] / (self.params["a"] + self.params["b"])

    def p_alive(self, summary: pd.DataFrame) -> np.ndarray:
        """P(alive at the end of the observation) per summary row (1 without repeats).

        1 / (1 + a / (b + x - 1) x ((alpha + T) / (alpha + t_x))^(r + x))."""
        r, alpha, a, b = (self.params[k] for k in ("r", "alpha", "a", "b"))
        x, tx, T = _columns(summary)
        with np.errstate(all="ignore"):
            log_odds = (r + x) * np.log((alpha + T) / (alpha + tx)) + np.log(a / (b + np.maximum(x, 1) - 1))
        return np.where(x == 0, 1.0, expit(-log_odds))

    def expected_purchases(self, t: float, summary: pd.DataFrame) -> np.ndarray:
        """Expected repeat purchases in the next ``t`` time units per summary row."""
        x, tx, T = _columns(summary)
        if t <= 0:
            return np.zeros(len(x))
        with _quiet():
            fitter = _lifetimes().BetaGeoFitter()
            fitter.params_ = pd.Series(self.params)
            out = np.asarray(fitter.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T),
                             dtype=float).copy()
        bad = ~np.isfinite(out)
        if bad.any():
            out[bad] = self.p_alive(summary)[bad] * _alive_expectation(self.params, t, x[bad], T[bad])
        if not np.all(np.isfinite(out)):
            raise ArithmeticError(f"BG/NBD forecast not finite at parameters {self.params}")
        return np.maximum(out, 0.0)


@dataclass(frozen=True)
class GammaGammaFit:
    """Fitted Gamma-Gamma: ``params`` p, q, v (currency), as used for prediction."""

    params: dict[str, float]
    penalizer: float
    n_customers: int
    monetary_cap: float | None
    freq_monetary_corr: float
    notes: tuple[str, ...] = ()

    @property
    def population_mean(self) -> float:
        """Mean purchase value of the population, p v / (q - 1) (currency)."""
        p, q, v = (self.params[k] for k in ("p", "q", "v"))
        return p * v / (q - 1)

    def to_record(self, dataset_version: str | None = None) -> bytes:
        """Versioned record (see :mod:`analytics.model_store`)."""
        return pack_arrays("gamma_gamma", {k: float(v) for k, v in self.params.items()},
                           dataset_version=dataset_version,
                           meta={"penalizer": self.penalizer, "n_customers": self.n_customers,
                                 "monetary_cap": self.monetary_cap, "freq_monetary_corr": self.freq_monetary_corr,
                                 "notes": list(self.notes)})

    @classmethod
    def from_record(cls, record: bytes, dataset_version: str | None = None) -> "GammaGammaFit":
        params, _, meta = unpack_arrays(record, "gamma_gamma", dataset_version)
        return cls({k: float(params[k]) for k in ("p", "q", "v")}, meta["penalizer"], meta["n_customers"],
                   meta["monetary_cap"], meta["freq_monetary_corr"], tuple(meta["notes"]))

    def posterior_rate(self, frequency: np.ndarray, monetary_value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior of a customer's ``nu`` (their mean value is p / nu): Gamma(shape, rate)
        with shape = p x + q and rate = v + x m (capped m; x = 0 where m is 0: the prior)."""
        p, q, v = (self.params[k] for k in ("p", "q", "v"))
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        if self.monetary_cap is not None:
            m = np.minimum(m, self.monetary_cap)
        x = np.where(m > 0, x, 0.0)
        return p * x + q, v + x * np.where(m > 0, m, 0.0)

    def expected_value(self, frequency: np.ndarray, monetary_value: np.ndarray) -> np.ndarray:
        """Conditional mean purchase value (Gamma-Gamma eq. 5), the capped value
        weighted by ``p x / (p x + q - 1)``; the population mean where x or value is 0."""
        p, q = self.params["p"], self.params["q"]
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        if self.monetary_cap is not None:
            m = np.minimum(m, self.monetary_cap)
        x = np.where(m > 0, x, 0.0)
        weight = p * x / (p * x + q - 1)
        return (1 - weight) * self.population_mean + weight * np.where(m > 0, m, 0.0)


def unique_rows(summary: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Unique (frequency, recency, T) rows (``weight`` = customers) and, per summary row,
    the position of its unique row: forecasts computed once per row, spread by ``[inverse]``."""
    grouped = summary.groupby(["frequency", "recency", "T"], sort=False)
    return grouped.size().rename("weight").reset_index(), grouped.ngroup().to_numpy()


def pooled_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """Unique (frequency, recency, T) rows with ``weight`` = customers (summed if given)."""
    keys = ["frequency", "recency", "T"]
    if "weight" in summary.columns:
        return summary.groupby(keys, sort=True)["weight"].sum().reset_index()
    return summary.groupby(keys, sort=True).size().rename("weight").reset_index()


def fit_bgnbd(summary: pd.DataFrame, penalizer: float = 0.0,
              ladder: tuple[float, ...] = PENALIZER_LADDER) -> BgNbdFit:
    """Fit BG/NBD to a :func:`analytics.btyd.customer_summary`, retrying up the ladder
    (:func:`fit_up_the_ladder`)."""
    return fit_up_the_ladder(summary, BgNbdFit, _bgnbd_mle, penalizer, ladder)


def fit_up_the_ladder(summary: pd.DataFrame, cls: type, mle, penalizer: float, ladder: tuple[float, ...]):
    """Fit the purchase model ``cls`` with ``mle(pooled, penalizer) -> (params, names on the
    search bound, log-likelihood)`` at ``penalizer``, then up ``ladder`` until a fit is sound.

    Identical (frequency, recency, T) rows are pooled with weights, which
    leaves the likelihood unchanged.  Raises InsufficientDataError when there
    are too few customers or repeaters, or when every penalizer fails.
    """
    pooled = pooled_rows(summary)
    n = int(pooled["weight"].sum())
    repeaters = int(pooled.loc[pooled["frequency"] > 0, "weight"].sum())
    if n < MIN_CUSTOMERS or repeaters < MIN_REPEAT_CUSTOMERS or not (pooled["T"].max() > 0):
        raise InsufficientDataError(
            f"{cls.label} needs at least {MIN_CUSTOMERS} customers of whom {MIN_REPEAT_CUSTOMERS} made a "
            f"repeat purchase (and some time observed); got {n} customers, {repeaters} repeating.")
    notes: list[str] = []
    for pen in _penalizers(penalizer, ladder):
        try:
            params, at_bound, log_lik = mle(pooled, pen)
            problem = _degenerate({k: params[k] for k in ("r", "alpha")})
            if problem is None and {"r", "alpha"} & at_bound:
                problem = "r or alpha on the search bound"
            if problem is None:
                fit = cls(params, pen, n, log_lik)
                fit.expected_purchases(2.0 * float(pooled["T"].max()), pooled)  # must be finite
        except Exception as exc:  # noqa: BLE001 -- optimiser failure, non-finite likelihood or forecast
            problem = _reason(exc)
        if problem is None:
            if notes:
                notes.append(f"{cls.label} refitted at penalizer {pen:g}.")
            if fit.no_dropout:
                notes.append(fit.boundary_note())
            return cls(params, pen, n, log_lik, tuple(notes))
        notes.append(f"{cls.label} failed at penalizer {pen:g}: {problem}.")
    raise InsufficientDataError(f"The {cls.label} model could not be fitted: " + " ".join(notes))


def fit_gamma_gamma(summary: pd.DataFrame, penalizer: float = 0.0,
                    monetary_cap_quantile: float | None = 0.99,
                    ladder: tuple[float, ...] = PENALIZER_LADDER) -> GammaGammaFit:
    """Fit Gamma-Gamma on repeat customers with a positive ``monetary_value``."""
    rep = summary.loc[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(rep) < MIN_GG_CUSTOMERS:
        raise InsufficientDataError(
            f"Gamma-Gamma needs at least {MIN_GG_CUSTOMERS} repeat customers with a positive "
            f"order value; got {len(rep)}.")
    x = rep["frequency"].to_numpy(dtype=float)
    m = rep["monetary_value"].to_numpy(dtype=float)
    cap = None if monetary_cap_quantile is None else float(np.quantile(m, monetary_cap_quantile))
    if cap is not None:
        m = np.minimum(m, cap)
    corr = float(np.corrcoef(x, m)[0, 1]) if np.std(x) > 0 and np.std(m) > 0 else float("nan")
    notes = []
    if abs(corr) > 0.3:
        notes.append(f"Frequency and order value are correlated among repeat customers (r = {corr:.2f}); "
                     "the Gamma-Gamma independence assumption is doubtful.")
    scale = float(np.median(m))
    nll = _lifetimes().GammaGammaFitter._negative_log_likelihood
    for pen in _penalizers(penalizer, ladder):
        try:
            log_params, _ = _minimise(nll, (x, m / scale, np.ones_like(x), pen), 3)
            params = dict(zip(("p", "q", "v"), np.exp(log_params).tolist()))
            params["v"] *= scale
            problem = _degenerate(params) or ("q <= 1 (infinite mean value)" if params["q"] <= 1 else None)
        except Exception as exc:  # noqa: BLE001 -- optimiser failure, non-finite likelihood
            problem = _reason(exc)
        if problem is None:
            if pen != penalizer:
                notes.append(f"Gamma-Gamma refitted at penalizer {pen:g}.")
            return GammaGammaFit(params, pen, len(rep), cap, corr, tuple(notes))
        notes.append(f"Gamma-Gamma failed at penalizer {pen:g}: {problem}.")
    raise InsufficientDataError("The Gamma-Gamma model could not be fitted: " + " ".join(notes))


def _bgnbd_mle(pooled: pd.DataFrame, penalizer: float) -> tuple[dict[str, float], set[str], float]:
    """Maximise the penalised BG/NBD likelihood (time scaled so max T = 1).  Returns
    the parameters (alpha in the summary's time unit), the names of those on the
    search bound and the unpenalised log-likelihood."""
    scale = 1.0 / float(pooled["T"].max())
    x, w = pooled["frequency"].to_numpy(dtype=float), pooled["weight"].to_numpy(dtype=float)
    tx, T = pooled["recency"].to_numpy(dtype=float), pooled["T"].to_numpy(dtype=float)
    nll = _lifetimes().BetaGeoFitter._negative_log_likelihood
    log_params, at_bound = _minimise(nll, (x, tx * scale, T * scale, w, penalizer), 4)
    names = ("r", "alpha", "a", "b")
    params = dict(zip(names, np.exp(log_params).tolist()))
    params["alpha"] /= scale
    with _quiet():
        mean_nll = float(nll(np.log([params[k] for k in names]), x, tx, T, w, 0.0))
    return params, {names[i] for i in at_bound}, -mean_nll * float(w.sum())


def _minimise(nll, args: tuple, n_params: int, x0: np.ndarray | None = None) -> tuple[np.ndarray, set[int]]:
    """Minimise a lifetimes objective ``nll(log_params, *args)`` (mean negative
    log-likelihood + penalty) with L-BFGS-B, log-parameters in +-LOG_BOUND, from
    lifetimes' start (all 0.1).  Returns the log-parameters and the indices on a bound."""
    with _quiet():
        from autograd import value_and_grad  # lazy: only a fit needs it; imported quietly (its warnings)
        res = minimize(value_and_grad(nll), x0=np.full(n_params, 0.1) if x0 is None else x0, jac=True,
                       method="L-BFGS-B",
                       args=args, bounds=[(-LOG_BOUND, LOG_BOUND)] * n_params,
                       options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9})
    if not (res.success and np.all(np.isfinite(res.x)) and np.isfinite(res.fun)):
        raise ArithmeticError(f"optimiser did not converge ({res.message})")
    return res.x, {i for i, v in enumerate(res.x) if abs(v) >= LOG_BOUND - 1e-6}


def _alive_expectation(params: dict[str, float], t: float, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """E[purchases in (T, T + t] | alive, x, T].

    Alive, the posterior is lambda ~ Gamma(r + x, alpha + T) independent of
    p ~ Beta(a, b + x), and a customer with (lambda, p) buys (1 - exp(-lambda p t)) / p
    in expectation; integrating lambda out gives h(p) = (1 - (c / (c + p t))^k) / p,
    c = alpha + T, k = r + x, and E[h(p)] = h(1) - int_0^1 F(p) h'(p) dp with F the
    Beta distribution function (integration by parts; robust for any a, b > 0).
    """
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    out = np.empty(len(x))
    for value in np.unique(x):
        rows = np.flatnonzero(x == value)
        c, k = alpha + T[rows, None], r + value
        F = betainc(a, b + value, _NODES)
        u = _NODES * t / c  # h'(p) = (t / c)^2 phi'(u), phi(u) = (1 - (1 + u)^-k) / u
        safe = np.maximum(u, 1e-5)
        log1p = np.log1p(safe)
        dphi = (k * safe * np.exp(-(k + 1) * log1p) + np.expm1(-k * log1p)) / safe ** 2
        dphi = np.where(u < 1e-5, -k * (k + 1) / 2 + k * (k + 1) * (k + 2) / 3 * u, dphi)
        h1 = -np.expm1(-k * np.log1p(t / c[:, 0]))
        out[rows] = h1 - ((t / c) ** 2 * dphi * F) @ _WEIGHTS
    return out


def _columns(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))


def _penalizers(first: float, ladder: tuple[float, ...]) -> list[float]:
    if first < 0:
        raise ValueError("penalizer must be >= 0")
    return [first] + [p for p in ladder if p > first]


def _degenerate(params: dict[str, float]) -> str | None:
    low, high = PARAM_RANGE
    bad = {k: v for k, v in params.items() if not (np.isfinite(v) and low <= v <= high)}
    if bad:
        return "degenerate parameters " + ", ".join(f"{k}={v:.3g}" for k, v in bad.items())
    return None


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextlib.contextmanager
def _quiet():
    """Contain lifetimes' side effects: its global FutureWarning filter, numeric
    RuntimeWarnings, and the optimiser report it prints when a fit fails."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _lifetimes():
    """Import lifetimes without leaking its process-wide warning filter."""
    with _quiet():
        import lifetimes  # lazy, and quietly: it sets a process-wide warning filter on import
    return lifetimes
