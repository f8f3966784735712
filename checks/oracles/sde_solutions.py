r"""Exact solutions of the test SDEs, driven by the Brownian path the scheme under test is given.

* Geometric Brownian motion :math:`dX = \mu X\,dt + \sigma X\,dW`: :math:`X_T = X_0\exp((\mu - \sigma^2/2)T +
  \sigma W_T)`, a function of :math:`W_T` alone (:func:`sgd_conformance.theory.ito.gbm_exact_solution`).
* Ornstein–Uhlenbeck :math:`dX = -aX\,dt + \sigma\,dW`: on each cell of width h,
  :math:`X_{t+h} = e^{-ah}X_t + \sigma\int_t^{t+h} e^{-a(t+h-s)}\,dW_s`, and the pair (cell increment, stochastic
  integral) is jointly Gaussian with the covariance of :func:`sgd_conformance.theory.ito.ou_cell_covariance`
  (Glasserman 2004, §3.3): sampling it gives the fine increments and the exact path together.
* Time-dependent geometric Brownian motion :math:`dX = a(t)X\,dt + b(t)X\,dW`
  (:mod:`sgd_conformance.theory.time_dependent_sde`): :math:`X_T = X_0\exp(\int_0^T(a - b^2/2) + \int_0^T b\,dW)`,
  the Wiener integral sampled cell by cell jointly with the increments, the same way.
* The time-inhomogeneous Ornstein–Uhlenbeck process: its exact moments, and the exact moments of Euler–Maruyama on it
  (the bias a law check at a finite step carries).

:func:`finals_across_levels` runs a scheme on one path at every step size (the coupling of an order measurement).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from sgd_conformance.solvers import sde
from sgd_conformance.solvers._xp import asarray, namespace, to_numpy
from sgd_conformance.solvers.rng import brownian_increments, coarsen
from sgd_conformance.theory import ito, numeric, time_dependent_sde
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
    r"""The scalar SDE :math:`dX = b(X, t)\,dt + s(X, t)\,dW` in the symbols ``x`` and ``t``, with the parameters
    ``values`` substituted, in the shapes of the ``sde`` contract: drift ``(chains, 1)`` and diffusion
    ``(chains, 1, 1)``."""
    b = numeric.compile(sp.sympify(drift).subs(values), (x, t))
    s = numeric.compile(sp.sympify(diffusion).subs(values), (x, t))

    def drift_fn(state: Any, time: float) -> Any:
        return b(namespace(state), state, time) + 0 * state

    def diffusion_fn(state: Any, time: float) -> Any:
        return (s(namespace(state), state, time) + 0 * state)[:, :, None]

    return drift_fn, diffusion_fn


def vector_fields(drift: sp.Matrix, diffusion: sp.Matrix,
                  state: tuple[sp.Symbol, ...]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The SDE with drift ``drift`` (d x 1) and diffusion ``diffusion`` (d x m) in the coordinates ``state`` and the
    time ``t``, in the shapes of the ``sde`` contract: ``(chains, d)`` and ``(chains, d, m)``."""
    args = (*state, t)
    b = [numeric.compile(drift[i], args) for i in range(drift.shape[0])]
    s = [[numeric.compile(diffusion[i, j], args) for j in range(diffusion.shape[1])]
         for i in range(diffusion.shape[0])]

    def entries(fns: list[Any], values: Any, time: float) -> Any:
        xp = namespace(values)
        columns = [values[:, i] for i in range(len(state))]
        zero = 0 * columns[0]
        return xp.stack([fn(xp, *columns, time) + zero for fn in fns], axis=-1)

    def drift_fn(values: Any, time: float) -> Any:
        return entries(b, values, time)

    def diffusion_fn(values: Any, time: float) -> Any:
        return namespace(values).stack([entries(row, values, time) for row in s], axis=-2)

    return drift_fn, diffusion_fn


def finals_across_levels(step: sde.Step, fields: tuple[sde.Field, sde.Field], start: np.ndarray,
                         dW_fine: np.ndarray, levels: list[int], horizon: float, xp: Any) -> np.ndarray:
    """X_T of the scheme ``step`` from ``start`` (d,) with 2^j steps for each j in ``levels``, on the paths whose
    finest increments are ``dW_fine`` (steps, paths, m) (:func:`solvers.rng.coarsen`: every step size integrates the
    same Brownian path): shape ``(paths, len(levels), d)``."""
    finest = dW_fine.shape[0]
    finals = []
    for j in levels:
        dW = asarray(coarsen(dW_fine, finest // 2**j), xp)
        x_start = asarray(np.tile(np.asarray(start, dtype=float), (dW_fine.shape[1], 1)), xp)
        finals.append(to_numpy(sde.integrate(step, x_start, *fields, dW, horizon / 2**j)))
    return np.stack(finals, axis=1)


def time_dependent_gbm_sampler(start: float, steps: int, horizon: float) -> Callable[..., Any]:
    r"""Sampler ``(rng, size) -> (fine Brownian increments (steps, size, 1), exact X_T)`` of the time-dependent
    geometric Brownian motion of :func:`theory.time_dependent_sde.gbm_fields`: each fine cell's increment and Wiener
    integral :math:`\int b\,dW` drawn from their exact joint Gaussian law
    (:func:`theory.time_dependent_sde.wiener_cell_moments`), and
    :math:`X_T = X_0\exp(\int_0^T(a - b^2/2) + \sum_n J_n)`."""
    cell = horizon / steps
    tdsde = time_dependent_sde
    covariance, variance = (np.asarray(numeric.compile(e.subs(tdsde.h, cell), (tdsde.u,))(np, np.arange(steps) * cell))
                            for e in tdsde.wiener_cell_moments(tdsde.gbm_coefficients()[1]))
    slope = covariance / math.sqrt(cell)
    residual = np.sqrt(np.maximum(variance - slope**2, 0.0))  # >= 0 by Cauchy-Schwarz; O(h^3) of rounding
    log_drift = float(tdsde.gbm_log_drift().subs(t, horizon))

    def sample(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        z = rng.standard_normal((2, steps, size))
        integral = slope @ z[0] + residual @ z[1]
        return math.sqrt(cell) * z[0][:, :, None], start * np.exp(log_drift + integral)

    return sample


def ou_time_dependent_moments(start: float, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean (k,) and covariance (k, k) of the time-inhomogeneous Ornstein–Uhlenbeck process of
    :func:`theory.time_dependent_sde.ou_coefficients` at the increasing ``times``."""
    mean, variance, covariance = (e.subs(x0, start) for e in time_dependent_sde.ou_moments())
    m = np.array([float(mean.subs(t, v)) for v in times])
    cov = np.array([[float(covariance.subs({time_dependent_sde.r: min(p, q), t: max(p, q)})) for q in times]
                    for p in times])
    assert np.allclose(np.diag(cov), [float(variance.subs(t, v)) for v in times])
    return m, cov


def ou_euler_maruyama_moments(start: float, times: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact mean and covariance of Euler–Maruyama with step ``dt`` on the same process at ``times`` (multiples of
    ``dt``): :math:`m_{k+1} = (1 - \beta_k dt)m_k + \alpha_k dt`, :math:`C_{j,k+1} = (1 - \beta_k dt)C_{j,k}` for
    :math:`j \le k`, :math:`v_{k+1} = (1 - \beta_k dt)^2 v_k + s_k^2 dt`."""
    alpha, beta, noise = (numeric.compile(e, (t,)) for e in time_dependent_sde.ou_coefficients())
    steps = int(round(times[-1] / dt))
    grid = np.arange(steps) * dt
    a_k, b_k, s_k = (np.asarray(f(np, grid)) + 0 * grid for f in (alpha, beta, noise))
    at = [int(round(v / dt)) for v in times]
    mean, variance = np.empty(steps + 1), np.empty(steps + 1)
    mean[0], variance[0] = start, 0.0
    for k in range(steps):
        mean[k + 1] = (1 - b_k[k] * dt) * mean[k] + a_k[k] * dt
        variance[k + 1] = (1 - b_k[k] * dt) ** 2 * variance[k] + s_k[k] ** 2 * dt
    decay = np.concatenate([[0.0], np.cumsum(np.log1p(-b_k * dt))])
    cov = np.array([[variance[min(p, q)] * math.exp(decay[max(p, q)] - decay[min(p, q)]) for q in at] for p in at])
    return mean[at], cov
