"""theory.mfld_gaussian against the catalog's closed forms (CLAIMS-DETAIL §3 2.1, 2.3, 2.4, 2.6; §9.11–12) and
against independent numerical evaluations."""

from __future__ import annotations

import numpy as np
import sympy as sp
from scipy import integrate

from sgd_conformance.theory import mfld_gaussian as mg
from sgd_conformance.theory.symbols import T, a, eta, t

lam_reg = sp.Symbol("lam_reg", positive=True)
GAUSSIAN = {mg.kappa: 1, mg.c: 0, a: 2 * lam_reg}  # the catalog's Gaussian case


def test_gaussian_kl_and_fisher_match_quadrature() -> None:
    m2, v2 = sp.symbols("m2 v2", positive=True)
    point = {mg.m: 0.3, mg.v: 0.7, m2: -0.4, v2: 1.9}
    q = lambda x: np.exp(-(x - 0.3) ** 2 / 1.4) / np.sqrt(2 * np.pi * 0.7)  # noqa: E731
    p = lambda x: np.exp(-(x + 0.4) ** 2 / 3.8) / np.sqrt(2 * np.pi * 1.9)  # noqa: E731
    kl = integrate.quad(lambda x: q(x) * np.log(q(x) / p(x)), -30, 30)[0]
    fisher = integrate.quad(lambda x: q(x) * (-(x - 0.3) / 0.7 + (x + 0.4) / 1.9) ** 2, -30, 30)[0]
    assert abs(float(mg.gaussian_kl().subs(point)) - kl) < 1e-10
    assert abs(float(mg.gaussian_fisher().subs(point)) - fisher) < 1e-10


def test_ou_quantities_are_the_catalog_closed_forms() -> None:
    kl, fisher = mg.ou_kl_and_fisher()
    assert sp.simplify(kl - (mg.v + mg.m**2 - 1 - sp.log(mg.v)) / 2) == 0
    assert sp.simplify(fisher - ((mg.v - 1) ** 2 / mg.v + mg.m**2)) == 0
    mean, var = mg.ou_flow()
    assert sp.simplify(mean - mg.m0 * sp.exp(-t)) == 0
    assert sp.simplify(var - (1 + (mg.v0 - 1) * sp.exp(-2 * t))) == 0
    assert mg.ou_kl_dissipation_holds()
    assert mg.fokker_planck_forms_agree() == (True, False)


def test_gaussian_mfld_matches_the_catalog() -> None:
    ms, vs = (e.subs(GAUSSIAN) for e in mg.minimiser())
    assert sp.simplify(ms - mg.y / (1 + 2 * lam_reg)) == 0
    assert sp.simplify(vs - T / (2 * lam_reg)) == 0
    dm, dv = (e.subs(GAUSSIAN) for e in mg.moment_odes())
    assert sp.simplify(dm - (mg.y - (1 + 2 * lam_reg) * mg.m)) == 0
    assert sp.simplify(dv - (-4 * lam_reg * mg.v + 2 * T)) == 0
    pm, pv = (e.subs(GAUSSIAN) for e in mg.proximal_gibbs())
    assert sp.simplify(pm + (mg.m - mg.y) / (2 * lam_reg)) == 0 and sp.simplify(pv - vs) == 0
    assert mg.minimiser_is_its_own_proximal_gibbs_law()
    assert sp.simplify(mg.lsi_constant().subs(GAUSSIAN) - 2 * lam_reg / T) == 0


def test_sandwich_identities_of_the_catalog_hold_for_the_derived_free_energy() -> None:
    """gap - lambda KL(q || q*) = (m - m*)^2/2 and lambda KL(q || p_q) - gap = (1 + 2 lam')(m - m*)^2/(4 lam')."""
    m2, v2 = sp.symbols("m2 v2", positive=True)
    ms, vs = (e.subs(GAUSSIAN) for e in mg.minimiser())
    pm, pv = (e.subs(GAUSSIAN) for e in mg.proximal_gibbs())
    free = mg.free_energy().subs(GAUSSIAN)
    gap = free - free.subs({mg.m: ms, mg.v: vs})
    kl_star = mg.gaussian_kl().subs({m2: ms, v2: vs})
    kl_prox = mg.gaussian_kl().subs({m2: pm, v2: pv})
    assert sp.simplify(gap - T * kl_star - (mg.m - ms) ** 2 / 2) == 0
    assert sp.simplify(T * kl_prox - gap - (1 + 2 * lam_reg) * (mg.m - ms) ** 2 / (4 * lam_reg)) == 0


def test_flow_solves_the_moment_odes_and_dissipation_identities_hold() -> None:
    mean, var = mg.flow()
    dm, dv = mg.moment_odes()
    assert sp.simplify(sp.diff(mean, t) - dm.subs(mg.m, mean)) == 0
    assert sp.simplify(sp.diff(var, t) - dv.subs(mg.v, var)) == 0
    assert mg.free_energy_dissipation_holds()
    assert mg.tight_case_is_exactly_exponential()
    assert mg.asymptotic_rate_meets_the_bound()
    rates = [r.subs({**GAUSSIAN, lam_reg: sp.Rational(1, 4)}) for r in mg.gap_rates()]
    assert rates == [3, 2]  # catalog 2.4: asymptotic rate min(3, 2) = 2 vs the bound's 1


def test_dissipation_is_the_numerical_derivative_of_the_free_energy() -> None:
    values = {mg.kappa: 1, mg.c: 0, a: 0.5, T: 0.5, mg.y: 1, mg.m0: -2, mg.v0: 0.25}
    mean, var = (e.subs(values) for e in mg.flow())
    free = mg.free_energy().subs(values)
    curve = sp.lambdify(t, free.subs({mg.m: mean, mg.v: var}))
    h, t0 = 1e-5, 0.7
    derivative = (curve(t0 + h) - curve(t0 - h)) / (2 * h)
    rate = float(mg.dissipation().subs(values).subs({mg.m: mean, mg.v: var}).subs(t, t0))
    assert abs(derivative + rate) < 1e-7 * max(1.0, rate)


def test_particle_recursions_reach_the_ula_law_and_match_a_direct_iteration() -> None:
    mean, var_mean, spread = mg.particle_recursions()
    k = sp.Symbol("k", integer=True, nonnegative=True)
    w0, s0 = sp.symbols("w0 s0", nonnegative=True)
    values = {mg.kappa: 1, mg.c: 0, a: 0.5, T: 0.5, mg.y: 1, eta: 0.1, mg.M: 50, mg.m0: -2, w0: 0.005, s0: 0.245}
    m_k, w_k, s_k = -2.0, 0.005, 0.245
    for step in range(1, 6):
        m_k = (1 - 0.1 * 1.5) * m_k + 0.1
        w_k = (1 - 0.1 * 1.5) ** 2 * w_k + 2 * 0.5 * 0.1 / 50
        s_k = (1 - 0.1 * 0.5) ** 2 * s_k + 2 * 0.5 * 0.1 * (1 - 1 / 50)
        for expr, direct in ((mean, m_k), (var_mean, w_k), (spread, s_k)):
            assert abs(float(expr.subs(values).subs(k, step)) - direct) < 1e-12
    assert mg.stationary_spread_is_the_ula_variance()
    one = mg.stationary_spread().subs({a: 1, T: sp.Rational(1, 2), eta: sp.Rational(1, 10)})
    assert sp.limit(one, mg.M, sp.oo) == sp.Rational(10, 19)  # catalog 2.6: 0.526316
