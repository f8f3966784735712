"""Proofs about backward error analysis of gradient descent (:mod:`theory.modified_loss`).

* the derived modified field on a concrete non-quadratic loss is -grad L - (eta/2) H grad L;
* for a generic smooth loss it is -grad of the lecture's L + (eta/4)|grad L|^2, and of no other coefficient
  (eta/2 and eta/8 are rejected: the proof can fail);
* numerically, the modified flow over time eta matches one GD step to O(eta^3) while the plain gradient
  flow only matches to O(eta^2) (local errors measured with a high-accuracy ODE solver);
* on a quadratic the exact modified curvature -log(1 - eta a)/eta has the series a + eta a^2/2 + eta^2 a^3/3,
  its flow over time eta is one GD step exactly, and GD iterates equal the flow at t = k eta to 1e-12.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import array_api_compat.numpy as xnp
import numpy as np
import pytest
import sympy as sp
from scipy.integrate import solve_ivp

from sgd_conformance.theory import modified_loss as ml
from sgd_conformance.theory import numeric
from sgd_conformance.theory.losses import backward_error_test_loss
from sgd_conformance.theory.symbols import a, eta, t, x0


@cache
def _test_loss_field() -> list[sp.Expr]:
    loss, coords = backward_error_test_loss()
    return ml.modified_vector_field(loss, coords)


def test_modified_field_on_a_concrete_loss_is_minus_grad_minus_half_eta_hessian_grad() -> None:
    loss, coords = backward_error_test_loss()
    grad = sp.Matrix([sp.diff(loss, c) for c in coords])
    hess = sp.hessian(loss, coords)
    expected = -grad - eta / 2 * hess * grad
    field = _test_loss_field()
    assert len(field) == 2
    assert all(sp.expand(f - e) == 0 for f, e in zip(field, expected, strict=True))


def test_modified_field_in_one_dimension() -> None:
    q = sp.Symbol("q", real=True)
    loss = q**4 / 4 - q**2 / 2
    (field,) = ml.modified_vector_field(loss, (q,))
    assert sp.expand(field - (-(q**3 - q) - eta / 2 * (3 * q**2 - 1) * (q**3 - q))) == 0


def test_modified_field_is_the_gradient_of_the_lecture_modified_loss() -> None:
    loss, coords = ml.generic_loss(2)
    assert ml.modified_field_is_gradient_of(loss, coords, ml.lecture_modified_loss(loss, coords)) is True


@pytest.mark.parametrize("coefficient", [eta / 2, eta / 8, sp.Integer(0)])
def test_modified_field_is_not_the_gradient_of_a_wrong_modified_loss(coefficient: sp.Expr) -> None:
    loss, coords = ml.generic_loss(2)
    wrong = loss + coefficient * sum(sp.diff(loss, c) ** 2 for c in coords)
    assert ml.modified_field_is_gradient_of(loss, coords, wrong) is False


def test_lecture_modified_loss_has_the_lecture_form() -> None:
    q0, q1 = sp.symbols("q0 q1", real=True)
    loss = q0**2 + 3 * q0 * q1
    expected = loss + eta / 4 * ((2 * q0 + 3 * q1) ** 2 + (3 * q0) ** 2)
    assert sp.expand(ml.lecture_modified_loss(loss, (q0, q1)) - expected) == 0


def _local_errors(step: float) -> tuple[float, float]:
    """|GD step - modified flow(eta)| and |GD step - gradient flow(eta)| on the test loss from one point."""
    loss, coords = backward_error_test_loss()
    components = [numeric.compile(f.subs(eta, step), coords) for f in _test_loss_field()]
    plain = numeric.gradient(loss, coords)
    theta0 = np.array([0.7, -0.4])

    def modified(y: np.ndarray) -> np.ndarray:
        return np.array([float(c(xnp, *y)) for c in components])

    def gradient_flow(y: np.ndarray) -> np.ndarray:
        return -plain(xnp, y[None, :])[0]

    def flow(rhs: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        sol = solve_ivp(lambda _s, y: rhs(y), (0.0, step), theta0, method="DOP853", rtol=1e-13, atol=1e-15)
        assert sol.success
        return sol.y[:, -1]

    gd = theta0 + step * gradient_flow(theta0)
    return float(np.linalg.norm(gd - flow(modified))), float(np.linalg.norm(gd - flow(gradient_flow)))


def test_gd_matches_the_modified_flow_to_third_order_locally() -> None:
    (mod1, plain1), (mod2, plain2) = _local_errors(0.04), _local_errors(0.02)
    assert mod2 < plain2 / 10
    assert mod1 / mod2 == pytest.approx(8.0, rel=0.15)  # O(eta^3)
    assert plain1 / plain2 == pytest.approx(4.0, rel=0.15)  # O(eta^2)


def test_quadratic_exact_modified_curvature_series() -> None:
    a_mod = ml.quadratic_exact_modified_curvature()
    series = sp.series(a_mod, eta, 0, 3).removeO()
    assert sp.expand(series - (a + eta * a**2 / 2 + eta**2 * a**3 / 3)) == 0
    # to first order it is the curvature of the lecture's modified loss (a + eta a^2 / 2)
    q = sp.Symbol("q", real=True)
    lecture = ml.lecture_modified_loss(a * q**2 / 2, (q,))
    assert sp.expand(sp.diff(lecture, q, 2) - (a + eta * a**2 / 2)) == 0


def test_quadratic_exact_modified_flow_is_one_gd_step() -> None:
    a_mod = ml.quadratic_exact_modified_curvature()
    assert sp.simplify(sp.exp(-eta * a_mod) - (1 - eta * a)) == 0
    # on the domain eta a < 1 (a = (1 - u)/eta with u > 0) it is -log(1 - eta a)/eta
    u = sp.Symbol("u", positive=True)
    assert sp.simplify((a_mod + sp.log(1 - eta * a) / eta).subs(a, (1 - u) / eta)) == 0


@pytest.mark.parametrize(("a_val", "eta_val"), [(2.0, 0.1), (0.5, 0.3), (10.0, 0.05), (1.0, 0.9)])
def test_gd_on_a_quadratic_is_the_exact_modified_flow_at_t_k_eta(a_val: float, eta_val: float) -> None:
    flow = x0 * sp.exp(-ml.quadratic_exact_modified_curvature() * t)
    x_val = 1.3
    for k in range(1, 41):
        x_val = x_val - eta_val * a_val * x_val
        exact = numeric.evaluate(flow, x0=1.3, a=a_val, eta=eta_val, t=k * eta_val)
        assert x_val == pytest.approx(exact, rel=1e-12, abs=0.0)


def test_derived_modified_loss_solves_for_the_coefficient_one_quarter() -> None:
    loss, coords = ml.generic_loss(2)
    assert sp.simplify(ml.derived_modified_loss(loss, coords) - ml.lecture_modified_loss(loss, coords)) == 0
    q = sp.Symbol("q")
    quadratic = a * q**2 / 2
    assert sp.simplify(ml.derived_modified_loss(quadratic, (q,)) - ml.lecture_modified_loss(quadratic, (q,))) == 0


def test_sgd_regulariser_coefficient_and_partition_average() -> None:
    assert ml.derived_sgd_regulariser_coefficient() == sp.Rational(1, 8)
    assert ml.partition_average_is_finite_population_term(4, 2)
    assert ml.partition_average_is_finite_population_term(6, 3)
