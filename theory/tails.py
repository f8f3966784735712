r"""Heavy tails of the least-squares SDE and of online SGD: critical moments, moment equations, tail indices.

**The SDE (seed 001).** For the scalar Itô SDE :math:`d\delta = -h\delta\,dt + \sqrt{\gamma(v\delta^2 + 2w\delta +
c)}\,dB` (positive diffusion) the zero-flux invariant density :math:`p \propto \sigma^{-2}\exp\int 2b/\sigma^2`
(:func:`theory.fokker_planck.invariant_density_1d`) has :math:`p'/p = (2b - (\sigma^2)')/\sigma^2`, so
:math:`x\,(\log p)' \to -2 - 2h/(\gamma v)` and :math:`p(\delta) \sim |\delta|^{-2-2h/(\gamma v)}`: moments exist
exactly for :math:`q < \alpha(\gamma) = 1 + 2h/(\gamma v)` (:func:`critical_moment_1d`), finite for every
:math:`\gamma > 0` — the tail is heavy at *every* fixed step, not only a "sufficiently large" one. The population
model (:func:`theory.sde_models.population_least_squares_1d`: :math:`v = 2h^2`, :math:`c = s^2h`) has
:math:`\alpha = \nu = 1 + 1/(\gamma h)`, its invariant law being exactly :math:`(s/\sqrt{2h\nu})\,t_\nu`. A scheme that
converges to the Stratonovich solution adds :math:`(\sigma^2)'/4` to the drift: :math:`\nu' = 1/(\gamma h) = \nu - 1`.

**Finite time.** Itô's formula on :math:`\delta^q` closes on even moments (:func:`even_moment_system`):
:math:`\dot m_q = -\lambda_q m_q + \tfrac12 q(q-1)\gamma s^2h\,m_{q-2}`, :math:`\lambda_q = qh(1 - (q-1)\gamma h)`, a
triangular linear system: every moment is finite at every finite t ("no heavy tail in finite time", seed 001
citing the paper's Prop 4.9), and :math:`m_q(t)` converges iff :math:`\lambda_2, \dots, \lambda_q > 0` iff
:math:`q < \nu`.

**Discrete SGD (Gürbüzbalaban, Şimşekli & Zhu 2021).** Online SGD in 1-D is the random affine recursion
:math:`\delta' = A\delta + B`, :math:`A = 1 - (\gamma/b)\sum_{j\le b} x_j^2`; by Kesten–Goldie (Goldie 1991, Thm 4.1)
its stationary tail is :math:`P(|\delta| > x) \sim Cx^{-\alpha}` with :math:`E|A|^\alpha = 1`
(:func:`checks.oracles.tails.sgd_tail_index`), not the SDE's :math:`1 + b/(\gamma h)`. The Euler–Maruyama chain of
the SDE is such a recursion too (:func:`checks.oracles.tails.em_tail_index`): its tail index tends to
:math:`\alpha(\gamma)` as dt -> 0. Here: the closed forms these quadratures use and check against
(:func:`gaussian_absolute_moment`, :func:`sgd_second_multiplier_moment`, :func:`sgd_even_moment_map`); the exact law
of Hill's estimator is :func:`checks.oracles.tails.hill_oracle`. Sources: seed 001 (arXiv 2407.02322; the paper's
Prop 4.9 and its formula for alpha(gamma) were not available: derived here); CLAIMS-DETAIL §4.7, §4.8, §9.4, §9.6;
Hill (1975); Goldie (1991); Winkelbauer (2012) for Gaussian absolute moments. Proved in tests/test_theory_tails.py.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from sgd_conformance.theory import fokker_planck, sde_models
from sgd_conformance.theory.symbols import x

h, s, gamma = sde_models.h, sde_models.s, sde_models.gamma
v = sp.Symbol("v", positive=True)  #: quadratic coefficient of sigma^2 / gamma (the noise's growth)
w = sp.Symbol("w", real=True)  #: half the linear coefficient of sigma^2 / gamma (the catalog's b)
c = sp.Symbol("c", positive=True)  #: constant coefficient of sigma^2 / gamma (with v c > w^2: sigma^2 > 0)


# --- the SDE: critical moment from the invariant density ----------------------------------------------------------


def general_model_1d() -> tuple[sp.Expr, sp.Expr]:
    """(drift, diffusion squared) of d delta = -h delta dt + sqrt(gamma (v delta^2 + 2 w delta + c)) dB, in ``x``."""
    return -h * x, gamma * (v * x**2 + 2 * w * x + c)


def invariant_log_derivative(drift: sp.Expr, diffusion_squared: sp.Expr, var: sp.Symbol = x) -> sp.Expr:
    r""":math:`p'/p` of the invariant density, solved from zero Itô flux :math:`b p - \tfrac12(\sigma^2 p)' = 0`
    (:func:`theory.fokker_planck.ito_flux_1d`): :math:`(2b - (\sigma^2)')/\sigma^2`, without integrating."""
    density = sp.Function("p")(var)
    flux = fokker_planck.ito_flux_1d(drift, diffusion_squared, density, var)
    (slope,) = sp.solve(flux, sp.diff(density, var))
    return sp.simplify(slope / density)


def tail_exponent(drift: sp.Expr, diffusion_squared: sp.Expr, var: sp.Symbol = x) -> sp.Expr:
    r"""kappa with :math:`p(x) \sim |x|^{-\kappa}` at both ends: :math:`-\lim x\,(\log p)'(x)` as x -> ±oo (the
    smaller of the two)."""
    slope = var * invariant_log_derivative(drift, diffusion_squared, var)
    ends = [sp.simplify(-sp.limit(slope, var, end)) for end in (sp.oo, -sp.oo)]
    return ends[0] if sp.simplify(ends[0] - ends[1]) == 0 else sp.Min(*ends)


def critical_moment(drift: sp.Expr, diffusion_squared: sp.Expr, var: sp.Symbol = x) -> sp.Expr:
    r""":math:`E|X|^q = \int |x|^{q-\kappa}` converges at infinity iff :math:`q < \kappa - 1`: returns kappa - 1."""
    return sp.simplify(tail_exponent(drift, diffusion_squared, var) - 1)


def critical_moment_1d() -> sp.Expr:
    """alpha(gamma) of the general 1-D model (:func:`general_model_1d`): 1 + 2h/(gamma v)."""
    return critical_moment(*general_model_1d())


def population_critical_moment() -> sp.Expr:
    """alpha(gamma) of the population model: 1 + 1/(gamma h) (v = 2h^2, c = s^2 h)."""
    return critical_moment(*sde_models.population_least_squares_1d())


def population_student_t() -> tuple[sp.Expr, sp.Expr]:
    """(nu, scale) of the population model's invariant law, read off the derived density."""
    drift, diffusion_squared = sde_models.population_least_squares_1d()
    return fokker_planck.student_t_parameters(fokker_planck.invariant_density_1d(drift, diffusion_squared, x), x)


def stratonovich_as_ito(drift: sp.Expr, diffusion_squared: sp.Expr, var: sp.Symbol = x) -> sp.Expr:
    r"""Itô drift of the Stratonovich SDE with the same coefficients: :math:`b + \tfrac14(\sigma^2)'`."""
    return sp.expand(drift + sp.diff(diffusion_squared, var) / 4)


def population_stratonovich_critical_moment() -> sp.Expr:
    """The population model integrated in the Stratonovich sense (e.g. by stochastic Heun): 1/(gamma h) = nu - 1."""
    drift, diffusion_squared = sde_models.population_least_squares_1d()
    return critical_moment(stratonovich_as_ito(drift, diffusion_squared), diffusion_squared)


def student_t_absolute_moment(order: sp.Expr, nu: sp.Expr, scale: sp.Expr) -> sp.Expr:
    r""":math:`E|cT|^q = c^q\nu^{q/2}\Gamma(\tfrac{q+1}2)\Gamma(\tfrac{\nu-q}2)/(\sqrt\pi\,\Gamma(\tfrac\nu2))` for
    :math:`T \sim t_\nu`, q < nu (infinite otherwise)."""
    order, nu = sp.sympify(order), sp.sympify(nu)
    if (order - nu).is_nonnegative:
        return sp.oo
    return sp.simplify(scale**order * nu ** (order / 2) * sp.gamma((order + 1) / 2) * sp.gamma((nu - order) / 2)
                       / (sp.sqrt(sp.pi) * sp.gamma(nu / 2)))


# --- the SDE: exact even-moment equations ---------------------------------------------------------------------


def even_moment_system(order: int, drift: sp.Expr | None = None, diffusion_squared: sp.Expr | None = None) -> sp.Matrix:
    r"""G with :math:`\dot z = Gz`, :math:`z = (1, m_2, m_4, \dots, m_{\text{order}})`, :math:`m_q = E\delta^q`, from
    the generator :math:`\mathcal L x^q = b\,q x^{q-1} + \tfrac12\sigma^2 q(q-1)x^{q-2}` (Itô); default: the
    population model. Raises if the generator does not map even monomials to even monomials of degree <= q."""
    if drift is None or diffusion_squared is None:
        drift, diffusion_squared = sde_models.population_least_squares_1d()
    size = order // 2 + 1
    out = sp.zeros(size, size)
    for i in range(1, size):
        q = 2 * i
        image = sp.Poly(sp.expand(drift * q * x ** (q - 1) + diffusion_squared * q * (q - 1) * x ** (q - 2) / 2), x)
        for (degree,), coefficient in image.terms():
            if degree % 2 or degree > q:
                raise ValueError(f"the generator maps x^{q} to degree {degree}: even moments do not close")
            out[i, degree // 2] = coefficient
    return out


def even_moment_rates(order: int) -> list[sp.Expr]:
    """lambda_q = -G_qq for q = 2, 4, ..., order (population model): q h (1 - (q - 1) gamma h)."""
    g = even_moment_system(order)
    return [sp.factor(-g[i, i]) for i in range(1, g.shape[0])]


def even_moments(order: int, time: sp.Expr, values: dict[sp.Symbol, sp.Expr], start: float = 0) -> sp.Matrix:
    """Exact (m_2, ..., m_order) at ``time`` (a number or a symbol) from delta_0 = ``start``, by the matrix
    exponential of the triangular system (Jordan blocks where two rates coincide)."""
    g = even_moment_system(order).subs(values)
    z0 = sp.Matrix([sp.sympify(start) ** (2 * i) for i in range(g.shape[0])])
    return sp.simplify((g * time).exp() * z0)[1:, 0]


def stationary_even_moments(order: int, values: dict[sp.Symbol, sp.Expr]) -> sp.Matrix:
    """The fixed point (m_2, ..., m_order) of the system (the limit when every rate is positive)."""
    g = even_moment_system(order).subs(values)
    return -g[1:, 1:].LUsolve(g[1:, 0])


# --- discrete chains: Kesten–Goldie tail indices ------------------------------------------------------------------


def gaussian_absolute_moment(mean: float, sd: float, power: float) -> mpmath.mpf:
    r""":math:`E|\mu + \sigma Z|^\alpha = \sigma^\alpha 2^{\alpha/2}\Gamma(\tfrac{\alpha+1}2)\pi^{-1/2}\,
    {}_1F_1(-\tfrac\alpha2; \tfrac12; -\tfrac{\mu^2}{2\sigma^2})` (Winkelbauer 2012, eq. 17)."""
    mean, sd, power = mpmath.mpf(mean), mpmath.mpf(sd), mpmath.mpf(power)
    return (sd**power * 2 ** (power / 2) * mpmath.gamma((power + 1) / 2) / mpmath.sqrt(mpmath.pi)
            * mpmath.hyp1f1(-power / 2, mpmath.mpf(1) / 2, -(mean**2) / (2 * sd**2)))




def sde_tail_index_of_sgd(gamma_: float, batch: int = 1, curvature: float = 1.0) -> float:
    """What the SDE model predicts for SGD with batch b: alpha(gamma/b) = 1 + b/(gamma h)."""
    return float(population_critical_moment().subs({gamma: sp.Float(gamma_) / batch, h: curvature}))


def sgd_second_multiplier_moment(batch: int) -> sp.Expr:
    r""":math:`E A^2 = 1 - 2\gamma h + \gamma^2h^2(b + 2)/b` (:math:`E(\chi^2_b)^m = 2^m (b/2)_m`):
    alpha_SGD > 2 iff E A^2 < 1 iff :math:`\gamma h < 2b/(b + 2)` (b = 1: 2/3)."""
    y = sp.Symbol("y", positive=True)
    square = sp.Poly(sp.expand((1 - gamma * h * y / batch) ** 2), y)
    return sp.expand(sum(coef * sp.rf(sp.Rational(batch, 2), deg) * 2**deg for (deg,), coef in square.terms()))


def sgd_even_moment_map(order: int) -> sp.Matrix:
    r"""P with :math:`z' = Pz`, :math:`z = (1, m_2, \dots, m_{\text{order}})`, for online SGD with b = 1:
    :math:`\delta' = A\delta + B`, :math:`A = 1 - \gamma x^2`, :math:`B = \gamma x\xi`, x ~ N(0, h), xi ~ N(0, s^2)
    independent of delta: :math:`E\delta'^q = \sum_{j\,\text{even}}\binom qj E[A^{q-j}B^j]\,m_{q-j}` (odd j vanish
    because xi is symmetric); Gaussian moments :math:`E x^{2m} = (2m-1)!!\,h^m`."""
    u = sp.Symbol("u", real=True)

    def gaussian_expectation(poly: sp.Expr, variance: sp.Expr) -> sp.Expr:
        return sum(coef * (variance ** (deg // 2) * sp.factorial2(deg - 1) if deg % 2 == 0 else 0)
                   for (deg,), coef in sp.Poly(sp.expand(poly), u).terms())

    size = order // 2 + 1
    out = sp.zeros(size, size)
    out[0, 0] = 1
    for i in range(1, size):
        q = 2 * i
        for j in range(0, q + 1, 2):
            feature = gaussian_expectation((1 - gamma * u**2) ** (q - j) * (gamma * u) ** j, h)
            label = gaussian_expectation(u**j, s**2)
            out[i, (q - j) // 2] += sp.binomial(q, j) * feature * label
    return out.applyfunc(sp.expand)


def sgd_stationary_even_moments(order: int, values: dict[sp.Symbol, sp.Expr]) -> sp.Matrix:
    """Fixed point (m_2, ..., m_order) of :func:`sgd_even_moment_map` (finite iff E A^q < 1 for q <= order)."""
    p_ = sgd_even_moment_map(order).subs(values)
    return (sp.eye(p_.shape[0] - 1) - p_[1:, 1:]).LUsolve(p_[1:, 0])
