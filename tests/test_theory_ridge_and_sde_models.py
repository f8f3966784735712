"""Proofs for theory.ridge (GF vs ridge filters) and theory.sde_models / the 1-D invariant densities."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import integrate, stats

from sgd_conformance.theory import fokker_planck, ridge, sde_models
from sgd_conformance.theory.symbols import t, x


def test_filters_match_their_closed_forms() -> None:
    s, mu = ridge.s, ridge.mu
    assert sp.simplify(ridge.gradient_flow_filter("lecture") - (1 - sp.exp(-2 * s**2 * t))) == 0
    assert sp.simplify(ridge.gradient_flow_filter("ali") - (1 - sp.exp(-s * t))) == 0
    assert sp.simplify(ridge.ridge_filter("lecture") - s**2 / (s**2 + mu)) == 0
    assert sp.simplify(ridge.ridge_filter("ali") - s / (s + mu)) == 0
    with pytest.raises(ValueError, match="normalisation"):
        ridge.gradient_flow_filter("other")


def test_series_of_the_filter_gaps() -> None:
    xv = sp.Symbol("x", positive=True)
    lecture_gap = (1 - sp.exp(-2 * xv)) - xv / (1 + xv)  # mu = 1/t: first order x survives
    ali_gap = (1 - sp.exp(-xv)) - xv / (1 + xv)  # lam = 1/t: agreement to first order, gap x^2/2
    assert sp.series(lecture_gap, xv, 0, 2).removeO() == xv
    assert sp.series(ali_gap, xv, 0, 3).removeO() == xv**2 / 2


def test_variance_ratio_constant_matches_the_catalog_and_a_grid() -> None:
    argmax, value = ridge.variance_ratio_bound()
    assert abs(argmax - 1.79328) < 1e-5 and abs(value - 1.685909) < 1e-6
    grid = np.linspace(1e-6, 50, 2_000_001)
    ratio = ((1 - np.exp(-grid)) * (1 + grid) / grid) ** 2
    assert abs(ratio.max() - value) < 1e-9


def test_invariant_density_of_the_least_squares_sde_is_the_scaled_student_t() -> None:
    drift, sigma2 = sde_models.population_least_squares_1d()
    density = fokker_planck.invariant_density_1d(drift, sigma2, x)
    nu, scale = fokker_planck.student_t_parameters(density, x)
    assert sp.simplify(nu - (1 + 1 / (sde_models.gamma * sde_models.h))) == 0
    values = {sde_models.h: 1, sde_models.s: 1, sde_models.gamma: sp.Rational(1, 5)}
    assert nu.subs(values) == 6 and sp.simplify(scale.subs(values) - 1 / sp.sqrt(12)) == 0
    # the normalised density equals scipy's Student-t pdf
    f = sp.lambdify(x, density.subs(values), "math")
    norm = integrate.quad(f, -np.inf, np.inf)[0]
    for z in (-1.3, 0.0, 0.4, 2.5):
        assert abs(f(z) / norm - stats.t(df=6, scale=1 / np.sqrt(12)).pdf(z)) < 1e-10
    assert fokker_planck.ito_flux_1d(drift, sigma2, density, x) == 0


def test_seed_form_gives_nu_minus_two_and_expectation_matches_scipy() -> None:
    drift, sigma2 = sde_models.population_least_squares_1d()
    seed_density = fokker_planck.seed_form_invariant_density_1d(drift, sigma2, x)
    nu, _ = fokker_planck.student_t_parameters(seed_density, x)
    assert sp.simplify(nu - (1 / (sde_models.gamma * sde_models.h) - 1)) == 0
    law = stats.t(df=6, scale=1 / np.sqrt(12))
    values = {sde_models.h: 1, sde_models.s: 1, sde_models.gamma: sp.Rational(1, 5)}
    density = fokker_planck.invariant_density_1d(drift, sigma2, x).subs(values)
    got = fokker_planck.expectation_1d(density, x, x**2)
    assert abs(got - law.var()) < 1e-12
    with mpmath.workdps(15):
        assert abs(got - 0.125) < 1e-12


def test_enumerated_minibatch_factors_match_the_formula() -> None:
    from sgd_conformance.theory import minibatch

    for population, batch in ((5, 1), (5, 2), (6, 3), (7, 4)):
        for replacement in (True, False):
            bias, factor = minibatch.enumerated_moments(population, batch, replacement)
            assert bias == 0 and factor == minibatch.covariance_factor(population, batch, replacement)
