"""Proofs about the Itô-calculus results of :mod:`theory.ito`.

* Itô's formula on x^2 and on log x for geometric Brownian motion gives the textbook coefficients;
* the derived GBM solution X_t = f(t, W_t) satisfies dX = mu X dt + sigma X dW by Itô's formula in (t, W),
  and its Gaussian expectations (exact integrals against the law of W_t) are the derived moments;
* the Stratonovich solution of the same equation has a different mean (by exp(sigma^2 t / 2)): the
  convention matters, and the derived moments are the Itô ones;
* the additive-noise OU moments match the known closed form and solve their ODEs; the one-cell covariance
  of (Delta W, I) matches the Itô isometry integrals in closed form.
"""

from __future__ import annotations

from functools import cache

import pytest
import sympy as sp

from sgd_conformance.theory import ito, numeric
from sgd_conformance.theory.symbols import a, mu, p, sigma, t, x, x0

W = sp.Symbol("W", real=True)


@cache
def _gaussian_mgf() -> tuple[sp.Symbol, sp.Expr]:
    """(beta, E exp(beta W_t)) for W_t ~ N(0, t), by exact integration against the Gaussian law."""
    beta, tau = sp.Symbol("beta", real=True), sp.Symbol("tau", positive=True)
    law = sp.exp(-(W**2) / (2 * tau)) / sp.sqrt(2 * sp.pi * tau)
    return beta, sp.simplify(sp.integrate(sp.exp(beta * W) * law, (W, -sp.oo, sp.oo))).subs(tau, t)


def _gaussian_expectation(f: sp.Expr) -> sp.Expr:
    """E f(W_t) for f = c exp(beta W) with c, beta free of W (checked)."""
    rate = sp.simplify(sp.diff(f, W) / f)
    assert W not in rate.free_symbols, rate
    prefactor = sp.simplify(f * sp.exp(-rate * W))
    assert W not in prefactor.free_symbols, prefactor
    beta, mgf = _gaussian_mgf()
    return sp.simplify(prefactor * mgf.subs(beta, rate))


def test_ito_differential_of_x_squared_for_gbm() -> None:
    dt_coef, dw_coef = ito.ito_differential(x**2, *ito.gbm_coefficients())
    assert sp.simplify(dt_coef - (2 * mu + sigma**2) * x**2) == 0
    assert sp.simplify(dw_coef - 2 * sigma * x**2) == 0


def test_ito_differential_of_log_x_for_gbm_has_constant_coefficients() -> None:
    dt_coef, dw_coef = ito.ito_differential(sp.log(x), *ito.gbm_coefficients())
    assert sp.simplify(dt_coef - (mu - sigma**2 / 2)) == 0
    assert sp.simplify(dw_coef - sigma) == 0


def test_gbm_exact_solution_has_the_textbook_form() -> None:
    expected = x0 * sp.exp((mu - sigma**2 / 2) * t + sigma * W)
    assert sp.simplify(ito.gbm_exact_solution() - expected) == 0


def test_gbm_exact_solution_satisfies_the_ito_sde() -> None:
    """X = f(t, W): dX = (f_t + f_WW / 2) dt + f_W dW.

    The W part is Itô's formula applied in the variable W (drift 0, diffusion 1).
    """
    solution = ito.gbm_exact_solution()
    assert W in solution.free_symbols
    w_dt, w_dw = ito.ito_differential(solution, sp.Integer(0), sp.Integer(1), var=W)
    dt_coef = sp.diff(solution, t) + w_dt
    drift, diffusion = ito.gbm_coefficients()
    assert sp.simplify(dt_coef - drift.subs(x, solution)) == 0
    assert sp.simplify(w_dw - diffusion.subs(x, solution)) == 0
    assert sp.simplify(solution.subs({t: 0, W: 0}) - x0) == 0


def test_gbm_moment_closed_forms() -> None:
    moment = ito.gbm_moment()
    assert sp.simplify(moment.subs(p, 1) - x0 * sp.exp(mu * t)) == 0
    assert sp.simplify(moment.subs(p, 2) - x0**2 * sp.exp((2 * mu + sigma**2) * t)) == 0
    general = x0**p * sp.exp((p * mu + p * (p - 1) * sigma**2 / 2) * t)
    assert sp.simplify(moment - general) == 0


@pytest.mark.parametrize("order", [1, 2, 3])
def test_gbm_moment_is_the_expectation_of_the_exact_solution(order: int) -> None:
    expectation = _gaussian_expectation(ito.gbm_exact_solution() ** order)
    assert sp.simplify(expectation - ito.gbm_moment().subs(p, order)) == 0


def test_gbm_mean_solves_its_moment_ode() -> None:
    """d/dt E X = E[mu X] = mu E X (the dW term has mean zero), and E X_0 = x0."""
    mean = ito.gbm_moment().subs(p, 1)
    assert sp.simplify(sp.diff(mean, t) - mu * mean) == 0
    assert mean.subs(t, 0) == x0


def test_stratonovich_mean_differs_from_the_ito_mean() -> None:
    """The Stratonovich SDE dX = mu X dt + sigma X o dW is the Itô SDE with drift (mu + sigma^2/2) X
    (drift correction s s'/2). Its solution x0 exp(mu t + sigma W) has mean x0 exp((mu + sigma^2/2) t):
    a scheme converging to it (e.g. Heun) would be off the Itô mean x0 exp(mu t) by exp(sigma^2 t / 2)."""
    _, diffusion = ito.gbm_coefficients()
    correction = sp.diff(diffusion, x) * diffusion / 2
    mu_ito = sp.Symbol("mu_ito", real=True)
    stratonovich = ito.gbm_exact_solution().subs(mu, mu_ito).subs(mu_ito, mu + correction / x)
    assert sp.simplify(stratonovich - x0 * sp.exp(mu * t + sigma * W)) == 0
    strat_mean = _gaussian_expectation(stratonovich)
    ito_mean = ito.gbm_moment().subs(p, 1)
    assert sp.simplify(strat_mean / ito_mean - sp.exp(sigma**2 * t / 2)) == 0
    assert sp.simplify(strat_mean - ito_mean) != 0
    ratio = numeric.evaluate(strat_mean / ito_mean, mu=0.1, sigma=0.5, t=1.0)
    assert ratio == pytest.approx(1.1331484530668263, rel=1e-14)  # exp(0.125)


def test_ou_moments_additive_match_the_closed_form() -> None:
    first, second = ito.ou_moments_additive()
    assert sp.simplify(first - x0 * sp.exp(-a * t)) == 0
    closed = x0**2 * sp.exp(-2 * a * t) + sigma**2 / (2 * a) * (1 - sp.exp(-2 * a * t))
    assert sp.simplify(second - closed) == 0
    # they solve the Itô moment ODEs m1' = -a m1, m2' = -2 a m2 + sigma^2
    assert sp.simplify(sp.diff(first, t) + a * first) == 0
    assert sp.simplify(sp.diff(second, t) + 2 * a * second - sigma**2) == 0
    # variance = second - first^2 tends to sigma^2 / (2a)
    assert sp.simplify(sp.limit(second - first**2, t, sp.oo) - sigma**2 / (2 * a)) == 0


def test_ou_cell_covariance_matches_the_ito_isometry() -> None:
    h = sp.Symbol("h", positive=True)
    var_dw, cov, var_i = ito.ou_cell_covariance()
    assert var_dw == h
    assert sp.simplify(cov - (1 - sp.exp(-a * h)) / a) == 0
    assert sp.simplify(var_i - (1 - sp.exp(-2 * a * h)) / (2 * a)) == 0
    # the covariance matrix is positive semi-definite (Cauchy-Schwarz), strictly so for a > 0, h > 0
    det = numeric.evaluate(var_dw * var_i - cov**2, a=1.5, h=0.2)
    assert det > 0
