r"""SGLD in the lazy training regime (seed 000, Oberweis & Cayci, arXiv 2510.21245), derived.

The paper's theorem texts were not available (CLAIMS-DETAIL §4); the model is the catalog's derived one, in the
output scaling of Chizat, Oyallon & Bach ("lazy training is due to a choice of scaling"). For a predictor
:math:`h(\omega) \in \mathbb R^n` with Jacobian :math:`J = \partial h/\partial\omega`, output scale
:math:`\alpha` (``alpha_scale``), :math:`u = \alpha(h(\omega) - h(\omega_0))`, :math:`e = u - y` and
:math:`R(u) = \frac1{2n}\sum_i(u_i - y_i)^2`:

.. math:: L_\alpha(\omega) = \alpha^{-2}R(u),\quad \nabla\ell_i = \alpha^{-1}e_i\nabla h_i,\quad
          \nabla L_\alpha = \tfrac1n\textstyle\sum_i\nabla\ell_i,\quad
          \Sigma_\alpha = \tfrac1n\sum_i\nabla\ell_i\nabla\ell_i^\top - \nabla L_\alpha\nabla L_\alpha^\top,

.. math:: d\omega = -\nabla L_\alpha\,dt + \sqrt\eta\,\sigma_\alpha\,dB,\qquad
          \sigma_\alpha = n^{-1/2}[\nabla\ell_i - \nabla L_\alpha]_{i=1..n},\qquad
          \sigma_\alpha\sigma_\alpha^\top = \Sigma_\alpha.

In the coordinates :math:`(\omega, e)` (i.e. :math:`h(\omega_0) = h(\omega) - (e + y)/\alpha`) the gradient and the
noise factor are exactly :math:`\alpha^{-1}` times alpha-free expressions (the seed's "noise scaled by 1/alpha"), the
noise vanishes at interpolation (e = 0), and in function space, by Itô's formula,

.. math:: du = \Big(-\tfrac1nKe + \tfrac{\alpha\eta}{2}\big[\mathrm{tr}(\Sigma_\alpha\nabla^2h_i)\big]_i\Big)dt
          + \sqrt\eta\,n^{-1/2}\textstyle\sum_i(e_ik_i - Ke/n)\,dB^i,\qquad K = JJ^\top,\ k_i = Ke_i:

alpha cancels from the drift and the noise; the Itô term is :math:`O(\eta/\alpha)`. These are proved on a
2-parameter model (:func:`two_parameter_model`, :math:`h_i = \omega_0\tanh(\omega_1x_i)`). In the lazy limit
(:math:`K \equiv K_0`) :math:`M = E[ee^\top]` solves the exact linear ODE

.. math:: \dot M = -(KM + MK)/n + \eta\Big[\tfrac1n\textstyle\sum_iM_{ii}k_ik_i^\top - KMK/n^2\Big]

(:func:`lazy_moment_ode`), so :math:`\frac{d}{dt}\mathrm{tr}M = -\frac2n\mathrm{tr}(KM) + \frac\eta n(\sum_iM_{ii}
\|k_i\|^2 - \mathrm{tr}(KMK)/n) \le -\frac{2\lambda_0 - \eta\kappa}{n}\mathrm{tr}M`, :math:`\lambda_0 =
\lambda_{\min}(K)`, :math:`\kappa = \max_i\|k_i\|^2`: :math:`E\|e_t\|^2` decays at a rate >= (2 lambda_0 - eta kappa)/n
that does not depend on alpha (the seed's "O(exp(-t/alpha))" is not supported). Du et al. (2019)'s infinite-width
Gram :math:`H^\infty_{ij} = x_i^\top x_j(\pi - \arccos x_i^\top x_j)/(2\pi)` is derived from the arc-cosine kernel
:math:`J_0` of :mod:`theory.ntk` (:func:`du_gram_entry`). Their numeric evaluation (the lazy limit as a moment model,
its exact moments, the rate bound and Du's Gram on given inputs) is :mod:`checks.oracles.linearised_training`. Proved
in tests/test_theory_lazy_training.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from sgd_conformance.theory import ntk
from sgd_conformance.theory.symbols import eta

alpha = sp.Symbol("alpha_scale", positive=True)  #: output scale (the paper's alpha; CLAIMS-DETAIL namespace note)
cosine = sp.Symbol("c", real=True)  #: x_i'x_j of two unit inputs
lam0 = sp.Symbol("lambda_0", positive=True)  #: lambda_min(K_0)
kappa = sp.Symbol("kappa", positive=True)  #: max_i ||k_i||^2 = max_i (K^2)_ii

SEED_RATE = "O(exp(-t/alpha))"


@dataclass(frozen=True)
class ScaledModel:
    """The lazily scaled loss of a predictor on symbolic data, in the parameters ``omega`` and the constants
    ``offsets`` c_i = h_i(omega_0); ``residuals`` are the symbols e_i of :func:`in_residual_coordinates`."""

    omega: sp.Matrix
    inputs: tuple[sp.Symbol, ...]
    targets: sp.Matrix
    offsets: sp.Matrix
    residuals: sp.Matrix
    predictor: sp.Matrix
    jacobian: sp.Matrix
    loss: sp.Expr
    per_sample_gradients: tuple[sp.Matrix, ...]
    gradient: sp.Matrix
    covariance: sp.Matrix
    factor: sp.Matrix

    @property
    def n(self) -> int:
        return self.targets.shape[0]


@cache
def two_parameter_model(n: int = 2) -> ScaledModel:
    r"""h_i(omega) = omega_0 tanh(omega_1 x_i) on n symbolic inputs; L_alpha = alpha^-2 R(alpha(h - c)) and the
    per-sample gradients differentiated by sympy from the per-sample losses
    :math:`\ell_i = \frac{1}{2\alpha^2}(\alpha(h_i - c_i) - y_i)^2`."""
    omega = sp.Matrix(sp.symbols("omega_0 omega_1", real=True))
    inputs = tuple(sp.Symbol(f"x_{i}", real=True) for i in range(n))
    targets = sp.Matrix([sp.Symbol(f"y_{i}", real=True) for i in range(n)])
    offsets = sp.Matrix([sp.Symbol(f"c_{i}", real=True) for i in range(n)])
    residuals = sp.Matrix([sp.Symbol(f"e_{i}", real=True) for i in range(n)])
    predictor = sp.Matrix([omega[0] * sp.tanh(omega[1] * xi) for xi in inputs])
    jacobian = predictor.jacobian(omega)
    per_sample_losses = [(alpha * (predictor[i] - offsets[i]) - targets[i]) ** 2 / (2 * alpha**2) for i in range(n)]
    per_sample = tuple(sp.Matrix([sp.diff(loss, w) for w in omega]) for loss in per_sample_losses)
    loss = sum(per_sample_losses) / n
    gradient = sp.Matrix([sp.diff(loss, w) for w in omega])
    covariance = sum((g * g.T for g in per_sample), sp.zeros(2, 2)) / n - gradient * gradient.T
    factor = sp.Matrix.hstack(*[g - gradient for g in per_sample]) / sp.sqrt(n)
    return ScaledModel(omega, inputs, targets, offsets, residuals, predictor, jacobian, loss, per_sample, gradient,
                       covariance, factor)


def in_residual_coordinates(expr: sp.Expr | sp.Matrix, model: ScaledModel) -> sp.Expr | sp.Matrix:
    """Rewrite ``expr`` in (omega, e): c_i = h_i(omega) - (e_i + y_i)/alpha, then expand."""
    values = {model.offsets[i]: model.predictor[i] - (model.residuals[i] + model.targets[i]) / alpha
              for i in range(model.n)}
    return sp.expand(expr.subs(values))


def _alpha_free(expr: sp.Expr | sp.Matrix) -> bool:
    return alpha not in sp.expand(expr).free_symbols


def gradient_is_order_one_over_alpha(n: int = 2) -> bool:
    r""":math:`\alpha\nabla L_\alpha = \frac1nJ^\top e` exactly: alpha-free in (omega, e)."""
    model = two_parameter_model(n)
    scaled = in_residual_coordinates(alpha * model.gradient, model)
    return _alpha_free(scaled) and sp.expand(scaled - model.jacobian.T * model.residuals / n) == sp.zeros(2, 1)


def factor_is_order_one_over_alpha(n: int = 2) -> bool:
    r""":math:`\alpha\sigma_\alpha = n^{-1/2}[e_i\nabla h_i - J^\top e/n]_i` exactly: alpha-free in (omega, e)."""
    model = two_parameter_model(n)
    scaled = in_residual_coordinates(alpha * model.factor, model)
    mean = model.jacobian.T * model.residuals / n
    closed = sp.Matrix.hstack(*[model.residuals[i] * model.jacobian[i, :].T - mean for i in range(n)]) / sp.sqrt(n)
    return _alpha_free(scaled) and sp.expand(scaled - closed) == sp.zeros(2, n)


def factor_reproduces_covariance(n: int = 2) -> bool:
    r""":math:`\sigma_\alpha\sigma_\alpha^\top = \Sigma_\alpha` identically (n scalar Brownian motions suffice)."""
    model = two_parameter_model(n)
    return sp.expand(model.factor * model.factor.T - model.covariance) == sp.zeros(2, 2)


def noise_vanishes_at_interpolation(n: int = 2) -> bool:
    """Sigma_alpha = 0 where e = 0 (u = y): the noise is multiplicative and vanishes at interpolation."""
    model = two_parameter_model(n)
    at_zero = in_residual_coordinates(model.covariance, model).subs({e: 0 for e in model.residuals})
    return sp.expand(at_zero) == sp.zeros(2, 2)


@cache
def function_space_fields(n: int = 2) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    r"""(drift, noise factor, Itô term) of :math:`u = \alpha(h(\omega) - c)` by Itô's formula, in (omega, e):
    :math:`du_i = \alpha\nabla h_i^\top d\omega + \frac{\alpha\eta}{2}\mathrm{tr}(\Sigma_\alpha\nabla^2h_i)\,dt`."""
    model = two_parameter_model(n)
    ito = sp.Matrix([alpha * eta / 2 * (model.covariance * sp.hessian(model.predictor[i], model.omega)).trace()
                     for i in range(n)])
    drift = -alpha * model.jacobian * model.gradient + ito
    noise = alpha * model.jacobian * sp.sqrt(eta) * model.factor
    return (in_residual_coordinates(drift, model), in_residual_coordinates(noise, model),
            in_residual_coordinates(ito, model))


def function_space_alpha_cancels(n: int = 2) -> bool:
    r"""In function space the noise is :math:`\sqrt\eta\,n^{-1/2}[e_ik_i - Ke/n]_i` and the drift is
    :math:`-Ke/n + O(\eta/\alpha)`: the noise and :math:`\alpha(\mathrm{drift} + Ke/n)` are alpha-free."""
    model = two_parameter_model(n)
    drift, noise, ito = function_space_fields(n)
    kernel = model.jacobian * model.jacobian.T
    ke = kernel * model.residuals
    closed = sp.Matrix.hstack(*[model.residuals[i] * kernel[:, i] - ke / n for i in range(n)]) * sp.sqrt(eta / n)
    return (_alpha_free(noise) and sp.expand(noise - closed) == sp.zeros(n, n)
            and sp.expand(drift - ito + ke / n) == sp.zeros(n, 1) and _alpha_free(alpha * ito)
            and sp.expand(alpha * ito) != sp.zeros(n, 1))


# --- the lazy limit: exact second moment and its rate -----------------------------------------------------------


def _symmetric(name: str, n: int) -> sp.Matrix:
    return sp.Matrix(n, n, lambda i, j: sp.Symbol(f"{name}_{min(i, j)}{max(i, j)}", real=True))


@cache
def lazy_moment_ode(n: int) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix, sp.Matrix]:
    r"""(dM/dt derived, the catalog's closed form, K, M) for :math:`de = -\frac1nKe\,dt + \sqrt\eta\,\sigma(e)\,dB`,
    :math:`\sigma(e) = n^{-1/2}[e_ik_i - Ke/n]_i`: Itô gives
    :math:`\dot M = E[be^\top + eb^\top + \eta\sigma\sigma^\top]`, quadratic in e, so :math:`E e_ie_j = M_{ij}`
    closes it exactly."""
    kernel, second = _symmetric("K", n), _symmetric("M", n)
    e = sp.Matrix([sp.Symbol(f"e_{i}", real=True) for i in range(n)])
    drift = -kernel * e / n
    factor = sp.Matrix.hstack(*[e[i] * kernel[:, i] - kernel * e / n for i in range(n)]) / sp.sqrt(n)
    pointwise = sp.expand(drift * e.T + e * drift.T + eta * factor * factor.T)
    expectation = {e[i] * e[j]: second[i, j] for i in range(n) for j in range(n)} | {e[i] ** 2: second[i, i]
                                                                                     for i in range(n)}
    derived = pointwise.applyfunc(lambda entry: sp.expand(entry).subs(expectation))
    closed = -(kernel * second + second * kernel) / n + eta * (
        sum((second[i, i] * kernel[:, i] * kernel[:, i].T for i in range(n)), sp.zeros(n, n)) / n
        - kernel * second * kernel / n**2)
    return derived, closed, kernel, second


def moment_ode_matches_closed_form(n: int) -> bool:
    """The derived second-moment ODE equals the catalog's M-ODE (CLAIMS-DETAIL 3.4) identically."""
    derived, closed, _, _ = lazy_moment_ode(n)
    return sp.expand(derived - closed) == sp.zeros(n, n)


def trace_derivative_identity(n: int) -> bool:
    r""":math:`\frac{d}{dt}\mathrm{tr}M = -\frac2n\mathrm{tr}(KM) + \frac\eta n\big(\sum_iM_{ii}\|k_i\|^2 -
    \mathrm{tr}(KMK)/n\big)`, the identity behind :data:`RATE_BOUND`: with M PSD, tr(KM) >= lambda_0 tr M,
    sum_i M_ii ||k_i||^2 <= kappa tr M and tr(KMK) >= 0."""
    derived, _, kernel, second = lazy_moment_ode(n)
    closed = (-2 * (kernel * second).trace() / n
              + eta / n * (sum(second[i, i] * (kernel[:, i].T * kernel[:, i])[0, 0] for i in range(n))
                           - (kernel * second * kernel).trace() / n))
    return sp.expand(derived.trace() - closed) == 0


n_samples = sp.Symbol("n", positive=True, integer=True)  #: number of training inputs
#: the alpha-free rate bound of E||e_t||^2 (valid for eta < 2 lambda_0 / kappa)
RATE_BOUND = (2 * lam0 - eta * kappa) / n_samples


# --- Du et al. (2019): the infinite-width Gram of the first layer ------------------------------------------------

#: H_inf(x_i, x_j) for unit inputs, as written by Du, Zhai, Poczos & Singh (ICLR 2019), with c = x_i'x_j
DU_CLOSED = cosine * (sp.pi - sp.acos(cosine)) / (2 * sp.pi)


@cache
def du_gram_entry() -> sp.Expr:
    r""":math:`H^\infty_{ij} = E_{w\sim N(0,I)}[x_i^\top x_j\,1\{w^\top x_i > 0\}1\{w^\top x_j > 0\}]` for unit
    inputs: (u, v) = (w'x_i, w'x_j) are standard normal with correlation c = cos theta, so the expectation is
    :math:`c\,J_0(\theta)/(2\pi)` with the arc-cosine kernel J_0 derived in :func:`theory.ntk.arccos_kernel`
    (theta = arccos c). Hypothesis: ||x_i|| = ||x_j|| = 1 (the first layer of f = m^-1/2 sum_r a_r relu(w_r'x),
    a_r = +-1, trained alone)."""
    return cosine * ntk.arccos_kernel(0).subs(ntk.theta, sp.acos(cosine)) / (2 * sp.pi)
