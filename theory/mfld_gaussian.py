r"""Mean-field Langevin dynamics in closed form: Gaussian laws under moment functionals, and the OU KL flow.

Convention (Nitanda–Wu–Suzuki; suite T = lambda): :math:`L(q) = F(q) + \lambda\int q\log q`, proximal Gibbs law
:math:`p_q \propto \exp(-\lambda^{-1}\,\delta F/\delta q)`,
:math:`d\theta = -\nabla\frac{\delta F}{\delta q}(q_t)(\theta)\,dt + \sqrt{2\lambda}\,dW`.

Problem (d = 1): :math:`F(q) = \tfrac\kappa2(m - y)^2 + c\,m + \tfrac a2 s`, with :math:`m = E_q\theta`,
:math:`s = E_q\theta^2`. The first variation follows from the chain rule on the linear functionals m, s:
:math:`\delta F/\delta q(\theta) = F_m\theta + F_s\theta^2`. Everything below is *derived* (Gaussian expectations
of polynomials, dsolve/rsolve of the moment equations), not typed in; ``tests/test_theory_mfld_gaussian.py``
compares it with the catalog's formulas (§9.11–12). The catalog's Gaussian case is kappa = 1, c = 0, a = 2 lambda';
the tight case of 2.4 and the non-interacting quadratic of 2.6 are kappa = 0.
Source: seed 004; CLAIMS-DETAIL §3 (2.1, 2.4, 2.6, free-energy row), §8 (T = lambda), §9.11–12.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from sgd_conformance.theory import langevin
from sgd_conformance.theory.symbols import T, a, eta, t

lam = T  #: the MFLD temperature lambda (suite convention T = lambda)
kappa = sp.Symbol("kappa", nonnegative=True)  #: interaction strength (0: F linear in q)
y = sp.Symbol("y", real=True)  #: target of the mean
c = sp.Symbol("c", real=True)  #: linear potential coefficient
m = sp.Symbol("m", real=True)  #: mean of q
v = sp.Symbol("v", positive=True)  #: variance of q
m0 = sp.Symbol("m0", real=True)  #: initial mean
v0 = sp.Symbol("v0", positive=True)  #: initial variance
M = sp.Symbol("M", positive=True, integer=True)  #: particles per replica
theta = sp.Symbol("theta", real=True)
_s = sp.Symbol("s", positive=True)  # second moment E_q theta^2


def gaussian_expectation(expr: sp.Expr, mean: sp.Expr, var: sp.Expr) -> sp.Expr:
    """E[expr(theta)] for theta ~ N(mean, var), expr a polynomial in theta (moments up to order 4)."""
    moments = [1, mean, mean**2 + var, mean**3 + 3 * mean * var, mean**4 + 6 * mean**2 * var + 3 * var**2]
    poly = sp.Poly(sp.expand(expr), theta)
    if poly.degree() > 4:
        raise ValueError("polynomials of degree <= 4 only")
    return sp.expand(sum(coef * moments[deg] for (deg,), coef in poly.terms()))


def _log_gaussian(mean: sp.Expr, var: sp.Expr) -> sp.Expr:
    return -sp.log(2 * sp.pi * var) / 2 - (theta - mean) ** 2 / (2 * var)


@cache
def gaussian_kl() -> sp.Expr:
    r""":math:`KL(N(m, v)\|N(m_2, v_2)) = E_q[\log q - \log p]`, in symbols m, v, m2, v2."""
    m2, v2 = sp.symbols("m2 v2", positive=True)
    return sp.simplify(gaussian_expectation(sp.expand(_log_gaussian(m, v) - _log_gaussian(m2, v2)), m, v))


@cache
def gaussian_fisher() -> sp.Expr:
    r""":math:`I(N(m, v)\|N(m_2, v_2)) = E_q|\partial_\theta\log(q/p)|^2`, in symbols m, v, m2, v2."""
    m2, v2 = sp.symbols("m2 v2", positive=True)
    score = sp.diff(_log_gaussian(m, v) - _log_gaussian(m2, v2), theta)
    return sp.simplify(gaussian_expectation(score**2, m, v))


def _between(expr: sp.Expr, mean: sp.Expr, var: sp.Expr) -> sp.Expr:
    m2, v2 = sp.symbols("m2 v2", positive=True)
    return expr.subs({m2: mean, v2: var}, simultaneous=True)


# --- plain Langevin = OU (2.1) ---------------------------------------------------------------------------------

@cache
def ou_flow() -> tuple[sp.Expr, sp.Expr]:
    r"""(m_t, v_t) of :math:`dX = -X\,dt + \sqrt2\,dW` from N(m0, v0): the moment ODEs m' = -m, v' = -2v + 2."""
    mf, vf = sp.Function("m"), sp.Function("v")
    mean = sp.dsolve(sp.Eq(mf(t).diff(t), -mf(t)), mf(t), ics={mf(0): m0}).rhs
    var = sp.dsolve(sp.Eq(vf(t).diff(t), -2 * vf(t) + 2), vf(t), ics={vf(0): v0}).rhs
    return sp.simplify(mean), sp.simplify(var)


@cache
def ou_kl_and_fisher() -> tuple[sp.Expr, sp.Expr]:
    r"""KL(N(m, v) || N(0, 1)) and the relative Fisher information I, in m, v (catalog: ½(v + m² − 1 − ln v),
    (v − 1)²/v + m²)."""
    return sp.simplify(_between(gaussian_kl(), 0, 1)), sp.simplify(_between(gaussian_fisher(), 0, 1))


@cache
def ou_kl_dissipation_holds() -> bool:
    r""":math:`\frac{d}{dt}KL(\rho_t\|q) + I(\rho_t\|q) = 0` along the OU flow from any Gaussian start (sympy)."""
    kl, fisher = ou_kl_and_fisher()
    mean, var = ou_flow()
    along = {m: mean, v: var}
    return sp.simplify(sp.diff(kl.subs(along), t) + fisher.subs(along)) == 0


@cache
def fokker_planck_forms_agree() -> tuple[bool, bool]:
    r"""(correct, seed): whether :math:`\nabla\cdot(\rho\nabla f) + \Delta\rho` equals
    :math:`\nabla\cdot(\rho\nabla\log(\rho/q))` for generic rho, f (q = e^{-f}) in 1-D, and whether the seed's
    :math:`\nabla\cdot(\rho\log(\rho/q))` does (it does not: the inner gradient is missing)."""
    x = sp.Symbol("x", real=True)
    rho, f = sp.Function("rho")(x), sp.Function("f")(x)
    fp = sp.diff(rho * sp.diff(f, x), x) + sp.diff(rho, x, 2)
    correct = sp.diff(rho * sp.diff(sp.log(rho) + f, x), x)
    seed = sp.diff(rho * (sp.log(rho) + f), x)
    return sp.simplify(fp - correct) == 0, sp.simplify(fp - seed) == 0


# --- moment functionals: MFLD in closed form (2.4, free energy) -------------------------------------------------

@cache
def energy() -> sp.Expr:
    r""":math:`F = \tfrac\kappa2(m - y)^2 + c\,m + \tfrac a2 s` as a function of (m, s)."""
    return kappa * (m - y) ** 2 / 2 + c * m + a * _s / 2


@cache
def first_variation() -> sp.Expr:
    r""":math:`\delta F/\delta q(\theta) = F_m\,\theta + F_s\,\theta^2` (chain rule on the linear functionals)."""
    return sp.diff(energy(), m) * theta + sp.diff(energy(), _s) * theta**2


@cache
def drift() -> sp.Expr:
    r"""Mean-field drift :math:`-\partial_\theta\,\delta F/\delta q(\theta) = -\kappa(m - y) - c - a\theta`."""
    return -sp.diff(first_variation(), theta)


@cache
def proximal_gibbs() -> tuple[sp.Expr, sp.Expr]:
    r"""Mean and variance of :math:`p_q \propto \exp(-\delta F/\delta q/\lambda)` (a Gaussian: the exponent is
    quadratic in theta), as functions of m."""
    poly = sp.Poly(sp.expand(-first_variation() / lam), theta)
    quad, lin = poly.coeff_monomial(theta**2), poly.coeff_monomial(theta)
    return sp.simplify(-lin / (2 * quad)), sp.simplify(-1 / (2 * quad))


@cache
def free_energy() -> sp.Expr:
    r""":math:`L(q) = F(q) + \lambda E_q\log q` at q = N(m, v)."""
    return sp.expand(energy().subs(_s, m**2 + v) + lam * gaussian_expectation(_log_gaussian(m, v), m, v))


@cache
def moment_odes() -> tuple[sp.Expr, sp.Expr]:
    r"""(m', v') of the MFLD at q = N(m, v): m' = E b, v' = 2 E[(theta - m) b] + 2 lambda (b = drift, affine)."""
    b = drift()
    return sp.expand(gaussian_expectation(b, m, v)), sp.expand(gaussian_expectation(2 * (theta - m) * b, m, v)
                                                               + 2 * lam)


@cache
def minimiser() -> tuple[sp.Expr, sp.Expr]:
    r"""(m*, v*): the stationary point of the moment ODEs (catalog: m* = y/(1 + 2λ'), v* = λ/(2λ') when κ = 1,
    a = 2λ')."""
    dm, dv = moment_odes()
    (solution,) = sp.solve([dm, dv], [m, v], dict=True)
    return sp.simplify(solution[m]), sp.simplify(solution[v])


@cache
def minimiser_is_its_own_proximal_gibbs_law() -> bool:
    """q* = p_{q*} in the Gaussian family (mean and variance)."""
    mean, var = minimiser()
    pm, pv = proximal_gibbs()
    return sp.simplify(pm.subs(m, mean) - mean) == 0 and sp.simplify(pv - var) == 0


@cache
def flow() -> tuple[sp.Expr, sp.Expr]:
    """(m_t, v_t) from N(m0, v0): the solutions of the moment ODEs."""
    dm, dv = moment_odes()
    mf, vf = sp.Function("m"), sp.Function("v")
    mean = sp.dsolve(sp.Eq(mf(t).diff(t), dm.subs(m, mf(t))), mf(t), ics={mf(0): m0}).rhs
    var = sp.dsolve(sp.Eq(vf(t).diff(t), dv.subs(v, vf(t))), vf(t), ics={vf(0): v0}).rhs
    return sp.simplify(mean), sp.simplify(var)


@cache
def gap() -> sp.Expr:
    r""":math:`L(q_t) - L(q^*)` along the flow, as a function of t (and m0, v0 and the problem's constants)."""
    mean, var = flow()
    ms, vs = minimiser()
    return free_energy().subs({m: mean, v: var}, simultaneous=True) - free_energy().subs({m: ms, v: vs},
                                                                                            simultaneous=True)


@cache
def lsi_constant() -> sp.Expr:
    r"""LSI constant of every :math:`p_q` (a Gaussian of variance var: rho_lsi = 1/var = a/lambda), so the bound's
    rate is :math:`2\rho_{lsi}\lambda = 2a`."""
    return sp.simplify(1 / proximal_gibbs()[1])


@cache
def gap_rates() -> tuple[sp.Expr, sp.Expr]:
    r"""Exponential rates of the gap's two parts: the mean part decays like :math:`e^{-2(\kappa + a)t}` and the
    variance part like :math:`e^{-4at}` (twice the rates of m_t - m*, v_t - v*, since both enter squared)."""
    dm, dv = moment_odes()
    return sp.simplify(-2 * sp.diff(dm, m)), sp.simplify(-2 * sp.diff(dv, v))


@cache
def free_energy_dissipation_holds() -> bool:
    r""":math:`\frac{d}{dt}L(q_t) = -\lambda^2 E_q|\partial_\theta\log(q/p_q)|^2` at every Gaussian q (sympy: chain
    rule through the moment ODEs against the relative Fisher information to the proximal Gibbs law)."""
    dm, dv = moment_odes()
    pm, pv = proximal_gibbs()
    rate = sp.diff(free_energy(), m) * dm + sp.diff(free_energy(), v) * dv
    return sp.simplify(rate + lam**2 * _between(gaussian_fisher(), pm, pv)) == 0


@cache
def dissipation() -> sp.Expr:
    r""":math:`\lambda^2 I(q\|p_q)` at q = N(m, v) (the free energy's rate of decrease)."""
    pm, pv = proximal_gibbs()
    return sp.simplify(lam**2 * _between(gaussian_fisher(), pm, pv))


# --- the particle update at finite step (2.6) -----------------------------------------------------------------

@cache
def particle_recursions() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    r"""Exact moments after k steps of :math:`x_j \leftarrow x_j - \eta(\kappa(\bar x - y) + c + a x_j) +
    \sqrt{2\lambda\eta}\xi_j` with M particles: (E bar x_k, Var bar x_k, E S_k), S = (1/M) sum (x_j - bar x)^2.

    The empirical mean is an AR(1) with factor 1 - eta(kappa + a), offset eta(kappa y - c) and noise variance
    2 lambda eta / M; the deviations x_j - bar x an AR(1) with factor 1 - eta a and noise 2 lambda eta (1 - 1/M).
    Initial values: symbols m0 (E bar x_0), w0 (Var bar x_0), s0 (E S_0).
    """
    k = sp.Symbol("k", integer=True, nonnegative=True)
    w0, s0 = sp.symbols("w0 s0", nonnegative=True)
    f = sp.Function("f")
    mean_factor, dev_factor = 1 - eta * (kappa + a), 1 - eta * a
    mean = sp.rsolve(f(k + 1) - mean_factor * f(k) - eta * (kappa * y - c), f(k), {f(0): m0})
    var_mean = sp.rsolve(f(k + 1) - mean_factor**2 * f(k) - 2 * lam * eta / M, f(k), {f(0): w0})
    spread = sp.rsolve(f(k + 1) - dev_factor**2 * f(k) - 2 * lam * eta * (1 - 1 / M), f(k), {f(0): s0})
    return mean, var_mean, spread


@cache
def stationary_spread() -> sp.Expr:
    r"""Stationary E S of the particle update: :math:`(1 - 1/M)(\lambda/a)/(1 - \eta a/2)` — the ULA AR(1) law of
    :func:`theory.langevin.sgld_stationary_variance` at T = lambda, times 1 - 1/M (one degree of freedom for the
    empirical mean)."""
    s = sp.Symbol("S", positive=True)
    (value,) = sp.solve(sp.Eq(s, (1 - eta * a) ** 2 * s + 2 * lam * eta * (1 - 1 / M)), s)
    return sp.factor(value)


@cache
def stationary_spread_is_the_ula_variance() -> bool:
    """E S = (1 - 1/M) * (lambda/a)/(1 - eta a/2), the latter from :mod:`theory.langevin` (T = lambda)."""
    return sp.simplify(stationary_spread() - (1 - 1 / M) * langevin.sgld_stationary_variance()) == 0


@cache
def tight_case_is_exactly_exponential() -> bool:
    r"""Without interaction (kappa = 0, F linear in q) and v0 = v*, :math:`L(q_t) - L^* = e^{-2\rho_{lsi}\lambda t}
    (L(q_0) - L^*)` exactly: the bound of :func:`lsi_constant` is attained."""
    start = {kappa: 0, v0: minimiser()[1].subs(kappa, 0)}
    curve = gap().subs(start)
    return sp.simplify(curve - sp.exp(-2 * lsi_constant() * lam * t) * curve.subs(t, 0)) == 0


@cache
def asymptotic_rate_meets_the_bound() -> bool:
    r"""Both parts of the gap decay at least at the bound's rate :math:`2\rho_{lsi}\lambda = 2a` (kappa >= 0)."""
    bound = 2 * lsi_constant() * lam
    return all(sp.simplify(rate - bound).is_nonnegative for rate in gap_rates())
