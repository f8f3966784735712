"""theory.reparam: the Hessian law, the IGS identities and the compiled tanh model, against independent
computations (explicit matrix products, numpy's pseudo-inverse, the Penrose equations, finite differences)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from sgd_conformance.theory import reparam


def test_transformed_hessian_is_d_inverse_h_d_inverse_for_arrays_and_sympy() -> None:
    rng = np.random.default_rng(0)
    h = rng.standard_normal((4, 4))
    h = h + h.T
    scales = np.exp(rng.standard_normal(4))
    d_inv = np.diag(1.0 / scales)
    np.testing.assert_allclose(reparam.transformed_hessian(h, scales), d_inv @ h @ d_inv, rtol=1e-14)
    symbolic = reparam.transformed_hessian(sp.Matrix(h), [sp.Float(s) for s in scales])
    np.testing.assert_allclose(np.array(symbolic, dtype=float), d_inv @ h @ d_inv, rtol=1e-12)
    np.testing.assert_allclose(reparam.transformed_gradient(h[0], scales), d_inv @ h[0], rtol=1e-14)


@pytest.mark.parametrize("p", [2, 3])
def test_hessian_and_gradient_laws_hold_symbolically(p: int) -> None:
    assert reparam.hessian_law_residual(p) == sp.zeros(p, p)
    assert reparam.gradient_law_residual(p) == sp.zeros(p, 1)


def test_the_wrong_law_d_h_d_leaves_a_nonzero_residual() -> None:
    """Independent of the law's implementation: the substituted Hessian is not D H D."""
    coords = sp.symbols("t_0 t_1", real=True)
    loss = reparam.quartic_loss(sp.diag(1, sp.Rational(1, 10)), coords)
    exact = reparam.reparameterised_hessian(loss, coords, reparam.SCALES[:2], reparam.PRIMED[:2])
    back = {c: q / s for c, q, s in zip(coords, reparam.PRIMED[:2], reparam.SCALES[:2], strict=True)}
    d = sp.diag(*reparam.SCALES[:2])
    assert sp.simplify(exact - d * sp.hessian(loss, coords).subs(back) * d) != sp.zeros(2, 2)


def test_compiled_quartic_hessians_match_the_closed_form() -> None:
    original, primed = reparam.quartic_hessians((1.0, 0.1))
    theta, scales = np.array([0.3, -1.1]), np.array([2.0, 0.5])
    np.testing.assert_allclose(original(np, theta), np.diag([1.0 + 3 * 0.09, 0.1 + 3 * 1.21]), rtol=1e-14)
    expected = np.diag((np.array([1.0, 0.1]) + 3 * (theta / scales) ** 2) / scales**2)
    np.testing.assert_allclose(primed(np, theta, scales), expected, rtol=1e-14)


def test_rank_one_pinv_satisfies_the_penrose_equations() -> None:
    u = sp.Matrix(sp.symbols("u_0 u_1", real=True))
    f = u * u.T
    g = reparam._rank_one_pinv(f)
    assert sp.simplify(f * g * f - f) == sp.zeros(2, 2)
    assert sp.simplify(g * f * g - g) == sp.zeros(2, 2)
    assert sp.simplify((f * g).T - f * g) == sp.zeros(2, 2)
    assert sp.simplify((g * f).T - g * f) == sp.zeros(2, 2)


def test_igs_symbolic_residuals_vanish() -> None:
    assert all(value == 0 for value in reparam.igs_symbolic_residuals().values())


def test_fisher_pseudo_inverse_matches_numpy_pinv_of_f() -> None:
    rng = np.random.default_rng(1)
    jac = rng.standard_normal((3, 8))
    expected = np.linalg.pinv(jac.T @ jac / 3, hermitian=True)
    np.testing.assert_allclose(reparam.fisher_pseudo_inverse(np, jac), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("n", "p"), [(3, 8), (5, 2)])
def test_igs_definition_equals_the_closed_form_also_when_rank_j_is_below_n(n: int, p: int) -> None:
    """p < N: P is a proper projector and IGS < ||r||^2 = 2 N L; p >= N: IGS = ||r||^2."""
    rng = np.random.default_rng(2)
    jac, dloss = rng.standard_normal((n, p)), rng.standard_normal(n)
    igs = reparam.information_geometric_sharpness(np, jac, dloss)
    projector = jac @ np.linalg.pinv(jac)
    assert igs == pytest.approx(float(dloss**2 @ np.diag(projector)), rel=1e-12)
    assert igs == pytest.approx(reparam.igs_closed_form(np, jac, dloss), rel=1e-12)
    if p >= n:
        assert igs == pytest.approx(float(dloss @ dloss), rel=1e-12)
    else:
        assert igs < float(dloss @ dloss)


def test_igs_is_invariant_under_a_dense_linear_reparameterisation() -> None:
    """theta = M theta' with a dense M: J' = J M, grad l' = M' grad l (the range argument of §1.2)."""
    rng = np.random.default_rng(3)
    jac, dloss = rng.standard_normal((3, 8)), rng.standard_normal(3)
    m = np.eye(8) + 0.3 * rng.standard_normal((8, 8))
    assert reparam.information_geometric_sharpness(np, jac @ m, dloss) == pytest.approx(
        reparam.information_geometric_sharpness(np, jac, dloss), rel=1e-10)


def test_tanh_model_derivatives_match_finite_differences_and_the_chain_rule() -> None:
    rng = np.random.default_rng(4)
    x, theta, scales = rng.standard_normal(3), rng.standard_normal(8), np.exp(rng.uniform(-1, 1, 8))
    f, jacobian, hessian = reparam.tanh_model_derivatives(False)
    f_r, jacobian_r, hessian_r = reparam.tanh_model_derivatives(True)
    np.testing.assert_allclose(f(np, x, theta), np.tanh(np.outer(x, theta[:4])) @ theta[4:], rtol=1e-14)
    step = 1e-6
    eye = np.eye(8)
    fd_jac = np.stack([(f(np, x, theta + step * e) - f(np, x, theta - step * e)) / (2 * step) for e in eye], axis=-1)
    np.testing.assert_allclose(jacobian(np, x, theta), fd_jac, rtol=1e-6, atol=1e-8)
    fd_hess = np.stack([(jacobian(np, x, theta + step * e) - jacobian(np, x, theta - step * e)) / (2 * step)
                        for e in eye], axis=-1)
    np.testing.assert_allclose(hessian(np, x, theta), fd_hess, rtol=1e-5, atol=1e-7)
    theta_r = scales * theta
    np.testing.assert_allclose(f_r(np, x, theta_r, scales), f(np, x, theta), rtol=1e-13)
    np.testing.assert_allclose(jacobian_r(np, x, theta_r, scales), jacobian(np, x, theta) / scales, rtol=1e-12)
    np.testing.assert_allclose(hessian_r(np, x, theta_r, scales),
                               reparam.transformed_hessian(hessian(np, x, theta), scales), rtol=1e-12, atol=1e-14)


def test_squared_loss_hessian_matches_finite_differences_of_the_loss_gradient() -> None:
    rng = np.random.default_rng(5)
    x, y, theta = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(8)
    f, jacobian, hessian = reparam.tanh_model_derivatives(False)

    def grad(t: np.ndarray) -> np.ndarray:
        return jacobian(np, x, t).T @ (f(np, x, t) - y) / 3

    step = 1e-6
    fd = np.stack([(grad(theta + step * e) - grad(theta - step * e)) / (2 * step) for e in np.eye(8)], axis=-1)
    exact = reparam.squared_loss_hessian(np, jacobian(np, x, theta), hessian(np, x, theta), f(np, x, theta) - y)
    np.testing.assert_allclose(exact, fd, rtol=1e-5, atol=1e-8)
