"""The least-squares SDE models (seed 001): symbolic identities and the exact moment equations."""

from __future__ import annotations

import numpy as np
import pytest

from sgd_conformance.checks.oracles.moment_equations import (
    LinearMomentModel,
    QuadraticCovariance,
    moment_abscissae,
    moment_block,
    symmetric_basis,
    training_moment_model,
)
from sgd_conformance.solvers import sde
from sgd_conformance.solvers.lsq_sde import PopulationSDE, TrainingSDE, online_gradients
from sgd_conformance.theory import lsq_sde, numeric


@pytest.mark.parametrize(("n", "d"), [(2, 1), (3, 2), (4, 3)])
def test_training_factor_is_an_exact_affine_square_root(n: int, d: int) -> None:
    assert lsq_sde.factor_reproduces_covariance(n, d)
    assert lsq_sde.factor_is_affine(n, d)


def test_uncentred_covariance_differs_from_the_sgd_covariance() -> None:
    model = lsq_sde.training_model(3, 2)
    assert (lsq_sde.uncentred_covariance(3, 2) - model.covariance).expand() != model.covariance * 0


@pytest.mark.parametrize("d", [1, 2, 3])
def test_population_covariance_has_the_closed_form(d: int) -> None:
    assert lsq_sde.population_covariance_closed_form_agrees(d)


def _training_problem(seed: int = 0) -> TrainingSDE:
    rng = np.random.default_rng(seed)
    return TrainingSDE(rng.standard_normal((5, 3)), rng.standard_normal(5), 0.1)


def test_solver_factor_equals_the_symbolic_factor() -> None:
    model = _training_problem()
    symbolic = lsq_sde.training_model(5, 3)
    theta = np.random.default_rng(1).standard_normal((4, 3))
    data = {str(s): v for s, v in zip(symbolic.features, model.features.reshape(-1), strict=True)}
    data |= {str(s): v for s, v in zip(symbolic.targets, model.targets, strict=True)}
    for c in range(4):
        values = data | {str(s): v for s, v in zip(symbolic.theta, theta[c], strict=True)}
        factor = np.array([[numeric.evaluate(e, **{k: v for k, v in values.items()
                                                    if k in {str(f) for f in e.free_symbols}})
                            for e in row] for row in symbolic.factor.tolist()])
        np.testing.assert_allclose(model.diffusion(theta)[c], np.sqrt(model.gamma) * factor, atol=1e-12)
        gradient = np.array([float(numeric.evaluate(e, **{k: v for k, v in values.items()
                                                          if k in {str(f) for f in e.free_symbols}}))
                             for e in symbolic.gradient])
        np.testing.assert_allclose(-model.drift(theta)[c], gradient, atol=1e-12)


def test_structured_noise_and_step_equal_euler_maruyama_on_the_contract_fields() -> None:
    rng = np.random.default_rng(2)
    for model in (_training_problem(), PopulationSDE(np.array([[2.0, 0.5], [0.5, 1.0]]), 0.7, 0.2)):
        theta = rng.standard_normal((6, model.d))
        dW = rng.standard_normal((6, model.brownian_dimension)) * 0.1
        np.testing.assert_allclose(model.step(theta, 0.0, 0.01, dW),
                                   sde.euler_maruyama(theta, 0.0, 0.01, model.drift, model.diffusion, dW), atol=1e-13)


def test_population_factor_reproduces_the_derived_covariance() -> None:
    h = np.array([[2.0, 0.5], [0.5, 1.0]])
    model = PopulationSDE(h, 0.7, 1.0)
    delta = np.array([[0.3, -1.2]])
    factor = model.diffusion(delta)[0]
    expected = np.outer(h @ delta[0], h @ delta[0]) + (delta[0] @ h @ delta[0] + 0.49) * h
    np.testing.assert_allclose(factor @ factor.T, expected, atol=1e-12)


def test_online_gradients_have_the_population_moments() -> None:
    h = np.array([[2.0, 0.5], [0.5, 1.0]])
    delta = np.tile([0.3, -1.2], (200_000, 1))
    g = online_gradients(delta, h, 0.7, np.random.default_rng(3))
    np.testing.assert_allclose(g.mean(axis=0), h @ delta[0], atol=0.03)
    expected = np.outer(h @ delta[0], h @ delta[0]) + (delta[0] @ h @ delta[0] + 0.49) * h
    np.testing.assert_allclose(np.cov(g.T), expected, rtol=0.03)


def _moment_model(model: TrainingSDE) -> tuple[LinearMomentModel, np.ndarray]:
    centre = model.minimiser()
    offset = model.diffusion(centre[None])[0] / np.sqrt(model.gamma)
    slopes = np.stack([model.diffusion((centre + e)[None])[0] / np.sqrt(model.gamma) - offset
                       for e in np.eye(model.d)])
    h = model.features.T @ model.features / model.n
    return LinearMomentModel(h, np.zeros(model.d), QuadraticCovariance.from_affine_factor(offset, slopes),
                             model.gamma), centre


def test_training_moment_model_is_the_solver_factor_read_off() -> None:
    """theory's closed-form coefficients equal those read from the solver's factor, around any centre."""
    model = _training_problem()
    centre = model.minimiser() + np.array([0.3, -0.2, 0.1])
    closed = training_moment_model(model.features, model.targets, model.gamma, centre)
    offset = model.diffusion(centre[None])[0] / np.sqrt(model.gamma)
    slopes = np.stack([model.diffusion((centre + e)[None])[0] / np.sqrt(model.gamma) - offset
                       for e in np.eye(model.d)])
    read = QuadraticCovariance.from_affine_factor(offset, slopes)
    for got, want in zip((closed.covariance.constant, closed.covariance.linear, closed.covariance.quadratic),
                         (read.constant, read.linear, read.quadratic), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-12)
    np.testing.assert_allclose(closed.drift_offset, model.drift(centre[None])[0], atol=1e-12)


def test_polarisation_recovers_the_affine_factor_coefficients() -> None:
    model = _training_problem()
    moments, centre = _moment_model(model)

    def covariance(delta: np.ndarray) -> np.ndarray:
        s = model.diffusion((centre + delta)[None])[0] / np.sqrt(model.gamma)
        return s @ s.T

    read = QuadraticCovariance.from_function(covariance, model.d)
    for got, want in zip((read.constant, read.linear, read.quadratic),
                         (moments.covariance.constant, moments.covariance.linear, moments.covariance.quadratic),
                         strict=True):
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_expected_covariance_is_the_catalog_bracket() -> None:
    """E Sigma = T(M) - HMH + C0 + (2/n) sum_i r*_i (x_i'm) x_i x_i' around theta_LS (CLAIMS-DETAIL 4.3)."""
    model = _training_problem()
    moments, centre = _moment_model(model)
    rng = np.random.default_rng(4)
    m = rng.standard_normal(3)
    second = np.cov(rng.standard_normal((3, 10)))
    x, r = model.features, model.features @ centre - model.targets
    h = x.T @ x / model.n
    outer = np.einsum("ni,nj->nij", x, x)
    bracket = (np.einsum("n,nij->ij", np.einsum("ni,ij,nj->n", x, second, x), outer) / model.n - h @ second @ h
               + np.einsum("n,nij->ij", r**2, outer) / model.n
               + 2 / model.n * np.einsum("n,nij->ij", r * (x @ m), outer))
    np.testing.assert_allclose(moments.covariance.expectation(m, second), bracket, atol=1e-12)


def test_euler_maruyama_moment_map_matches_the_ode_as_h_vanishes_and_a_simulation_exactly() -> None:
    model = _training_problem()
    moments, centre = _moment_model(model)
    m0 = np.array([1.0, 0.0, -1.0])
    _, exact = moments.moments(np.array([1.0]), m0, np.outer(m0, m0))
    gaps = [np.abs(moments.euler_maruyama_moments(int(1 / h), h, m0, np.outer(m0, m0))[1] - exact[0]).max()
            for h in (0.02, 0.01, 0.005)]
    assert gaps[0] / gaps[1] == pytest.approx(2, rel=0.05) and gaps[1] / gaps[2] == pytest.approx(2, rel=0.05)
    chains, h = 40_000, 0.05
    rng = np.random.default_rng(5)
    theta = np.tile(centre + m0, (chains, 1))
    for _ in range(20):
        theta = model.step(theta, 0.0, h, rng.standard_normal((chains, model.n)) * np.sqrt(h))
    delta = theta - centre
    m_em, second_em = moments.euler_maruyama_moments(20, h, m0, np.outer(m0, m0))
    products = np.einsum("ci,cj->cij", delta, delta).reshape(chains, -1)
    z = (products.mean(axis=0) - second_em.reshape(-1)) / (products.std(axis=0) / np.sqrt(chains))
    assert np.abs(z).max() < 4.5
    assert np.abs((delta.mean(axis=0) - m_em) / (delta.std(axis=0) / np.sqrt(chains))).max() < 4.5


def test_stationary_moments_are_the_fixed_point() -> None:
    moments, _ = _moment_model(_training_problem())
    m, second = moments.stationary()
    g = moments.generator()
    z = np.concatenate([[1.0], m, second.reshape(-1)])
    np.testing.assert_allclose(g @ z, 0, atol=1e-12)
    assert np.linalg.eigvalsh(second).min() > 0


def test_degree_blocks_reduce_to_the_one_dimensional_rates_and_the_second_moment_operator() -> None:
    """Degree-p block in 1-D: -p h + gamma p (p - 1) v / 2 (CLAIMS-DETAIL 4.7); degree 2 in d dims: the adjoint of
    the second-moment operator on symmetric matrices (same spectrum)."""
    h, v, gamma = 2.5, 2.25, 0.5
    one_d = LinearMomentModel(np.array([[h]]), np.zeros(1),
                              QuadraticCovariance(np.zeros((1, 1)), np.zeros((1, 1, 1)), np.full((1, 1, 1, 1), v)),
                              gamma)
    for p in range(1, 7):
        np.testing.assert_allclose(moment_block(one_d, p), [[-p * h + gamma * p * (p - 1) * v / 2]], atol=1e-12)
    model, _ = _moment_model(_training_problem())
    noiseless = LinearMomentModel(model.drift_matrix, model.drift_offset,
                                  QuadraticCovariance(0 * model.covariance.constant, 0 * model.covariance.linear,
                                                      model.covariance.quadratic), model.gamma)
    block = np.sort(np.linalg.eigvals(moment_block(noiseless, 2)).real)
    basis = symmetric_basis(3, 2)
    operator = basis.T @ noiseless.second_moment_operator() @ basis
    np.testing.assert_allclose(block, np.sort(np.linalg.eigvals(operator).real), atol=1e-10)
    assert moment_abscissae(model, range(1, 3)).max() < 0
