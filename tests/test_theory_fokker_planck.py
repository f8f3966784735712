"""Proofs about the stationary Fokker–Planck statements of :mod:`theory.fokker_planck`.

* exp(-L/T) has zero probability flux for a generic smooth L in 1, 2 and 3 dimensions, while a density with
  the wrong temperature (exp(-2L/T)) does not: the check can fail;
* the lecture's convention (noise sqrt(eps), law exp(-2L/eps)) is the contract's with T = eps/2;
* the OU Gaussian N(0, T/a) is stationary for L = a x^2/2, a wrong variance is not, and the time-dependent
  OU law of :mod:`theory.langevin` solves the full Fokker–Planck equation;
* the Gibbs expectations by mpmath quadrature match exact values and an independent SciPy quadrature.
"""

from __future__ import annotations

import math

import pytest
import sympy as sp
from scipy import integrate

from sgd_conformance.theory import fokker_planck as fp
from sgd_conformance.theory import langevin
from sgd_conformance.theory.losses import double_well
from sgd_conformance.theory.symbols import T, a, eps, t, x


@pytest.mark.parametrize("d", [1, 2, 3])
def test_gibbs_density_is_stationary_for_a_generic_loss(d: int) -> None:
    assert fp.gibbs_is_stationary(d) is True


def test_a_density_at_the_wrong_temperature_has_nonzero_flux() -> None:
    q = sp.Symbol("q", real=True)
    loss = sp.Function("L")(q)
    wrong = sp.exp(-2 * loss / T)
    (flux,) = fp.stationary_flux(loss, (q,), wrong)
    # J = -(p L' + T p') = -(p L' - 2 p L') = p L'
    assert sp.simplify(flux - wrong * sp.diff(loss, q)) == 0
    assert sp.simplify(flux) != 0
    # and the stationary residual is nonzero for a concrete loss
    loss_dw, (w,) = double_well()
    residual = fp.fokker_planck_residual(loss_dw, (w,), sp.exp(-2 * loss_dw / T))
    assert residual != 0
    assert residual.subs({w: sp.Rational(1, 2), T: 1}) != 0


def test_gibbs_flux_vanishes_for_a_concrete_two_dimensional_loss() -> None:
    q0, q1 = sp.symbols("q0 q1", real=True)
    loss = (q0**2 + q1**2 - 1) ** 2 / 4 + q0 * q1 / 2 + q0**3 / 10
    assert all(sp.simplify(j) == 0 for j in fp.stationary_flux(loss, (q0, q1), fp.gibbs_density(loss)))
    assert fp.fokker_planck_residual(loss, (q0, q1), fp.gibbs_density(loss)) == 0


def test_lecture_convention_agrees() -> None:
    assert fp.lecture_convention_agrees() is True
    q = sp.Symbol("q", real=True)
    loss = sp.Function("L")(q)
    # the lecture's law is the contract's at T = eps/2, and at no other temperature such as T = eps
    assert sp.simplify(fp.gibbs_density(loss, eps / 2) - sp.exp(-2 * loss / eps)) == 0
    assert sp.simplify(fp.gibbs_density(loss, eps) - sp.exp(-2 * loss / eps)) != 0


def test_ou_gaussian_is_stationary_and_a_wrong_variance_is_not() -> None:
    loss = a * x**2 / 2
    gaussian = sp.exp(-(x**2) / (2 * T / a)) / sp.sqrt(2 * sp.pi * T / a)
    assert fp.fokker_planck_residual(loss, (x,), gaussian) == 0
    too_wide = sp.exp(-(x**2) / (4 * T / a)) / sp.sqrt(4 * sp.pi * T / a)
    assert fp.fokker_planck_residual(loss, (x,), too_wide) != 0


def _ou_law_defect(variance_factor: int) -> sp.Expr:
    """(dp/dt + div J) / p for p = N(m(t), factor * v(t)), (m, v) from :func:`theory.langevin.ou_moments`.

    t is replaced by -log(u)/a so that the exponentials become powers of u and ``cancel`` decides zero
    (``fokker_planck_residual``'s own ``simplify`` takes seconds here).
    """
    mean, var = langevin.ou_moments()
    var = variance_factor * var
    density = sp.exp(-((x - mean) ** 2) / (2 * var)) / sp.sqrt(2 * sp.pi * var)
    (flux,) = fp.stationary_flux(a * x**2 / 2, (x,), density)
    u = sp.Symbol("u", positive=True)
    return sp.cancel(sp.expand(((sp.diff(density, t) + sp.diff(flux, x)) / density).subs(t, -sp.log(u) / a)))


def test_time_dependent_ou_law_solves_the_fokker_planck_equation() -> None:
    assert _ou_law_defect(1) == 0
    assert _ou_law_defect(2) != 0


def test_gibbs_expectation_of_x_squared_on_a_quadratic_is_t_over_a() -> None:
    for a_val, temp in [(1.0, 1.0), (2.0, 0.5), (0.3, 0.05), (5.0, 3.0)]:
        got = fp.gibbs_expectation(sp.Rational(a_val).limit_denominator(1000) * x**2 / 2, x, x**2, temp)
        assert got == pytest.approx(temp / a_val, rel=1e-13)


def test_gibbs_expectation_on_the_double_well_matches_scipy_quadrature() -> None:
    loss, (q,) = double_well()
    temp = 0.5
    got = fp.gibbs_expectation(loss, q, q**2, temp)

    def weight(z: float) -> float:
        return math.exp(-((z * z - 1.0) ** 2) / temp)

    opts = {"epsabs": 0.0, "epsrel": 1e-13, "limit": 200}
    norm = integrate.quad(weight, -math.inf, math.inf, **opts)[0]
    moment = integrate.quad(lambda z: z * z * weight(z), -math.inf, math.inf, **opts)[0]
    assert got == pytest.approx(moment / norm, abs=1e-10)
    # the wells are at +-1, the law is symmetric: E x = 0 and E x^2 close to (but not exactly) 1
    assert fp.gibbs_expectation(loss, q, q, temp) == pytest.approx(0.0, abs=1e-20)
    assert 0.5 < got < 1.5
