r"""Exact solutions of the test SDEs, driven by the Brownian path the scheme under test is given.

* Geometric Brownian motion :math:`dX = \mu X\,dt + \sigma X\,dW`: :math:`X_T = X_0\exp((\mu - \sigma^2/2)T +
  \sigma W_T)`, a function of :math:`W_T` alone (:func:`sgd_conformance.theory.ito.gbm_exact_solution`).
* Ornstein–Uhlenbeck :math:`dX = -aX\,dt + \sigma\,dW`: on each cell of width h,
  :math:`X_{t+h} = e^{-ah}X_t + \sigma\int_t^{t+h} e^{-a(t+h-s)}\,dW_s`, and the pair (cell increment, stochastic
  integral) is jointly Gaussian with the covariance of :func:`sgd_conformance.theory.ito.ou_cell_covariance`
  (Glasserman 2004, §3.3): sampling it gives the fine increments and the exact path together.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from sgd_conformance.solvers._xp import namespace
from sgd_conformance.solvers.rng import brownian_increments
from sgd_conformance.theory import ito, numeric
from sgd_conformance.theory.symbols import a, mu, sigma, t, x, x0


def gbm_exact_solution(drift_rate: float, volatility: float, start: float,
                       horizon: float) -> Callable[[np.ndarray], Any]:
    """:math:`X_T` of geometric Brownian motion as a function of :math:`W_T` (NumPy arrays)."""
    values = {mu: drift_rate, sigma: volatility}
    brownian = sp.Symbol("W", real=True)
    exact = numeric.compile(ito.gbm_exact_solution().subs({**values, x0: start, t: horizon}), (brownian,))
    return lambda w: exact(np, w)


def gbm_exact_sampler(exact: Callable[[np.ndarray], Any], steps: int, horizon: float) -> Callable[..., Any]:
    """Sampler ``(rng, size) -> (fine Brownian increments (steps, size, 1), exact GBM solution at T)``."""

    def sample(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        dW = brownian_increments(rng, steps=steps, chains=size, m=1, dt=horizon / steps)
        return dW, exact(dW.sum(axis=0)[:, 0])

    return sample


def ou_exact_sampler(curvature: float, volatility: float, start: float, steps: int,
                     horizon: float) -> Callable[..., Any]:
    """Sampler ``(rng, size) -> (fine Brownian increments (steps, size, 1), exact OU solution at T)``, from the
    exact joint law of each fine cell's increment and stochastic integral."""
    cell = horizon / steps
    var_w, cov, var_i = (float(e.subs({a: curvature, sp.Symbol("h", positive=True): cell}))
                         for e in ito.ou_cell_covariance())
    decay = math.exp(-curvature * cell)

    def sample(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        z = rng.standard_normal((2, steps, size))
        dW = math.sqrt(var_w) * z[0]
        integral = cov / math.sqrt(var_w) * z[0] + math.sqrt(var_i - cov**2 / var_w) * z[1]
        exact = np.full(size, start)
        for n in range(steps):
            exact = decay * exact + volatility * integral[n]
        return dW[:, :, None], exact

    return sample


def scalar_fields(drift: sp.Expr, diffusion: sp.Expr,
                  values: dict[sp.Symbol, Any]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    r"""The scalar SDE :math:`dX = b(X)\,dt + s(X)\,dW` in the symbol ``x``, with the parameters ``values``
    substituted, in the shapes of the ``sde`` contract: drift ``(chains, 1)`` and diffusion ``(chains, 1, 1)``."""
    b = numeric.compile(sp.sympify(drift).subs(values), (x,))
    s = numeric.compile(sp.sympify(diffusion).subs(values), (x,))

    def drift_fn(state: Any, time: float) -> Any:
        return b(namespace(state), state) + 0 * state

    def diffusion_fn(state: Any, time: float) -> Any:
        return (s(namespace(state), state) + 0 * state)[:, :, None]

    return drift_fn, diffusion_fn
