"""SGLD in the lazy regime (seed 000): the symbolic model, the lazy-limit moment equations, Du et al.'s H_inf, and the
solver's fields (:mod:`solvers.lazy_sgld`) against them."""

from __future__ import annotations

import array_api_compat.numpy as xnp
import numpy as np
import pytest
import sympy as sp

from sgd_conformance.checks.oracles import linearised_training
from sgd_conformance.checks.oracles.moment_equations import LinearMomentModel, QuadraticCovariance
from sgd_conformance.solvers import sde, two_layer
from sgd_conformance.solvers.lazy_sgld import LazySGLD, Stack, antisymmetric_init
from sgd_conformance.theory import lazy_training, ntk

# --- symbolic model ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3])
def test_scaled_loss_has_gradient_and_noise_of_order_one_over_alpha(n: int) -> None:
    assert lazy_training.gradient_is_order_one_over_alpha(n)
    assert lazy_training.factor_is_order_one_over_alpha(n)


def test_factorisation_by_n_brownian_motions_reproduces_the_covariance() -> None:
    assert lazy_training.factor_reproduces_covariance(2)
    assert lazy_training.factor_reproduces_covariance(3)


def test_noise_vanishes_at_interpolation_and_not_elsewhere() -> None:
    assert lazy_training.noise_vanishes_at_interpolation(2)
    model = lazy_training.two_parameter_model(2)
    covariance = lazy_training.in_residual_coordinates(model.covariance, model)
    assert sp.expand(covariance.subs(model.residuals[1], 0)) != sp.zeros(2, 2)


def test_function_space_dynamics_are_alpha_free_up_to_the_ito_term() -> None:
    assert lazy_training.function_space_alpha_cancels(2)


def test_unscaled_loss_would_not_give_order_one_over_alpha_noise() -> None:
    """Contrast: per-sample gradients of R(alpha(h - c)) (no 1/alpha^2) are alpha^2 times the lazy ones."""
    model = lazy_training.two_parameter_model(2)
    alpha = lazy_training.alpha
    unscaled = [sp.diff((alpha * (model.predictor[0] - model.offsets[0]) - model.targets[0]) ** 2 / 2, w)
                for w in model.omega]
    ratio = [sp.simplify(u / g) for u, g in zip(unscaled, model.per_sample_gradients[0], strict=True)]
    assert ratio == [alpha**2, alpha**2]


@pytest.mark.parametrize("n", [2, 3, 4])
def test_second_moment_ode_is_the_catalogs_and_its_trace_identity_holds(n: int) -> None:
    assert lazy_training.moment_ode_matches_closed_form(n)
    assert lazy_training.trace_derivative_identity(n)


def test_du_gram_entry_derived_from_the_arc_cosine_kernel_is_the_closed_form() -> None:
    assert sp.simplify(lazy_training.du_gram_entry() - lazy_training.DU_CLOSED) == 0
    assert lazy_training.du_gram_entry().subs(lazy_training.cosine, 1) == sp.Rational(1, 2)


def test_du_gram_is_the_mean_of_the_indicator_feature_products() -> None:
    """H_inf = E_w[x_i'x_j 1{w'x_i > 0} 1{w'x_j > 0}] by Monte Carlo (2e5 directions)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    w = rng.standard_normal((200_000, 3))
    active = (w @ x.T > 0).astype(float)
    empirical = (x @ x.T) * (active.T @ active) / w.shape[0]
    np.testing.assert_allclose(empirical, linearised_training.du_gram(x), atol=5e-3)


# --- numeric lazy-limit model --------------------------------------------------------------------------------------


def _spd(n: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).standard_normal((n, n + 2))
    return a @ a.T / n


def test_lazy_moment_model_has_the_derived_generator() -> None:
    """dM/dt of :func:`linearised_training.lazy_moment_model` equals the symbolic M-ODE at a random K and M."""
    n, eta = 3, 0.2
    kernel = _spd(n, 0)
    second = _spd(n, 1)
    model = linearised_training.lazy_moment_model(kernel, eta)
    z = np.concatenate([[0.0], np.zeros(n), second.reshape(-1)])
    flow = (model.generator() @ z)[1 + n:].reshape(n, n)
    _, closed, k_sym, m_sym = lazy_training.lazy_moment_ode(n)
    values = {k_sym[i, j]: kernel[i, j] for i in range(n) for j in range(n)}
    values |= {m_sym[i, j]: second[i, j] for i in range(n) for j in range(n)} | {lazy_training.eta: eta}
    np.testing.assert_allclose(flow, np.array(closed.subs(values).evalf(), dtype=float), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_exact_rate_is_at_least_the_bound_below_the_step_condition(seed: int) -> None:
    n = 3 + seed % 3
    kernel = _spd(n, 10 + seed)
    lam, kap = linearised_training.kernel_constants(kernel)
    for fraction in (0.1, 0.5, 0.9):
        eta = fraction * 2 * lam / kap
        model = linearised_training.lazy_moment_model(kernel, eta)
        assert model.second_moment_decay_rate() >= linearised_training.rate_bound(kernel, eta) - 1e-12
        assert linearised_training.rate_bound(kernel, eta) == pytest.approx((2 * lam - eta * kap) / n)


def test_lazy_deviation_second_moment_is_that_of_j_transpose_k_inverse_e_plus_y() -> None:
    rng = np.random.default_rng(4)
    jac = rng.standard_normal((3, 7))
    kernel, y = jac @ jac.T, rng.standard_normal(3)
    e = rng.standard_normal((5000, 3)) * 0.3 + 0.1
    v = (np.linalg.solve(kernel, (e + y).T)).T @ jac
    predicted = linearised_training.lazy_deviation_second_moment(kernel, y, e.mean(axis=0), e.T @ e / e.shape[0])
    assert float(np.mean(np.sum(v**2, axis=1))) == pytest.approx(predicted, rel=1e-10)


# --- the solver --------------------------------------------------------------------------------------------------


def _problem(seed: int = 0, m: int = 3) -> tuple[two_layer.Params, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    half = two_layer.init(rng, n=m, d=2, a_law="rademacher")
    x = 2.0 * rng.standard_normal((4, 2))
    return antisymmetric_init(half), x, rng.standard_normal(4)


def test_antisymmetric_init_starts_at_zero_output() -> None:
    init, x, _ = _problem()
    assert np.max(np.abs(two_layer.forward(init, x, activation_name="tanh"))) < 1e-15


@pytest.mark.parametrize("linearised", [False, True])
def test_structured_noise_and_step_equal_euler_maruyama_on_the_contract_fields(linearised: bool) -> None:
    init, x, y = _problem()
    model = LazySGLD(init, x, y, 0.3, np.array([1.0, 4.0, 4.0, 16.0, 64.0]), linearised=linearised)
    rng = np.random.default_rng(5)
    omega = model.omega0 + 0.1 * rng.standard_normal((5, model.p))
    dW = 0.1 * rng.standard_normal((5, 4))
    np.testing.assert_allclose(model.step(omega, 0.0, 0.01, dW),
                               sde.euler_maruyama(omega, 0.0, 0.01, model.drift, model.diffusion, dW), atol=1e-14)
    diff = model.diffusion(omega)
    assert diff.shape == (5, model.p, 4)


def test_fields_match_a_finite_difference_gradient_of_the_loss() -> None:
    init, x, y = _problem(1)
    model = LazySGLD(init, x, y, 0.3, 8.0)
    omega = model.omega0 + 0.05 * np.random.default_rng(6).standard_normal((1, model.p))
    h = 1e-6
    numeric = np.array([(model.loss(omega + h * e)[0] - model.loss(omega - h * e)[0]) / (2 * h)
                        for e in np.eye(model.p)])
    np.testing.assert_allclose(-model.drift(omega)[0], numeric, rtol=1e-6, atol=1e-10)


def test_diffusion_covariance_is_eta_times_the_centred_per_sample_covariance() -> None:
    init, x, y = _problem(2)
    model = LazySGLD(init, x, y, 0.3, 2.0)
    omega = model.omega0 + 0.3 * np.random.default_rng(7).standard_normal((3, model.p))
    g = model.sample_gradients(omega)
    mean = g.mean(axis=1)
    sigma = np.einsum("cip,ciq->cpq", g, g) / 4 - np.einsum("cp,cq->cpq", mean, mean)
    diff = model.diffusion(omega)
    np.testing.assert_allclose(diff @ np.swapaxes(diff, 1, 2), 0.3 * sigma, atol=1e-14)


def test_cached_gradients_follow_an_input_written_in_place() -> None:
    init, x, y = _problem(3)
    model = LazySGLD(init, x, y, 0.3, 2.0)
    omega = model.omega0 + np.zeros((2, model.p))
    first = model.drift(omega).copy()
    omega += 0.2
    np.testing.assert_allclose(model.drift(omega), LazySGLD(init, x, y, 0.3, 2.0).drift(omega), atol=0)
    assert not np.allclose(first, model.drift(omega))


def test_linearised_residual_path_does_not_depend_on_alpha() -> None:
    init, x, y = _problem(4)
    rng = np.random.default_rng(8)
    dW = 0.1 * rng.standard_normal((50, 3, 4))
    paths = []
    for alpha in (1.0, 10.0, 1000.0):
        model = LazySGLD(init, x, y, 0.3, alpha, linearised=True)
        omega = model.start(3, xnp)
        for k in range(50):
            omega = model.step(omega, 0.0, 0.01, dW[k])
        paths.append(model.residuals(omega))
    np.testing.assert_allclose(paths[1], paths[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(paths[2], paths[0], rtol=1e-9, atol=1e-12)


def test_stack_concatenates_the_fields_of_its_blocks() -> None:
    init, x, y = _problem(5)
    a, b = LazySGLD(init, x, y, 0.3, 2.0), LazySGLD(init, x, y, 0.3, 50.0, linearised=True)
    omega = a.omega0 + 0.1 * np.random.default_rng(9).standard_normal((5, a.p))
    stack = Stack((a, b), (2, 3))
    np.testing.assert_allclose(stack.drift(omega), np.concatenate([a.drift(omega[:2]), b.drift(omega[2:])]))
    np.testing.assert_allclose(stack.diffusion(omega), np.concatenate([a.diffusion(omega[:2]),
                                                                       b.diffusion(omega[2:])]))
    with pytest.raises(ValueError, match="stack of 5 rows"):
        stack.drift(omega[:4])


def test_kernel_of_the_solver_is_the_two_layer_ntk_and_the_lazy_function_space_model_reads_it() -> None:
    init, x, y = _problem(6)
    model = LazySGLD(init, x, y, 0.3, 1.0)
    np.testing.assert_allclose(model.kernel0, two_layer.ntk_gram(init, x, activation_name="tanh"), atol=1e-13)
    exact = linearised_training.lazy_moment_model(model.kernel0, 0.3)
    assert isinstance(exact, LinearMomentModel) and isinstance(exact.covariance, QuadraticCovariance)


def test_neuron_jacobian_of_theory_agrees_with_the_solver_network() -> None:
    """The model check builds per-sample gradients from :func:`theory.ntk.neuron_jacobian`: same order as flatten."""
    init, x, _ = _problem(7)
    grads, args = ntk.neuron_jacobian("tanh", 2)
    values = {"n": float(init.a.size), "x_0": x[0, 0], "x_1": x[0, 1]}
    row = []
    for j in range(init.a.size):
        point = values | {"a_i": init.a[j], "w_0": init.w[j, 0], "w_1": init.w[j, 1]}
        row.append([float(g.subs({s: point[str(s)] for s in args})) for g in grads])
    row = np.array(row)
    flat = two_layer.flat_jacobian(init, x, activation_name="tanh")[0]
    np.testing.assert_allclose(flat[:init.a.size], row[:, 0], atol=1e-14)
    np.testing.assert_allclose(flat[init.a.size:], row[:, 1:].reshape(-1), atol=1e-14)


@pytest.mark.parametrize("linearised", [False, True])
def test_solver_runs_on_array_api_strict(linearised: bool) -> None:
    """One array-API code path: the fields on array-api-strict arrays equal the NumPy ones."""
    xs = pytest.importorskip("array_api_strict")
    init, x, y = _problem(8)
    model = LazySGLD(init, x, y, 0.3, 8.0, linearised=linearised)
    rng = np.random.default_rng(10)
    omega = model.omega0 + 0.05 * rng.standard_normal((3, model.p))
    dW = 0.1 * rng.standard_normal((3, 4))
    stack = Stack((model,), (3,))
    strict = sde.euler_maruyama(xs.asarray(omega), 0.0, 0.01, stack.drift, stack.diffusion, xs.asarray(dW))
    np.testing.assert_allclose(np.asarray(strict), model.step(omega, 0.0, 0.01, dW), atol=1e-15)
    np.testing.assert_allclose(np.asarray(model.kernel(xs.asarray(omega))), model.kernel(omega), atol=1e-15)
