r"""Exact law of the 1-D noiseless training-loss SDE, a geometric Brownian motion (Schertzer & Pillaud-Vivien, JMLR
2026, §4, arXiv 2407.02322).

With one feature column x = (x_1, ..., x_n) and y = x theta*, the error :math:`\eta = \theta - \theta^*` of the
training-loss model solves :math:`d\eta = -h\eta\,dt + \sqrt{\gamma v}\,\eta\,dB`, :math:`h = \frac1n\sum x_i^2`,
:math:`v = \frac1n\sum x_i^4 - h^2`. Itô's formula gives
:math:`d\log|\eta| = -(h + \gamma v/2)\,dt + \sqrt{\gamma v}\,dB`, so

.. math:: \log|\eta_t| \sim N\big(\log|\eta_0| - (h + \gamma v/2)t,\ \gamma v t\big),\qquad
          E|\eta_t|^p = |\eta_0|^p e^{-p(h - (p - 1)\gamma v/2)t},

and :math:`E|\eta_t|^p` decays iff :math:`p < 1 + 2h/(\gamma v)`. The Euler–Maruyama chain
:math:`\eta' = \eta(1 - h\,\Delta t + \sqrt{\gamma v}\,\Delta W)` has its own exact law of :math:`\log|\eta_N|`
(:func:`em_log_moments`), against which a check sizes its step.

The symbolic part (:func:`gbm_constants`, :func:`gbm_rates`: h and v from the per-sample loss, Itô's formula on
log|eta| and |eta|^p) is a derivation and belongs in :mod:`theory.lsq_sde`; the numeric oracles below evaluate it.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import sympy as sp

from sgd_conformance.theory import ito, lsq_sde
from sgd_conformance.theory.symbols import p, x

# --- symbolic (a derivation, to move to theory.lsq_sde) --------------------------------------------------------------


@cache
def gbm_constants(features: tuple[int, ...]) -> tuple[sp.Expr, sp.Expr]:
    r"""(h, v) of the 1-D noiseless training model on the feature column ``features``, derived from its per-sample
    loss: :math:`\nabla L = h\eta`, :math:`\Sigma = v\eta^2`, :math:`\eta = \theta - \theta^*`."""
    n = len(features)
    model = lsq_sde.training_model(n, 1)
    star = sp.Symbol("theta_star", real=True)
    values = {model.features[i, 0]: c for i, c in enumerate(features)}
    values |= {model.targets[i]: c * star for i, c in enumerate(features)}
    theta = model.theta[0]
    gradient = sp.expand(model.gradient[0].subs(values))
    covariance = sp.expand(model.covariance[0, 0].subs(values))
    h = sp.diff(gradient, theta)
    v = sp.factor(covariance / (theta - star) ** 2)
    if sp.expand(gradient - h * (theta - star)) != 0 or v.free_symbols:
        raise AssertionError("the 1-D noiseless model is not a geometric Brownian motion")
    return sp.nsimplify(h), sp.nsimplify(v)


@cache
def gbm_rates(features: tuple[int, ...], gamma: sp.Expr) -> dict[str, sp.Expr]:
    """Itô's formula on dη = -h η dt + sqrt(γ v) η dB: the a.s. rate of log|η|, its volatility, the p-th moment
    exponent and its value at p = 2 (as decay rate), and the critical p (sympy; ``x`` is η, ``p`` the order)."""
    h, v = gbm_constants(features)
    drift, diffusion = -h * x, sp.sqrt(gamma * v) * x
    log_rate, log_noise = ito.ito_differential(sp.log(x), drift, diffusion)
    moment_rate = sp.expand(ito.ito_differential(x**p, drift, diffusion)[0] / x**p)
    (critical,) = [r for r in sp.solve(sp.Eq(moment_rate, 0), p) if r.is_positive]
    return {"h": h, "v": v, "as_rate": -log_rate, "volatility": log_noise, "moment_rate": moment_rate,
            "second_rate": -moment_rate.subs(p, 2), "p_crit": critical}


# --- numeric oracles -------------------------------------------------------------------------------------------------


def log_law(rates: dict[str, sp.Expr], eta0: float, horizon: float) -> tuple[float, float]:
    """(location, scale) of the exact normal law of log|eta_T| at T = ``horizon`` from eta_0."""
    return (math.log(abs(eta0)) - float(rates["as_rate"]) * horizon,
            float(rates["volatility"]) * math.sqrt(horizon))


def absolute_moment(rates: dict[str, sp.Expr], order: int, eta0: float, horizon: float) -> float:
    """Exact E|eta_T|^order = |eta_0|^order exp(moment exponent x T); order 1 gives |eta_0| e^(-h T)."""
    return abs(eta0) ** order * math.exp(float(rates["moment_rate"].subs(p, order)) * horizon)


def em_log_moments(h: float, volatility2: float, dt: float, steps: int) -> tuple[float, float]:
    """Exact mean and variance of log|eta_N / eta_0| for the Euler–Maruyama chain eta' = eta (1 - h dt + s dW):
    N times E, Var of log|1 - h dt + s sqrt(dt) Z| by Gauss–Hermite quadrature (80 nodes; the integrand is analytic
    for |z| < (1 - h dt)/(s sqrt dt), far beyond the nodes)."""
    z, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    values = np.log(np.abs(1 - h * dt + math.sqrt(volatility2 * dt) * z))
    mean = float(w @ values)
    return steps * mean, steps * float(w @ values**2 - mean**2)
