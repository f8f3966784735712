"""Proofs about the time-dependent SDE solutions (:mod:`theory.time_dependent_sde`) and their numeric oracles
(:mod:`checks.oracles.sde_solutions`), and about the claims' stated numbers.

* the time-dependent GBM solution X = x0 exp(A(t) + Y), dY = b dW, satisfies the SDE by Itô's formula in (t, Y), and
  its moments are the Gaussian expectations;
* the Wiener-integral cell moments telescope to the whole-interval integrals and have a non-negative conditional
  variance on every grid the checks use; the sampler draws the exact law (a fixed-seed CLT check);
* the time-inhomogeneous OU mean, variance and covariance solve their moment ODEs; Euler–Maruyama's exact moments
  converge to them with order 1 and its bias at the check's step is below the stated fraction of a standard error;
* the non-commutative system's columns do not commute, and its compiled fields are the symbolic ones;
* the weak-order fits return order 1 on Euler–Maruyama's exact errors (the stated model-truncation bound).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from sgd_conformance.checks.oracles.sde_solutions import (
    ou_euler_maruyama_moments,
    ou_time_dependent_moments,
    time_dependent_gbm_sampler,
    vector_fields,
)
from sgd_conformance.theory import ito, numeric
from sgd_conformance.theory import time_dependent_sde as tds
from sgd_conformance.theory.symbols import t, x, x0

Y = sp.Symbol("Y", real=True)


def test_time_dependent_gbm_solution_satisfies_the_ito_sde() -> None:
    """X = x0 exp(A(t) + Y) with A = int (a - b^2/2) and dY = b dW: Itô's formula in (t, Y) gives
    dX = (A' X + b^2 X / 2) dt + b X dW = a X dt + b X dW."""
    solution = x0 * sp.exp(tds.gbm_log_drift() + Y)
    rate, volatility = tds.gbm_coefficients()
    y_dt, y_dw = ito.ito_differential(solution, sp.Integer(0), volatility, var=Y)
    drift, diffusion = tds.gbm_fields()
    assert sp.simplify(sp.diff(solution, t) + y_dt - drift.subs(x, solution)) == 0
    assert sp.simplify(y_dw - diffusion.subs(x, solution)) == 0
    assert sp.simplify(solution.subs({t: 0, Y: 0}) - x0) == 0


@pytest.mark.parametrize("power", [1, 2])
def test_time_dependent_gbm_moments_are_the_gaussian_expectations(power: int) -> None:
    """Y ~ N(0, int b^2): E exp(p (A + Y)) = exp(p A + p^2 int b^2 / 2)."""
    _, volatility = tds.gbm_coefficients()
    s = sp.Symbol("s", nonnegative=True)
    quadratic = sp.integrate(volatility.subs(t, s) ** 2, (s, 0, t))
    expected = x0**power * sp.exp(power * tds.gbm_log_drift() + power**2 * quadratic / 2)
    assert sp.simplify(tds.gbm_moment(power) - expected) == 0


def test_wiener_cell_moments_telescope_and_bound_the_conditional_variance() -> None:
    _, volatility = tds.gbm_coefficients()
    cov, var = tds.wiener_cell_moments(volatility)
    s = sp.Symbol("s", nonnegative=True)
    whole = [sp.integrate(volatility.subs(t, s) ** k, (s, 0, 1)) for k in (1, 2)]
    for steps in (8, 512):
        cell = 1 / steps
        starts = np.arange(steps) * cell
        values = [np.asarray(numeric.compile(e.subs(tds.h, cell), (tds.u,))(np, starts)) for e in (cov, var)]
        assert values[0].sum() == pytest.approx(float(whole[0]), rel=1e-12)
        assert values[1].sum() == pytest.approx(float(whole[1]), rel=1e-12)
        conditional = values[1] - values[0] ** 2 / cell
        assert np.all(conditional > 0)  # Cauchy-Schwarz, strict for a non-constant b; and above rounding
        assert np.all(conditional < cell**3)  # O(h^3 b'^2 / 12), b' <= 1.2


def test_time_dependent_gbm_sampler_draws_the_exact_law() -> None:
    """Increments N(0, h) and E X_T, E X_T^2 of the exact solution within 4.5 standard errors (fixed seed)."""
    n = 200_000
    dW, exact = time_dependent_gbm_sampler(1.0, 16, 1.0)(np.random.default_rng(3), n)
    assert dW.shape == (16, n, 1)
    assert dW.var() == pytest.approx(1 / 16, rel=0.01)
    for power in (1, 2):
        values = exact**power
        expected = float(tds.gbm_moment(power).subs({x0: 1, t: 1}))
        assert abs(values.mean() - expected) < 4.5 * values.std() / math.sqrt(n)
    correlation = np.corrcoef(dW.sum(axis=0)[:, 0], np.log(exact))[0, 1]
    _, volatility = tds.gbm_coefficients()
    s = sp.Symbol("s", nonnegative=True)
    b1, b2 = (float(sp.integrate(volatility.subs(t, s) ** k, (s, 0, 1))) for k in (1, 2))
    assert correlation == pytest.approx(b1 / math.sqrt(b2), abs=0.01)  # Cov(W_T, int b dW) = int b


def test_ou_moments_solve_their_ode() -> None:
    alpha, beta, noise = tds.ou_coefficients()
    mean, variance, covariance = tds.ou_moments()
    assert sp.simplify(sp.diff(mean, t) - (alpha - beta * mean)) == 0
    assert sp.simplify(mean.subs(t, 0) - x0) == 0
    assert sp.simplify(sp.diff(variance, t) - (-2 * beta * variance + noise**2)) == 0
    assert sp.simplify(variance.subs(t, 0)) == 0
    assert sp.simplify(sp.diff(covariance, t) + beta * covariance) == 0
    assert sp.simplify(covariance.subs(t, tds.r) - variance.subs(t, tds.r)) == 0


def test_euler_maruyama_moments_converge_with_order_one_and_the_stated_bias_bound() -> None:
    times = np.array([0.5, 1.0])
    mean, cov = ou_time_dependent_moments(0.0, times)
    errors = []
    for level in (8, 9, 10, 11):
        em_mean, em_cov = ou_euler_maruyama_moments(0.0, times, 2.0**-level)
        errors.append(max(np.max(np.abs(em_mean - mean)), np.max(np.abs(em_cov - cov))))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all(np.abs(ratios - 2) < 0.05)
    # the hypotheses' bound: Euler–Maruyama's bias at dt = 2^-11 in standard errors of the thorough size (64000
    # chains), with the exact standard deviations of the Gaussian raw moments
    em_mean, em_cov = ou_euler_maruyama_moments(0.0, times, 2.0**-11)
    v = np.diag(cov)
    m = mean

    def raw(mu: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.array([mu[0], mu[1], c[0, 0] + mu[0] ** 2, c[0, 1] + mu[0] * mu[1], c[1, 1] + mu[1] ** 2])

    sd = np.sqrt([v[0], v[1], 2 * v[0] ** 2 + 4 * m[0] ** 2 * v[0],
                  v[0] * v[1] + cov[0, 1] ** 2 + m[0] ** 2 * v[1] + m[1] ** 2 * v[0] + 2 * m[0] * m[1] * cov[0, 1],
                  2 * v[1] ** 2 + 4 * m[1] ** 2 * v[1]])
    assert np.max(np.abs(raw(em_mean, em_cov) - raw(mean, cov)) / (sd / math.sqrt(64000))) < 0.17


def test_noncommutative_system_has_non_commuting_columns_and_compiles_to_its_fields() -> None:
    drift, diffusion = tds.noncommutative_fields()
    assert diffusion.shape == (2, 3)
    assert any(c != sp.zeros(2, 1) for c in tds.commutators(diffusion))
    point = {tds.STATE[0]: 0.3, tds.STATE[1]: -0.7, t: 0.25}
    b_fn, s_fn = vector_fields(drift, diffusion, tds.STATE)
    state = np.array([[0.3, -0.7], [0.3, -0.7]])
    assert b_fn(state, 0.25).shape == (2, 2)
    assert s_fn(state, 0.25).shape == (2, 2, 3)
    np.testing.assert_allclose(b_fn(state, 0.25)[1], np.array(drift.subs(point), dtype=float)[:, 0], rtol=1e-14)
    np.testing.assert_allclose(s_fn(state, 0.25)[1], np.array(diffusion.subs(point), dtype=float), rtol=1e-14)


def _weak_order_fit(errors: np.ndarray, hs: np.ndarray) -> float:
    design = np.column_stack([np.ones_like(hs), np.log(hs), hs])
    return float(np.linalg.lstsq(design, np.log(np.abs(errors)), rcond=None)[0][1])


def test_weak_order_fits_return_order_one_on_the_exact_euler_maruyama_errors() -> None:
    """The model log|e| = c + p log h + kappa h over h = 2^-3..2^-8 on Euler–Maruyama's exact weak errors: the
    time-dependent GBM (E X^h = prod (1 + a_k h), E (X^h)^2 = prod ((1 + a_k h)^2 + b_k^2 h)) within 5e-3 of 1, the
    constant GBM (mu = -1, sigma = 0.3) and OU (a = 1, sigma = 1, X0 = 2) of sde.ito-weak-order within 1e-3."""
    hs = 2.0 ** -np.arange(3, 9)
    rate, volatility = (numeric.compile(e, (t,)) for e in tds.gbm_coefficients())
    exact = [float(tds.gbm_moment(k).subs({x0: 1, t: 1})) for k in (1, 2)]
    first, second = [], []
    for h in hs:
        grid = np.arange(round(1 / h)) * h
        a_k, b_k = rate(np, grid), volatility(np, grid)
        first.append(np.prod(1 + a_k * h) - exact[0])
        second.append(np.prod((1 + a_k * h) ** 2 + b_k**2 * h) - exact[1])
    for errors in (first, second):
        assert abs(_weak_order_fit(np.array(errors), hs) - 1) < 5e-3
    mu, sigma = -1.0, 0.3
    gbm = [((1 + mu * h) ** (1 / h) - math.exp(mu), ((1 + mu * h) ** 2 + sigma**2 * h) ** (1 / h)
            - math.exp(2 * mu + sigma**2)) for h in hs]
    ou = []
    for h in hs:
        second_moment = 4.0
        for _ in range(round(1 / h)):
            second_moment = (1 - h) ** 2 * second_moment + h
        ou.append((2 * (1 - h) ** (1 / h) - 2 * math.exp(-1),
                   second_moment - 4 * math.exp(-2) - (1 - math.exp(-2)) / 2))
    for errors in (*zip(*gbm, strict=True), *zip(*ou, strict=True)):
        assert abs(_weak_order_fit(np.array(errors), hs) - 1) < 1e-3
