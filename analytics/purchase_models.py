"""The candidate purchase models: BG/NBD, MBG/NBD and Pareto/NBD behind one interface.

All three say that while alive a customer makes repeat purchases (purchase
days, :mod:`analytics.btyd`) as a Poisson process of rate ``lambda ~
Gamma(r, alpha)``; they differ in how customers drop out:

* **BG/NBD** (Fader, Hardie & Lee 2005): after each repeat purchase, with
  probability ``p ~ Beta(a, b)`` (:mod:`analytics.btyd_models`).
* **MBG/NBD** (Batislam, Denizel & Filiztekin 2007): also at the first
  purchase, so one-time buyers can be gone; ``p ~ Beta(a, b)``.
* **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987): at any time, after an
  exponential lifetime of rate ``mu ~ Gamma(s, beta)``.

Every fit (:func:`fit_purchase_model`) maximises lifetimes' (0.11.3)
likelihood on the summary pooled into unique (frequency, recency, T) rows with
weights (which leaves the likelihood unchanged), with time scaled so the oldest
customer has T = 1, by bounded L-BFGS-B on log-parameters (+-25).  Plain
maximum likelihood (penalizer 0) unless the fit fails; the retries up the
penalizer ladder are in the notes.  A fit whose dropout vanishes (``a -> 0``
or ``s / beta -> 0``) is a *boundary fit*: :attr:`no_dropout` is True and
:meth:`boundary_note` says so in plain words.

Forecasts per summary row: :meth:`p_alive` (P(alive) at the end of the
observation) and :meth:`expected_purchases` (repeat purchases in the next ``t``
time units): closed forms, with the numerically robust integral of
:func:`analytics.btyd_models._alive_expectation` where the BG family's
hypergeometric closed form overflows.  Pareto/NBD: P(alive) of Fader & Hardie's
note 009 (eq. 18-20) and E[purchases | alive] = (r + x) / (alpha + T) x (beta +
T) / (s - 1) x (1 - ((beta + T) / (beta + T + t))^(s - 1)) (eq. 41).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1, logsumexp, roots_legendre

from .btyd_models import (
    LOG_BOUND,
    PENALIZER_LADDER,
    BgNbdFit,
    PurchaseFitBase,
    _alive_expectation,
    _columns,
    _lifetimes,
    _minimise,
    _quiet,
    fit_bgnbd,
    fit_up_the_ladder,
)

#: Candidate names in tie-break order (see :mod:`analytics.model_choice`).
CANDIDATES: tuple[str, ...] = ("bgnbd", "mbgnbd", "pnbd")


@dataclass(frozen=True)
class MbgNbdFit(PurchaseFitBase):
    """Fitted MBG/NBD: ``params`` r, alpha (time units), a, b."""

    model: ClassVar[str] = "mbgnbd"
    label: ClassVar[str] = "MBG/NBD"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    @property
    def dropout_share(self) -> float:
        """Mean dropout probability at each purchase (the first included), a / (a + b)."""
        return self.params["a"] / (self.params["a"] + self.params["b"])

    def p_alive(self, summary: pd.DataFrame) -> np.ndarray:
        """1 / (1 + a / (b + x) x ((alpha + T) / (alpha + t_x))^(r + x)); below 1 also for x = 0."""
        r, alpha, a, b = (self.params[k] for k in self.param_names)
        x, tx, T = _columns(summary)
        with np.errstate(all="ignore"):
            log_odds = (r + x) * np.log((alpha + T) / (alpha + tx)) + np.log(a / (b + x))
        return expit(-log_odds)

    def expected_purchases(self, t: float, summary: pd.DataFrame) -> np.ndarray:
        """Expected repeat purchases in the next ``t`` time units (lifetimes' closed form;
        P(alive) x E[purchases | alive] with p ~ Beta(a, b + x + 1) where it overflows)."""
        x, tx, T = _columns(summary)
        if t <= 0:
            return np.zeros(len(x))
        with _quiet():
            fitter = _lifetimes().ModifiedBetaGeoFitter()
            fitter.params_ = pd.Series(self.params)
            out = np.asarray(fitter.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T),
                             dtype=float).copy()
        bad = ~np.isfinite(out) | (out < 0)
        if bad.any():
            shifted = {**self.params, "b": self.params["b"] + 1.0}
            out[bad] = self.p_alive(summary)[bad] * _alive_expectation(shifted, t, x[bad], T[bad])
        if not np.all(np.isfinite(out)):
            raise ArithmeticError(f"MBG/NBD forecast not finite at parameters {self.params}")
        return np.maximum(out, 0.0)


@dataclass(frozen=True)
class ParetoNbdFit(PurchaseFitBase):
    """Fitted Pareto/NBD: ``params`` r, alpha, s, beta (alpha, beta in time units)."""

    model: ClassVar[str] = "pnbd"
    label: ClassVar[str] = "Pareto/NBD"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    @property
    def dropout_share(self) -> float:
        """Mean dropout rate s / beta (per time unit): the population's share leaving per unit."""
        return self.params["s"] / self.params["beta"]

    @property
    def no_dropout(self) -> bool:
        """Boundary fit: mean lifetime beyond 10,000 x the oldest customer's age is no dropout;
        judged on s / beta per time unit below 1e-8 (days: one in 270,000 years)."""
        return self.dropout_share < 1e-8

    def p_alive(self, summary: pd.DataFrame) -> np.ndarray:
        """1 / (1 + s I (alpha + T)^(r + x) (beta + T)^s), I = int_{t_x}^T (alpha + u)^-(r + x)
        (beta + u)^-(s + 1) du (note 009, eq. 18-20; I = A_0 / (r + s + x))."""
        r, alpha, s, beta = (self.params[k] for k in self.param_names)
        x, tx, T = _columns(summary)
        with np.errstate(all="ignore"):
            log_odds = np.log(s) + (r + x) * np.log(alpha + T) + s * np.log(beta + T) + _pnbd_log_i(
                (r, alpha, s, beta), x, tx, T)
        return expit(-log_odds)

    def alive_expectation(self, t: float, summary: pd.DataFrame) -> np.ndarray:
        """E[repeat purchases in the next ``t`` | alive] (note 009, eq. 41 without P(alive))."""
        r, alpha, s, beta = (self.params[k] for k in self.param_names)
        x, _, T = _columns(summary)
        c = beta + T
        log_ratio = np.log(c / (c + t))
        with np.errstate(all="ignore"):
            life = np.where(abs(s - 1) < 1e-9, -log_ratio, -np.expm1((s - 1) * log_ratio) / (s - 1)) * c
        return (r + x) / (alpha + T) * life

    def expected_purchases(self, t: float, summary: pd.DataFrame) -> np.ndarray:
        """P(alive) x E[purchases in the next ``t`` | alive]."""
        if t <= 0:
            return np.zeros(len(summary))
        out = self.p_alive(summary) * self.alive_expectation(t, summary)
        if not np.all(np.isfinite(out)):
            raise ArithmeticError(f"Pareto/NBD forecast not finite at parameters {self.params}")
        return np.maximum(out, 0.0)


FIT_CLASSES: dict[str, type] = {"bgnbd": BgNbdFit, "mbgnbd": MbgNbdFit, "pnbd": ParetoNbdFit}
LABELS: dict[str, str] = {name: cls.label for name, cls in FIT_CLASSES.items()}


def fit_purchase_model(summary: pd.DataFrame, model: str, penalizer: float = 0.0,
                       ladder: tuple[float, ...] = PENALIZER_LADDER, start: dict[str, float] | None = None):
    """Fit ``model`` ("bgnbd", "mbgnbd" or "pnbd") to a customer summary.

    ``summary``: :func:`analytics.btyd.customer_summary` rows (or pooled rows with
    a ``weight`` column).  ``start``: parameters to start the search from (e.g. a
    fit on a sample; MBG/NBD and Pareto/NBD only), else lifetimes' start.  Returns the fit; raises InsufficientDataError with
    the reasons when every penalizer from ``penalizer`` up ``ladder`` fails.
    """
    if model not in FIT_CLASSES:
        raise ValueError(f"model must be one of {CANDIDATES}, got {model!r}")
    if model == "bgnbd":
        return fit_bgnbd(summary, penalizer, ladder)
    return fit_up_the_ladder(summary, FIT_CLASSES[model], lambda pooled, pen: _mle(pooled, model, pen, start),
                             penalizer, ladder)


def log_likelihood(fit: PurchaseFitBase, summary: pd.DataFrame) -> float:
    """Unpenalised log-likelihood of ``fit`` on ``summary`` rows (``weight`` column: pooled rows),
    in the summary's time unit: comparable across the candidates on the same rows."""
    x, tx, T = _columns(summary)
    w = summary["weight"].to_numpy(dtype=float) if "weight" in summary.columns else np.ones(len(x))
    logs = np.log([fit.params[k] for k in fit.param_names])
    nll = {"bgnbd": lambda: _lifetimes().BetaGeoFitter._negative_log_likelihood,
           "mbgnbd": lambda: _lifetimes().ModifiedBetaGeoFitter._negative_log_likelihood,
           "pnbd": lambda: _pnbd_nll}[fit.model]()
    with _quiet():
        return -float(nll(logs, x, tx, T, w, 0.0)) * float(w.sum())


def _mle(pooled: pd.DataFrame, model: str, penalizer: float,
         start: dict[str, float] | None = None) -> tuple[dict[str, float], set[str], float]:
    """Penalised MLE in scaled time; returns params (time unit of the summary), the
    names on the search bound and the unpenalised log-likelihood."""
    scale = 1.0 / float(pooled["T"].max())
    x, w = pooled["frequency"].to_numpy(dtype=float), pooled["weight"].to_numpy(dtype=float)
    tx, T = pooled["recency"].to_numpy(dtype=float), pooled["T"].to_numpy(dtype=float)
    names = FIT_CLASSES[model].param_names
    x0 = None
    if start is not None:
        scaled = {k: v * (scale if k in ("alpha", "beta") else 1.0) for k, v in start.items()}
        x0 = np.clip(np.log([scaled[k] for k in names]), -LOG_BOUND + 1, LOG_BOUND - 1)
    if model == "mbgnbd":
        nll = _lifetimes().ModifiedBetaGeoFitter._negative_log_likelihood
        log_params, at_bound = _minimise(nll, (x, tx * scale, T * scale, w, penalizer), 4, x0)
    else:
        log_params, at_bound = _minimise_numeric(_pnbd_nll_grad, (x, tx * scale, T * scale, w, penalizer), 4, x0)
    params = dict(zip(names, np.exp(log_params).tolist()))
    for k in ("alpha", "beta"):
        if k in params:
            params[k] /= scale
    logs = np.log([params[k] for k in names])
    with _quiet():
        mean_nll = float((nll if model == "mbgnbd" else _pnbd_nll)(logs, x, tx, T, w, 0.0))
    return params, {names[i] for i in at_bound}, -mean_nll * float(w.sum())


def _pnbd_nll(log_params, x, tx, T, w, penalizer) -> float:
    """Mean negative log-likelihood of Pareto/NBD + L2 penalty: A_1 + log((alpha + T)^-(r + x)
    (beta + T)^-s + s I) per row, I of :func:`_pnbd_log_i`."""
    r, alpha, s, beta = params = np.exp(log_params)
    with np.errstate(all="ignore"):
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        ll = a1 + np.logaddexp(-(r + x) * np.log(alpha + T) - s * np.log(beta + T),
                               np.log(s) + _pnbd_log_i(params, x, tx, T))
    return float(-(w * ll).sum() / w.sum() + penalizer * np.sum(params ** 2))


def _pnbd_nll_grad(log_params, x, tx, T, w, penalizer) -> tuple[float, np.ndarray]:
    """:func:`_pnbd_nll` (I by quadrature on every row) and its gradient in the log-parameters.

    log I = log(T - t_x) + logsumexp_k f_k, f_k = log w_k - (r + x) log(alpha + u_k) - (s + 1)
    log(beta + u_k); with pi_k = softmax(f): d log I / d r = -sum pi log(alpha + u), d / d s =
    -sum pi log(beta + u), d / d alpha = -(r + x) sum pi / (alpha + u), d / d beta = -(s + 1)
    sum pi / (beta + u).  ll = A_1 + logaddexp(B, log s + log I) as in :func:`_pnbd_nll`."""
    r, alpha, s, beta = params = np.exp(log_params)
    rows = T - tx > 0
    n = len(x)
    log_i = np.full(n, -np.inf)
    d_i = np.zeros((4, n))
    if rows.any():
        xb, txb, Tb = x[rows, None], tx[rows, None], T[rows, None]
        u = txb + _I_NODES * (Tb - txb)
        la, lb = np.log(alpha + u), np.log(beta + u)
        f = -(r + xb) * la - (s + 1) * lb + _I_LOGW
        top = f.max(axis=1, keepdims=True)
        e = np.exp(f - top)
        total = e.sum(axis=1, keepdims=True)
        pi = e / total
        log_i[rows] = np.log(Tb[:, 0] - txb[:, 0]) + top[:, 0] + np.log(total[:, 0])
        d_i[0, rows] = -(pi * la).sum(axis=1)
        d_i[1, rows] = -(r + xb[:, 0]) * (pi / (alpha + u)).sum(axis=1)
        d_i[2, rows] = -(pi * lb).sum(axis=1)
        d_i[3, rows] = -(s + 1) * (pi / (beta + u)).sum(axis=1)
    with np.errstate(all="ignore"):
        b = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        c = np.log(s) + log_i
        both = np.logaddexp(b, c)
        sigma = np.exp(b - both)
        ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + both
    rest = 1.0 - sigma
    grad = np.stack([
        digamma(r + x) - digamma(r) + np.log(alpha) - sigma * np.log(alpha + T) + rest * d_i[0],
        r / alpha - sigma * (r + x) / (alpha + T) + rest * d_i[1],
        np.log(beta) - sigma * np.log(beta + T) + rest * (1.0 / s + d_i[2]),
        s / beta - sigma * s / (beta + T) + rest * d_i[3],
    ])
    total_w = w.sum()
    value = float(-(w * ll).sum() / total_w + penalizer * np.sum(params ** 2))
    gradient = -(grad @ w) / total_w * params + 2 * penalizer * params ** 2
    return value, gradient


# Composite Gauss-Legendre rule on [0, 1], graded towards 0 where the integrand of I peaks.
_I_EDGES = np.array([0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.03, 0.1, 0.25, 0.5, 0.75, 1.0])
_IU, _IW = roots_legendre(8)
_I_NODES = (_I_EDGES[:-1, None] + np.diff(_I_EDGES)[:, None] * (_IU + 1) / 2).ravel()
_I_LOGW = np.log((np.diff(_I_EDGES)[:, None] / 2 * _IW).ravel())


def _pnbd_log_i(params, x, tx, T) -> np.ndarray:
    """log I, I = int_{t_x}^T (alpha + u)^-(r + x) (beta + u)^-(s + 1) du (-inf when t_x = T).

    Closed form (note 009, eq. 19-20: I = A_0 / (r + s + x), through the Gauss
    hypergeometric function) where its argument is at most 0.9; elsewhere -- near
    the no-dropout boundary (beta -> infinity), where the series converges
    slowly, or where the closed form cancels to nothing (large x, t_x near T) --
    a composite Gauss-Legendre rule graded towards t_x, in log space.  Both
    agree to ~1e-12 on CDNOW (tested)."""
    r, alpha, s, beta = params
    out = np.full(len(x), -np.inf)
    rows = T - tx > 0
    lo, hi = min(alpha, beta), max(alpha, beta)
    d = hi - lo
    closed = rows & (d / (hi + tx) <= 0.9)
    if closed.any():
        xc, txc, Tc = x[closed], tx[closed], T[closed]
        rsf = r + s + xc
        t = r + xc if alpha < beta else np.full(len(xc), s + 1.0)
        q1, q2 = hi + txc, hi + Tc
        with np.errstate(all="ignore"):
            p1 = hyp2f1(rsf, t, rsf + 1.0, d / q1)
            p2 = hyp2f1(rsf, t, rsf + 1.0, d / q2)
            a, b = np.log(p1) + rsf * np.log(q2), np.log(p2) + rsf * np.log(q1)
            value = a + np.log(-np.expm1(b - a)) - rsf * np.log(q1 * q2) - np.log(rsf)
        out[closed] = value
    quad = rows & ~(np.isfinite(out) & closed)
    if quad.any():
        xb, txb, Tb = x[quad, None], tx[quad, None], T[quad, None]
        u = txb + _I_NODES * (Tb - txb)
        f = -(r + xb) * np.log(alpha + u) - (s + 1) * np.log(beta + u) + _I_LOGW
        out[quad] = np.log(Tb[:, 0] - txb[:, 0]) + logsumexp(f, axis=1)
    return out


def _minimise_numeric(nll, args: tuple, n_params: int, x0: np.ndarray | None = None
                      ) -> tuple[np.ndarray, set[int]]:
    """As :func:`analytics.btyd_models._minimise` with a hand-written gradient (``nll`` returns
    the value and the gradient): autograd cannot differentiate the hypergeometric function."""
    with _quiet():
        res = minimize(nll, x0=np.full(n_params, 0.1) if x0 is None else x0, method="L-BFGS-B", args=args, jac=True,
                       bounds=[(-LOG_BOUND, LOG_BOUND)] * n_params,
                       options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-7})
    if not (np.all(np.isfinite(res.x)) and np.isfinite(res.fun)) or (
            not res.success and "ABNORMAL" not in str(res.message).upper()):
        raise ArithmeticError(f"optimiser did not converge ({res.message})")
    return res.x, {i for i, v in enumerate(res.x) if abs(v) >= LOG_BOUND - 1e-6}
