"""theory.free_energy, checks.oracles.free_energy and solvers.mean_field_classifier against special cases and
independent derivations."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from sgd_conformance.checks.oracles import free_energy as free_energy_oracle
from sgd_conformance.solvers import mean_field_classifier as mfc
from sgd_conformance.theory import free_energy


def test_gaussian_sandwich_identities_simplify_to_zero() -> None:
    assert free_energy.gaussian_sandwich_residuals() == (0, 0)


def test_gaussian_minimiser_is_its_own_proximal_gibbs_law() -> None:
    m_star, v_star = free_energy.gaussian_minimiser()
    p_mean, p_var = free_energy.gaussian_proximal_gibbs(m_star)
    assert sp.simplify(p_mean - m_star) == 0 and sp.simplify(p_var - v_star) == 0


def test_grid_minimiser_converges_and_beats_the_uninteracting_gibbs_law() -> None:
    problem = free_energy_oracle.reference_problem()
    q_star = problem.minimiser()
    assert abs(problem.kl(q_star, free_energy_oracle.proximal_gibbs(problem, q_star))) < 1e-14
    start = problem.normalise(np.exp(-problem.lam_reg * problem.grid**2 / problem.lam))
    assert problem.free_energy(q_star) < problem.free_energy(start)
    assert np.sum(problem.weights * q_star) == pytest.approx(1.0, abs=1e-14)


def test_grid_first_variation_matches_central_differences_of_f() -> None:
    problem = free_energy_oracle.reference_problem()
    q = problem.normalise(np.exp(-(problem.grid - 0.5) ** 2))
    q1 = problem.normalise(np.exp(-(problem.grid + 0.5) ** 2 / 2))
    step = 1e-6
    numeric = (problem.risk(q + step * (q1 - q)) - problem.risk(q - step * (q1 - q))) / (2 * step)
    predicted = np.sum(problem.weights * problem.first_variation(q) * (q1 - q))
    assert numeric == pytest.approx(predicted, rel=1e-7)


@pytest.mark.parametrize("lam", [1.0, 0.5, 0.25])
def test_spectral_gap_of_a_gaussian_is_its_inverse_variance(lam: float) -> None:
    grid = np.linspace(-10, 10, 2000)
    gap = free_energy_oracle.spectral_gap(free_energy_oracle.perturbed_gibbs_potential(grid, lam, 0.5, 0.0), grid)
    assert gap == pytest.approx(1 / lam, rel=1e-4)


def test_lsi_bound_and_seed_form_are_reciprocal_in_the_exponent() -> None:
    bound, seed_form = free_energy_oracle.holley_stroock_bound, free_energy_oracle.seed_lsi_form
    assert bound(0.5, 0.5, 0.0) == seed_form(0.5, 0.5, 0.0) == 2.0
    assert bound(0.5, 0.5, 0.5) < 2.0 < seed_form(0.5, 0.5, 0.5)


def test_feature_gradient_matches_central_differences() -> None:
    rng = np.random.default_rng(0)
    z, x = rng.standard_normal((6, 3)), rng.standard_normal((4, 5))
    step = 1e-6
    numeric = np.stack([(mfc.features(x + step * e, z) - mfc.features(x - step * e, z))
                        / (2 * step) for e in np.eye(5)], axis=-1)
    np.testing.assert_allclose(mfc.feature_gradient(x, z), numeric, rtol=1e-7, atol=1e-9)


def test_network_output_is_the_weighted_mean_of_features_and_batches() -> None:
    rng = np.random.default_rng(1)
    z, particles = rng.standard_normal((5, 2)), rng.standard_normal((3, 7, 4))
    h = mfc.features(particles, z)
    assert h.shape == (3, 7, 5)
    np.testing.assert_allclose(mfc.output(particles, z), h.mean(axis=1))
    weights = np.full((3, 7), 1 / 7)
    np.testing.assert_allclose(mfc.output(particles, z, weights), h.mean(axis=1))


def test_logistic_derivative_is_the_derivative_of_the_loss() -> None:
    u = np.linspace(-5, 5, 11)
    numeric = np.imag(mfc.logistic_loss(u + 1e-20j)) / 1e-20
    np.testing.assert_allclose(mfc.logistic_derivative(u), numeric, rtol=1e-12)
