r"""Exact second moments of SGD and of its SDE models on :math:`f = a\theta^2/2` with additive gradient noise
:math:`\sigma` (all Gaussian, so every moment is in closed form: no Monte Carlo).

SGD :math:`\theta_{k+1} = \theta_k - \eta(a\theta_k + \sigma\xi_k)` after :math:`k = t/\eta` steps, against the
stochastic modified equations :math:`dX = -\nabla\tilde f\,dt + \sqrt\eta\,\sigma\,dW` of Li, Tai & E (2017), with
:math:`\tilde f = f` (first order) or the backward-error modified loss :math:`f + \frac\eta4|\nabla f|^2` (second
order), and the gradient flow :math:`E X_t^2 = e^{-2at}x_0^2`.

The two symbolic builders below assemble closed forms of :mod:`sgd_conformance.theory` (Ornstein–Uhlenbeck moments,
the SGLD/SGD k-step law, the derived modified loss). ``sde.sme-weak-order`` measures the SGD side on the implementation
under test (its exact moment from its own steps) and sets it beside :func:`sgd_second_moment`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from sgd_conformance.theory import ito, langevin, modified_loss, numeric
from sgd_conformance.theory.symbols import a, eta, sigma, t

#: the parameter values of the claim: a = sigma = theta_0 = T = 1
VALUES = {"a": 1.0, "sigma": 1.0, "x0": 1.0, "t": 1.0}


def sme_second_moment(order: int) -> sp.Expr:
    r"""E X_T^2 of the stochastic modified equation of SGD on L = a x^2/2 with additive gradient noise sigma:
    :math:`dX = -\nabla\tilde L\,dt + \sqrt\eta\,\sigma\,dW`, with :math:`\tilde L = L` (order 1) or the backward-error
    modified loss :math:`L + (\eta/4)|\nabla L|^2` (order 2, derived by :mod:`theory.modified_loss`)."""
    q = sp.Symbol("q", real=True)
    loss = a * q**2 / 2
    if order == 2:
        loss = modified_loss.derived_modified_loss(loss, (q,))
    curvature = sp.diff(loss, q, 2)
    _, second = ito.ou_moments_additive()
    return second.subs({a: curvature, sigma: sp.sqrt(eta) * sigma}, simultaneous=True)


def sgd_second_moment() -> sp.Expr:
    """E theta_k^2 of SGD theta - eta (a theta + sigma xi) after k = t/eta steps from x0 (exact mean and variance)."""
    k = sp.Symbol("k", integer=True, nonnegative=True)
    mean = langevin.sgld_mean_after()
    variance = langevin.sgd_variance_after().subs(sp.Symbol("b", positive=True, integer=True), 1)
    return (mean**2 + variance).subs(k, t / eta)


def along_etas(expr: sp.Expr, etas: np.ndarray) -> np.ndarray:
    """``expr`` evaluated at every step size of ``etas`` (the other symbols at :data:`VALUES`), shape of ``etas``."""
    values: dict[str, Any] = {**VALUES, "eta": etas}
    used = {str(symbol) for symbol in expr.free_symbols}
    return np.broadcast_to(numeric.evaluate(expr, xp=np, **{k: v for k, v in values.items() if k in used}),
                           etas.shape)
