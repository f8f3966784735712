r"""Exact laws of overdamped Langevin dynamics and of its Euler discretisation (SGLD) on quadratics.

Convention (the contract's): target density ∝ exp(-L/T);

.. math:: d\theta = -\nabla L\,dt + \sqrt{2T}\,dW, \qquad
          \theta_{k+1} = \theta_k - \eta \nabla L(\theta_k) + \sqrt{2\eta T}\,\xi_k,\ \xi_k \sim N(0, I).

On L = a x^2/2 both are Gaussian (Ornstein–Uhlenbeck and AR(1)); for L = θ'Hθ/2 with symmetric H every
eigen-direction of H is an independent copy with a = eigenvalue. All formulas below are *derived* here
from the moment recursions (discrete) and moment ODEs (continuous), not typed in; they are proved against
independent derivations in ``tests/test_theory_langevin.py``.
Source: seed 002 (Langevin -> Gibbs); CLAIMS-DETAIL §9.1–9.2.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from sgd_conformance.theory.symbols import T, a, b, eta, k, sigma, t, x0


@cache
def sgld_step_factor() -> sp.Expr:
    r"""Contraction factor of one SGLD step on L = a x^2/2: :math:`x_{k+1} = (1 - \eta a) x_k + \sqrt{2\eta T}\xi`."""
    return 1 - eta * a


def _ar1_stationary_variance(noise_variance: sp.Expr) -> sp.Expr:
    """Fixed point of v = (1 - eta a)^2 v + noise_variance (the AR(1) of a gradient step on a x^2/2)."""
    v = sp.Symbol("v")
    (solution,) = sp.solve(sp.Eq(v, sgld_step_factor() ** 2 * v + noise_variance), v)
    return sp.factor(sp.simplify(solution))


def _ar1_variance_after(noise_variance: sp.Expr) -> sp.Expr:
    """Variance after k steps from a point: solves v_{k+1} = (1 - eta a)^2 v_k + noise_variance, v_0 = 0."""
    v = sp.Function("v")
    return sp.simplify(sp.rsolve(v(k + 1) - sgld_step_factor() ** 2 * v(k) - noise_variance, v(k), {v(0): 0}))


@cache
def sgld_stationary_variance() -> sp.Expr:
    r"""Stationary variance of SGLD on L = a x^2/2, the fixed point of :math:`v = (1-\eta a)^2 v + 2\eta T`.

    Equals :math:`T / (a (1 - \eta a / 2))` for :math:`0 < \eta a < 2`; the Gibbs variance T/a as eta -> 0.
    """
    return _ar1_stationary_variance(2 * eta * T)


@cache
def sgld_mean_after() -> sp.Expr:
    """Mean of SGLD on L = a x^2/2 after k steps from x0: solves m_{k+1} = (1 - eta a) m_k, m_0 = x0."""
    m = sp.Function("m")
    return sp.rsolve(m(k + 1) - sgld_step_factor() * m(k), m(k), {m(0): x0})


@cache
def sgld_variance_after() -> sp.Expr:
    r"""Variance of SGLD on L = a x^2/2 after k steps from a point: :math:`v_\infty (1 - (1-\eta a)^{2k})`.

    Solves :math:`v_{k+1} = (1-\eta a)^2 v_k + 2\eta T`, :math:`v_0 = 0`.
    """
    return _ar1_variance_after(2 * eta * T)


@cache
def ou_moments() -> tuple[sp.Expr, sp.Expr]:
    r"""Mean and variance at time t of :math:`dx = -a x\,dt + \sqrt{2T}\,dW`, :math:`x(0) = x_0`.

    From the moment ODEs :math:`m' = -a m`, :math:`v' = -2 a v + 2T` (Itô), :math:`v(0) = 0`:
    :math:`m = x_0 e^{-at}`, :math:`v = (T/a)(1 - e^{-2at})`.
    """
    m, v = sp.Function("m"), sp.Function("v")
    mean = sp.dsolve(sp.Eq(m(t).diff(t), -a * m(t)), m(t), ics={m(0): x0}).rhs
    var = sp.dsolve(sp.Eq(v(t).diff(t), -2 * a * v(t) + 2 * T), v(t), ics={v(0): 0}).rhs
    return sp.simplify(mean), sp.simplify(var)


@cache
def quadratic_mean_loss_excess() -> sp.Expr:
    r"""Per-direction stationary :math:`E[L] - L^*` of SGLD on L = a x^2/2.

    :math:`a v_\infty / 2 = (T/2)/(1 - \eta a/2)`.

    Summed over the eigenvalues of H this is the finite-step equipartition; at eta = 0 it is T/2 per
    direction (Gibbs equipartition, E[L] - L* = d T / 2).
    """
    return sp.simplify(a * sgld_stationary_variance() / 2)


@cache
def sgd_stationary_variance() -> sp.Expr:
    r"""Stationary variance of SGD on L = a x^2/2 with minibatch gradient noise of variance sigma^2/b:

    .. math:: \theta_{k+1} = \theta_k - \eta\,(a\theta_k + (\sigma/\sqrt b)\,\xi_k),\qquad
              V(\eta, b) = \frac{\eta\sigma^2}{b\,a\,(2 - \eta a)} = \frac{\eta\sigma^2}{2ab}\,\frac{1}{1 - \eta a/2}.

    To first order in eta this is the Gibbs variance at the lecture's temperature eps = eta/b
    (T = eps/2 with the gradient-noise scale sigma^2); the exact value is not a function of eta/b alone.
    Source: seed 002 ("temperature eps = eta/b"); CLAIMS-DETAIL §1.13.
    """
    return _ar1_stationary_variance(eta**2 * sigma**2 / b)


@cache
def sgd_variance_after() -> sp.Expr:
    """Variance of that SGD chain after k steps from a point (v_0 = 0)."""
    return _ar1_variance_after(eta**2 * sigma**2 / b)


@cache
def sgd_temperature_ratio() -> sp.Expr:
    r""":math:`V(2\eta, 2b)/V(\eta, b) = (2 - \eta a)/(2 - 2\eta a)`: doubling step and batch together keeps
    eta/b, and would keep the variance if "temperature = eta/b" were exact; it does not."""
    v = sgd_stationary_variance()
    return sp.factor(sp.simplify(v.subs({eta: 2 * eta, b: 2 * b}, simultaneous=True) / v))
