"""Proofs for the SGD moment formulas: theory.sgd_moments (online least squares), the SGD-temperature
formulas of theory.langevin, and theory.implicit_bias, each against an independent computation."""

from __future__ import annotations

import numpy as np
import sympy as sp

from sgd_conformance.theory import implicit_bias, langevin, numeric, sgd_moments
from sgd_conformance.theory.symbols import a, b, eta


def _numpy_stationary_m(h: np.ndarray, step: float, batch: int, s2: float) -> np.ndarray:
    """Stationary M from the vectorised linear equation with Kronecker products (shares no code with theory)."""
    d = h.size
    hm, eye = np.diag(h), np.eye(d)
    a_mat = eye - step * hm
    vec_h = hm.reshape(-1)
    operator = (np.kron(a_mat, a_mat) + step**2 / batch * (np.kron(hm, hm) + np.outer(vec_h, vec_h))
                - np.eye(d * d))
    m = np.linalg.solve(operator, -step**2 / batch * s2 * vec_h)
    return m.reshape(d, d)


def test_stationary_second_moment_matches_the_catalog_and_a_kronecker_solve() -> None:
    exact = sgd_moments.stationary_second_moment((1, sp.Rational(1, 10)), sp.Rational(1, 20), 1, 1)
    assert exact == sp.Matrix([[sp.Rational(199, 7344), 0], [0, sp.Rational(95, 3672)]])
    np.testing.assert_allclose(np.array(exact, dtype=float), _numpy_stationary_m(np.array([1.0, 0.1]), 0.05, 1, 1.0),
                               rtol=1e-12, atol=1e-15)
    assert abs(float(exact[0, 0]) - 0.027097) < 5e-7 and abs(float(exact[1, 1]) - 0.025871) < 5e-7


def test_stationary_second_moment_with_a_batch_and_three_directions() -> None:
    exact = sgd_moments.stationary_second_moment((2, 1, sp.Rational(1, 4)), sp.Rational(1, 10), 4, 3)
    np.testing.assert_allclose(np.array(exact, dtype=float),
                               _numpy_stationary_m(np.array([2.0, 1.0, 0.25]), 0.1, 4, 3.0), rtol=1e-12, atol=1e-15)


def test_isserlis_closed_form() -> None:
    assert sgd_moments.closed_form_fourth_moment_agrees(2)
    assert sgd_moments.closed_form_fourth_moment_agrees(3)


def test_sgd_temperature_values_and_first_order_limit() -> None:
    v = langevin.sgd_stationary_variance()
    assert abs(numeric.evaluate(v, eta=0.1, b=4, a=1, sigma=1) - 0.0131579) < 1e-7
    assert abs(numeric.evaluate(v, eta=0.2, b=8, a=1, sigma=1) - 0.0138889) < 1e-7
    assert abs(numeric.evaluate(langevin.sgd_temperature_ratio(), eta=0.1, a=1) - 1.05556) < 1e-5
    sigma = sp.Symbol("sigma", positive=True)
    first_order = sp.series(v, eta, 0, 2).removeO()
    assert sp.simplify(first_order - eta * sigma**2 / (2 * a * b)) == 0  # Gibbs at T = eps/2, eps = eta/b


def test_sgd_variance_after_k_steps_satisfies_its_recursion() -> None:
    k = sp.Symbol("k", integer=True, nonnegative=True)
    sigma = sp.Symbol("sigma", positive=True)
    v = langevin.sgd_variance_after()
    step = (1 - eta * a) ** 2 * v + eta**2 * sigma**2 / b
    assert sp.simplify(v.subs(k, k + 1) - step) == 0
    assert sp.simplify(v.subs(k, 0)) == 0


def test_null_space_of_a_is_frozen_for_several_shapes() -> None:
    assert implicit_bias.null_space_is_frozen(1, 2)
    assert implicit_bias.null_space_is_frozen(2, 4)
