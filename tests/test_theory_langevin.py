"""Proofs that the SGLD / Ornstein–Uhlenbeck laws of :mod:`theory.langevin` are right.

Each derived formula is checked against a derivation that shares nothing with it:

* the stationary variance against ``scipy.linalg.solve_discrete_lyapunov`` on the AR(1) and against the
  closed form T / (a (1 - eta a / 2)); its eta -> 0 limit is the Gibbs variance T / a;
* the k-step mean and variance satisfy their recursions and initial conditions identically in k;
* the OU moments solve their moment ODEs, and the SGLD moments at k = t / eta tend to them as eta -> 0;
* the per-direction stationary excess loss, summed over a spectrum, gives the catalog's reference value.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy.linalg import solve_discrete_lyapunov

from sgd_conformance.theory import langevin, numeric
from sgd_conformance.theory.symbols import T, a, eta, k, t, x0

PARAMS = [(1.0, 0.1, 1.0), (2.0, 0.3, 0.5), (0.1, 5.0, 0.05), (10.0, 0.05, 0.05), (3.0, 0.6, 2.0)]


@pytest.mark.parametrize(("a_val", "eta_val", "t_val"), PARAMS)
def test_stationary_variance_solves_the_discrete_lyapunov_equation(a_val: float, eta_val: float,
                                                                     t_val: float) -> None:
    assert 0 < eta_val * a_val < 2
    phi = np.array([[1.0 - eta_val * a_val]])
    q = np.array([[2.0 * eta_val * t_val]])
    expected = solve_discrete_lyapunov(phi, q)[0, 0]
    got = numeric.evaluate(langevin.sgld_stationary_variance(), a=a_val, eta=eta_val, T=t_val)
    assert got == pytest.approx(expected, rel=1e-12)


def test_stationary_variance_has_the_closed_form() -> None:
    closed = T / (a * (1 - eta * a / 2))
    assert sp.simplify(langevin.sgld_stationary_variance() - closed) == 0


def test_stationary_variance_is_a_fixed_point_of_the_variance_map() -> None:
    v = langevin.sgld_stationary_variance()
    assert sp.simplify((1 - eta * a) ** 2 * v + 2 * eta * T - v) == 0


def test_stationary_variance_tends_to_the_gibbs_variance() -> None:
    assert sp.simplify(sp.limit(langevin.sgld_stationary_variance(), eta, 0, "+") - T / a) == 0
    # First-order bias: T/a * (1 + eta a / 2 + O(eta^2)).
    series = sp.series(langevin.sgld_stationary_variance(), eta, 0, 2).removeO()
    assert sp.simplify(series - (T / a + eta * T / 2)) == 0


def test_mean_after_satisfies_its_recursion_and_initial_condition() -> None:
    m = langevin.sgld_mean_after()
    # expand_power_exp splits (1 - eta a)^(k+1); plain simplify misses the identity through (-1)^k factors.
    assert sp.simplify(sp.expand_power_exp(m.subs(k, k + 1)) - (1 - eta * a) * m) == 0
    assert sp.simplify(m.subs(k, 0) - x0) == 0


def test_variance_after_satisfies_its_recursion_and_initial_condition() -> None:
    v = langevin.sgld_variance_after()
    assert sp.simplify(v.subs(k, k + 1) - (1 - eta * a) ** 2 * v - 2 * eta * T) == 0
    assert sp.simplify(v.subs(k, 0)) == 0
    # It approaches the stationary variance geometrically: v_k = v_inf (1 - (1 - eta a)^{2k}).
    v_inf = langevin.sgld_stationary_variance()
    for k_val in range(6):
        diff = v.subs(k, k_val) - v_inf * (1 - (1 - eta * a) ** (2 * k_val))
        assert sp.simplify(diff) == 0


def test_variance_after_matches_iterating_the_recursion_numerically() -> None:
    a_val, eta_val, t_val = 1.7, 0.2, 0.8
    v = 0.0
    expr = langevin.sgld_variance_after()
    for k_val in range(1, 40):
        v = (1 - eta_val * a_val) ** 2 * v + 2 * eta_val * t_val
        assert numeric.evaluate(expr, a=a_val, eta=eta_val, T=t_val, k=k_val) == pytest.approx(v, rel=1e-12)


def test_ou_moments_solve_their_moment_odes() -> None:
    mean, var = langevin.ou_moments()
    assert sp.simplify(sp.diff(mean, t) + a * mean) == 0
    assert sp.simplify(sp.diff(var, t) - (-2 * a * var + 2 * T)) == 0
    assert sp.simplify(mean.subs(t, 0) - x0) == 0
    assert sp.simplify(var.subs(t, 0)) == 0
    assert sp.simplify(sp.limit(var, t, sp.oo) - T / a) == 0


def _sgld_moments_at_time() -> tuple[sp.Expr, sp.Expr]:
    """SGLD mean and variance with k = t/eta; (eta a - 1)^(2k) rewritten as exp(2k log(1 - eta a)), which is
    the same number for integer k and 0 < eta a < 1 and has a real continuation in k."""
    mean = langevin.sgld_mean_after()
    var = langevin.sgld_variance_after()
    power = (a * eta - 1) ** (2 * k)
    assert power in var.atoms(sp.Pow), var
    rewritten = var.subs(power, sp.exp(2 * k * sp.log(1 - a * eta)))
    for k_val in range(5):  # the rewrite is an identity on the integers
        assert sp.simplify(rewritten.subs(k, k_val) - var.subs(k, k_val)) == 0
    return mean.subs(k, t / eta), rewritten.subs(k, t / eta)


def test_sgld_moments_tend_to_the_ou_moments_symbolically() -> None:
    mean, var = _sgld_moments_at_time()
    ou_mean, ou_var = langevin.ou_moments()
    assert sp.simplify(sp.limit(mean, eta, 0, "+") - ou_mean) == 0
    assert sp.simplify(sp.limit(var, eta, 0, "+") - ou_var) == 0


def test_sgld_moments_tend_to_the_ou_moments_numerically_at_rate_eta() -> None:
    a_val, temp, x_init, time = 1.3, 0.4, 2.0, 1.0
    ou_mean, ou_var = langevin.ou_moments()
    values = {"a": a_val, "T": temp, "x0": x_init}
    exact_mean = numeric.evalf(ou_mean, t=time, **values)
    exact_var = numeric.evalf(ou_var, t=time, **values)
    errors = []
    for steps in (1000, 2000, 4000):
        eta_val = time / steps
        with mpmath.workdps(30):
            m = numeric.evalf(langevin.sgld_mean_after(), eta=eta_val, k=steps, **values)
            v = numeric.evalf(langevin.sgld_variance_after(), eta=eta_val, k=steps, **values)
            errors.append((abs(m - exact_mean), abs(v - exact_var)))
        assert float(abs(m - exact_mean)) < 10 * eta_val
        assert float(abs(v - exact_var)) < 10 * eta_val
    # first-order convergence: halving eta halves the error (ratio 2 within 5%).
    for (m1, v1), (m2, v2) in zip(errors, errors[1:], strict=False):
        assert float(m1 / m2) == pytest.approx(2.0, rel=0.05)
        assert float(v1 / v2) == pytest.approx(2.0, rel=0.05)


def test_quadratic_mean_loss_excess_is_half_curvature_times_variance() -> None:
    excess = langevin.quadratic_mean_loss_excess()
    assert sp.simplify(excess - (T / 2) / (1 - eta * a / 2)) == 0
    assert sp.limit(excess, eta, 0, "+") == T / 2


def test_quadratic_mean_loss_excess_reproduces_the_catalog_reference_value() -> None:
    eigenvalues = np.logspace(-1, 1, 10)
    eps_val = 0.1
    temp = eps_val / 2
    excess = langevin.quadratic_mean_loss_excess()
    total = sum(numeric.evaluate(excess, a=float(lam), eta=0.05, T=temp) for lam in eigenvalues)
    assert total == pytest.approx(0.268595, abs=5e-7)
    # independent: E[L] - L* = sum_i lam_i v_i / 2 with v_i from the discrete Lyapunov equation
    lyap = sum(lam / 2 * solve_discrete_lyapunov(np.array([[1 - 0.05 * lam]]), np.array([[0.1 * temp]]))[0, 0]
               for lam in eigenvalues)
    assert total == pytest.approx(lyap, rel=1e-12)
    gibbs = len(eigenvalues) * sp.limit(excess, eta, 0, "+").subs(T, sp.Rational(1, 20))
    assert gibbs == sp.Rational(1, 4)  # d T / 2 at eta -> 0 (equipartition)
