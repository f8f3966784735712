r"""SDEs with time-dependent coefficients whose solutions are known exactly, and a non-commutative test system.

* **Time-dependent geometric Brownian motion** :math:`dX = a(t)X\,dt + b(t)X\,dW`. Itô's formula on
  :math:`\log X` gives :math:`d\log X = (a - b^2/2)\,dt + b\,dW`, so

  .. math:: X_t = X_0\exp\Big(\int_0^t (a - b^2/2)\,ds + \int_0^t b\,dW\Big).

  With :math:`b` deterministic the stochastic integral is a Wiener integral: Gaussian, mean 0, variance
  :math:`\int_0^t b^2` (Itô isometry), so :math:`E X_t^p = X_0^p\exp(p\int_0^t a + \tfrac{p(p-1)}2\int_0^t b^2)`.
* **The exact path from the increments.** On a cell :math:`[u, u + h]` the pair
  :math:`(\Delta W, J) = (\int_u^{u+h} dW, \int_u^{u+h} g\,dW)` for a deterministic :math:`g` is jointly Gaussian
  with :math:`\mathrm{Var}\,\Delta W = h`, :math:`\mathrm{Cov} = \int_u^{u+h} g`, :math:`\mathrm{Var}\,J =
  \int_u^{u+h} g^2` (Itô isometry). :math:`J` is not a function of :math:`\Delta W` unless :math:`g` is constant on the
  cell: its conditional variance :math:`\int g^2 - (\int g)^2/h = O(h^3 g'^2)` (Cauchy–Schwarz) is the part of the
  path inside the cell. Sampling the pair on the finest grid gives the Brownian increments a scheme sees *and* the
  exact Itô solution on the same path, with no discretisation (as :func:`theory.ito.ou_cell_covariance` does for
  the Ornstein–Uhlenbeck kernel; Glasserman 2004, §3.3).
* **Time-inhomogeneous Ornstein–Uhlenbeck** :math:`dX = (\alpha(t) - \beta(t)X)\,dt + s(t)\,dW`. With
  :math:`\Phi(t) = \exp(-\int_0^t\beta)`, variation of constants gives :math:`X_t = \Phi(t)[X_0 + \int_0^t
  \alpha/\Phi\,du + \int_0^t s/\Phi\,dW_u]`: Gaussian with mean :math:`m(t) = \Phi(t)(X_0 + \int_0^t\alpha/\Phi)`,
  variance :math:`v(t) = \Phi(t)^2\int_0^t s^2/\Phi^2` and :math:`\mathrm{Cov}(X_r, X_t) = \Phi(t)v(r)/\Phi(r)` for
  :math:`r \le t`. Source: Kloeden & Platen (1992) §4.2 (linear SDEs), §4.4.
* **A non-commutative system** (d = 2, m = 3): the diffusion's columns :math:`\sigma_j` do not commute,
  :math:`L^j\sigma_k \ne L^k\sigma_j` with :math:`L^j = \sum_i \sigma_{ij}\partial_i`, so the Lévy areas enter the
  strong order-1 Itô–Taylor scheme and every scheme driven by the increments alone (Euler–Maruyama, Milstein without
  Lévy areas) has strong order 1/2 (Clark & Cameron 1980; Kloeden & Platen 1992, §10.3, Thm 10.2.2).

The coefficients share the envelope :math:`e^{-3t}` (a twenty-fold change over [0, 1]), so a scheme that reads
another time than the step's integrates a different equation.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from sgd_conformance.theory.symbols import coordinates, t, x, x0

u = sp.Symbol("u", nonnegative=True)  #: the start of a cell [u, u + h]
h = sp.Symbol("h", positive=True)  #: the width of a cell
r = sp.Symbol("r", nonnegative=True)  #: an earlier time r <= t
_s = sp.Symbol("s", nonnegative=True)  #: integration variable

#: the time envelope of every test problem
ENVELOPE = sp.exp(-3 * t)
#: the coordinates of the non-commutative system
STATE = coordinates(2, "x")


def gbm_coefficients() -> tuple[sp.Expr, sp.Expr]:
    """The rates a(t) = -1 - 2 e^(-3t) and b(t) = 0.2 + 0.4 e^(-3t) of dX = a(t) X dt + b(t) X dW."""
    return -1 - 2 * ENVELOPE, sp.Rational(1, 5) + sp.Rational(2, 5) * ENVELOPE


def gbm_fields() -> tuple[sp.Expr, sp.Expr]:
    """Drift a(t) x and diffusion b(t) x of the time-dependent geometric Brownian motion."""
    rate, volatility = gbm_coefficients()
    return rate * x, volatility * x


def _integral(expr: sp.Expr, lower: sp.Expr, upper: sp.Expr) -> sp.Expr:
    return sp.simplify(sp.integrate(expr.subs(t, _s), (_s, lower, upper)))


@cache
def gbm_log_drift() -> sp.Expr:
    r""":math:`\int_0^t (a - b^2/2)\,ds`: the deterministic part of :math:`\log(X_t/X_0)`."""
    rate, volatility = gbm_coefficients()
    return _integral(rate - volatility**2 / 2, 0, t)


@cache
def gbm_moment(power: int) -> sp.Expr:
    r""":math:`E X_t^p = X_0^p\exp(p\int_0^t a + \tfrac{p(p-1)}2\int_0^t b^2)` (log X is Gaussian)."""
    rate, volatility = gbm_coefficients()
    return x0**power * sp.exp(power * _integral(rate, 0, t) + power * (power - 1) * _integral(volatility**2, 0, t) / 2)


@cache
def wiener_cell_moments(integrand: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    r"""``(Cov(dW, J), Var J)`` on the cell [u, u + h] for :math:`J = \int_u^{u+h} g\,dW`: :math:`\int g` and
    :math:`\int g^2` over the cell (Itô isometry), in ``u`` and ``h``."""
    return _integral(integrand, u, u + h), _integral(integrand**2, u, u + h)


def ou_coefficients() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """alpha(t) = 4 (1 - e^(-3t)), beta(t) = 2/(1 + t), s(t) = 0.5 + e^(-3t) of dX = (alpha - beta X) dt + s dW
    (Phi(t) = (1 + t)^-2: every integral is elementary)."""
    return 4 * (1 - ENVELOPE), 2 / (1 + t), sp.Rational(1, 2) + ENVELOPE


@cache
def ou_moments() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    r"""Mean :math:`m(t)`, variance :math:`v(t)` and covariance :math:`\mathrm{Cov}(X_r, X_t)` (:math:`r \le t`) of
    the time-inhomogeneous Ornstein–Uhlenbeck process from :math:`X_0 = x_0`, by variation of constants."""
    alpha, beta, noise = ou_coefficients()
    log_phi = -_integral(beta, 0, t)
    inverse = sp.exp(-log_phi)
    mean = sp.exp(log_phi) * (x0 + _integral(alpha * inverse, 0, t))
    variance = sp.exp(2 * log_phi) * _integral(noise**2 * inverse**2, 0, t)
    covariance = sp.exp(log_phi - log_phi.subs(t, r)) * variance.subs(t, r)
    return sp.simplify(mean), sp.simplify(variance), sp.simplify(covariance)


def noncommutative_fields() -> tuple[sp.Matrix, sp.Matrix]:
    r"""Drift :math:`-c(t)x` and the 2 x 3 diffusion of the non-commutative test system, in :data:`STATE` and ``t``:

    .. math:: \sigma(x, t) = \begin{pmatrix} q(t) & \sin x_1 & 0.6\cos x_0 \\ \cos x_1 & q(t) & \sin x_0
              \end{pmatrix},\quad q = 0.4(1 + e^{-3t}),\ c = 0.5 + e^{-3t}.

    Bounded, globally Lipschitz and smooth: Euler–Maruyama converges with strong order exactly 1/2 (Kloeden & Platen
    1992, Thm 10.2.2); the columns do not commute (:func:`commutators`)."""
    first, second = STATE
    level = sp.Rational(2, 5) * (1 + ENVELOPE)
    drift = -(sp.Rational(1, 2) + ENVELOPE) * sp.Matrix(STATE)
    diffusion = sp.Matrix([[level, sp.sin(second), sp.Rational(3, 5) * sp.cos(first)],
                           [sp.cos(second), level, sp.sin(first)]])
    return drift, diffusion


def commutators(diffusion: sp.Matrix, state: tuple[sp.Symbol, ...] = STATE) -> list[sp.Matrix]:
    r"""The Lie brackets :math:`L^j\sigma_k - L^k\sigma_j` for j < k, :math:`L^j = \sum_i\sigma_{ij}\partial_{x_i}`: all
    zero iff the noise is commutative (then Milstein needs no Lévy areas)."""
    columns = [diffusion[:, j] for j in range(diffusion.shape[1])]

    def apply(j: int, k: int) -> sp.Matrix:
        return sum((columns[j][i] * sp.diff(columns[k], state[i]) for i in range(len(state))),
                   sp.zeros(len(state), 1))

    return [sp.simplify(apply(j, k) - apply(k, j)) for j in range(len(columns)) for k in range(j + 1, len(columns))]
