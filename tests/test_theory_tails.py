"""Proofs for theory.tails and checks.oracles.tails: critical moments, even-moment equations, Kesten tail indices and
the exact Hill oracle, each against an independent computation (numeric densities, scipy/mpmath quadrature, Monte
Carlo, Pareto laws)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import integrate, special
from scipy import stats as sps

from sgd_conformance.checks.oracles import tails as tails_oracle
from sgd_conformance.theory import fokker_planck, sde_models, sgd_moments, tails
from sgd_conformance.theory.symbols import t, x

h, s, gamma = sde_models.h, sde_models.s, sde_models.gamma


def test_critical_moments_of_the_general_population_and_stratonovich_models() -> None:
    assert sp.simplify(tails.critical_moment_1d() - (1 + 2 * h / (gamma * tails.v))) == 0
    assert sp.simplify(tails.population_critical_moment() - (1 + 1 / (gamma * h))) == 0
    nu, _ = tails.population_student_t()
    assert sp.simplify(nu - tails.population_critical_moment()) == 0
    assert sp.simplify(tails.population_stratonovich_critical_moment() - 1 / (gamma * h)) == 0


def test_tail_exponent_matches_the_numeric_log_slope_of_the_integrated_density() -> None:
    """With w != 0 (an asymmetric diffusion) the density of invariant_density_1d has x p'/p -> -(2 + 2h/(gamma v))."""
    values = {h: sp.Rational(3, 2), gamma: sp.Rational(1, 3), tails.v: 2, tails.w: sp.Rational(1, 2), tails.c: 1}
    drift, diffusion_squared = (e.subs(values) for e in tails.general_model_1d())
    log_density = sp.log(fokker_planck.invariant_density_1d(drift, diffusion_squared, x))
    slope = sp.lambdify(x, x * sp.diff(log_density, x), "mpmath")
    kappa = float(tails.tail_exponent(drift, diffusion_squared))
    assert kappa == pytest.approx(2 + 2 * 1.5 / (2 / 3))
    for end in (1e8, -1e8):
        assert float(-slope(mpmath.mpf(end))) == pytest.approx(kappa, rel=1e-6)


def test_student_t_absolute_moments_against_scipy() -> None:
    for q, nu, scale in ((2, 6, 0.3), (4, 6, 0.3), (3, 5, 1.7), (1, 2, 1.0)):
        exact = float(tails.student_t_absolute_moment(q, nu, scale))
        numeric = 2 * integrate.quad(lambda y, nu=nu, scale=scale, q=q: y**q * sps.t.pdf(y, nu, scale=scale),
                                     0, np.inf)[0]
        assert exact == pytest.approx(numeric, rel=1e-8)
    assert tails.student_t_absolute_moment(6, 6, 1) == sp.oo


def test_even_moment_system_is_itos_formula_and_its_solution() -> None:
    g = tails.even_moment_system(6)
    for i, q in enumerate((2, 4, 6), start=1):
        assert sp.expand(g[i, i] + q * h * (1 - (q - 1) * gamma * h)) == 0
        assert sp.expand(g[i, i - 1] - sp.Rational(q * (q - 1), 2) * gamma * s**2 * h) == 0
    values = {h: 1, s: 1, gamma: sp.Rational(1, 5)}
    moments = tails.even_moments(6, t, values, start=sp.Rational(1, 2))
    z = sp.Matrix([1, *moments])
    assert sp.simplify(sp.diff(z, t) - g.subs(values) * z) == sp.zeros(4, 1)
    assert [m.subs(t, 0) for m in moments] == [sp.Rational(1, 2) ** q for q in (2, 4, 6)]
    with pytest.raises(ValueError, match="do not close"):
        tails.even_moment_system(4, -h * x + 1, gamma * x**2)


def test_stationary_even_moments_are_the_student_t_moments_below_nu() -> None:
    values = {h: 1, s: 1, gamma: sp.Rational(1, 10)}  # nu = 11
    nu, scale = (e.subs(values) for e in tails.population_student_t())
    stationary = tails.stationary_even_moments(10, values)
    for i, q in enumerate(range(2, 11, 2)):
        assert sp.simplify(stationary[i] - tails.student_t_absolute_moment(q, nu, scale)) == 0


def test_second_moment_agrees_with_the_linear_moment_model() -> None:
    from sgd_conformance.checks.lsq_sde_tails import SDE_VALUES, population_moment_model

    exact = tails.even_moments(2, t, SDE_VALUES)[0]
    model = population_moment_model(SDE_VALUES)
    _, second = model.moments(np.array([0.5, 3.0]), np.zeros(1), np.zeros((1, 1)))
    assert second[:, 0, 0] == pytest.approx([float(exact.subs(t, 0.5)), float(exact.subs(t, 3.0))], rel=1e-12)


def test_gaussian_absolute_moment_and_the_euler_maruyama_tail_index() -> None:
    for mean, sd, power in ((0.99, 0.06, 6.0), (0.3, 1.2, 2.5), (-1.0, 0.5, 3.0)):
        def f(z: float, m: float = mean, d: float = sd, p: float = power) -> float:
            return abs(m + d * z) ** p * sps.norm.pdf(z)

        numeric = integrate.quad(f, -np.inf, -mean / sd)[0] + integrate.quad(f, -mean / sd, np.inf)[0]
        assert float(tails.gaussian_absolute_moment(mean, sd, power)) == pytest.approx(numeric, rel=1e-9)
    # alpha_EM(dt) -> 1 + 2h/(gamma v) = 6 linearly in dt
    shifts = np.array([tails_oracle.em_tail_index(1.0, 2.0, 0.2, dt) - 6 for dt in (4e-3, 2e-3, 1e-3)])
    assert np.all(shifts > 0) and shifts[1] / shifts[0] == pytest.approx(0.5, rel=0.01)
    assert shifts[2] / shifts[1] == pytest.approx(0.5, rel=0.01)


CATALOG = {(1, 0.5): 2.904, (1, 0.3): 5.306, (1, 0.2): 8.303, (1, 0.1): 17.29, (1, 0.05): 35.24, (4, 0.5): 9.978,
           (4, 0.3): 19.02, (4, 0.2): 30.56, (4, 0.1): 65.72}


def test_kesten_roots_match_the_catalog_and_an_mpmath_quadrature() -> None:
    for (batch, step), expected in CATALOG.items():
        root = tails_oracle.sgd_tail_index(step, batch)
        assert root == pytest.approx(expected, rel=1e-3)
        assert float(tails_oracle.sgd_multiplier_moment_mp(root, step, batch)) == pytest.approx(1.0, abs=1e-10)
        assert tails_oracle.sgd_multiplier_moment(root, step, batch) == pytest.approx(1.0, abs=1e-10)
    # only gamma h matters
    assert tails_oracle.sgd_tail_index(0.25, 1, 2.0) == pytest.approx(tails_oracle.sgd_tail_index(0.5), rel=1e-10)
    with pytest.raises(ValueError, match="no stationary law"):
        tails_oracle.sgd_tail_index(3.0)


def test_second_multiplier_moment_and_its_boundary() -> None:
    for batch in (1, 2, 4):
        expr = tails.sgd_second_multiplier_moment(batch)
        numeric = tails_oracle.sgd_multiplier_moment(2.0, 0.3, batch)
        assert float(expr.subs({gamma: 0.3, h: 1})) == pytest.approx(numeric, rel=1e-10)
        boundary = sp.Rational(2 * batch, batch + 2)
        assert sp.simplify(expr.subs({gamma: boundary, h: 1}) - 1) == 0
        assert tails_oracle.sgd_tail_index(float(boundary), batch) == pytest.approx(2.0, rel=1e-9)


def test_sgd_even_moment_map_against_gauss_hermite_and_the_isserlis_recursion() -> None:
    """One step from a deterministic delta_0 = d: E(A d + B)^q by 2-D Gauss–Hermite (exact for polynomials)."""
    values = {gamma: 0.3, h: 1.7, s: 0.6}
    step_map = np.array(tails.sgd_even_moment_map(6).subs(values), dtype=float)
    nodes, weights = special.roots_hermitenorm(20)
    weights = weights / math.sqrt(2 * math.pi)
    xs, xis = np.sqrt(1.7) * nodes[:, None], 0.6 * nodes[None, :]
    d0 = 0.8
    after = (1 - 0.3 * xs**2) * d0 + 0.3 * xs * xis
    for i, q in enumerate((2, 4, 6), start=1):
        quadrature = weights @ after**q @ weights
        assert step_map[i] @ np.array([d0**j for j in (0, 2, 4, 6)]) == pytest.approx(quadrature, rel=1e-12)
    exact = {gamma: sp.Rational(1, 4), h: 1, s: 1}
    stationary = tails.sgd_stationary_even_moments(2, exact)[0]
    assert stationary == sgd_moments.stationary_second_moment((1,), sp.Rational(1, 4), 1, 1)[0, 0] == sp.Rational(1, 5)
    # diagonal E A^q < 1 exactly for q below the Kesten root (6.505 at gamma = 0.25)
    contraction = [tails.sgd_even_moment_map(8).subs(exact)[i, i] for i in range(1, 5)]
    assert [bool(c < 1) for c in contraction] == [True, True, True, False]


def test_hill_estimator_by_hand() -> None:
    sample = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    assert tails_oracle.hill_estimator(sample, 2) == pytest.approx((math.log(16) + math.log(8)) / 2 - math.log(4))


def test_hill_oracle_is_exact_for_a_pareto_law() -> None:
    """Pareto(alpha): given the threshold, log-excesses are Exp(alpha): E H = 1/alpha, Var H = 1/(k alpha^2),
    skewness 2/sqrt(k), whatever n."""
    alpha, n, k = 2.5, 5000, 200
    oracle = tails_oracle.hill_oracle(lambda q: -alpha * np.log(q), lambda r: r ** (-1 / alpha),
                                      lambda q: np.full_like(q, alpha), n, k)
    assert oracle.mean == pytest.approx(1 / alpha, rel=1e-12)
    assert oracle.sd == pytest.approx(1 / (alpha * math.sqrt(k)), rel=1e-10)
    assert oracle.skewness == pytest.approx(2 / math.sqrt(k), rel=1e-8)


def _hill_moments_by_scalar_quadrature(nu: float, n: int, k: int) -> tuple[float, float]:
    """Mean and variance of H_k under |t_nu| with scipy.quad for every inner integral (independent of the
    Laguerre scheme) and Gauss–Legendre in the Beta law's quantile."""
    nodes, weights = special.roots_legendre(40)
    quantile = 0.5 * (nodes + 1)
    survival = sps.beta(k + 1, n - k).ppf(quantile)
    e1, e2 = [], []
    for r in survival:
        u = sps.t.isf(r / 2, nu)

        def ratio(y: float, u: float = u, r: float = r) -> float:
            return 2 * sps.t.sf(u * math.exp(y), nu) / r

        e1.append(integrate.quad(ratio, 0, 60 / nu, epsabs=0, epsrel=1e-11)[0])
        e2.append(2 * integrate.quad(lambda y: y * ratio(y), 0, 60 / nu, epsabs=0, epsrel=1e-11)[0])
    e1_, e2_ = np.array(e1), np.array(e2)
    mean = 0.5 * weights @ e1_
    return float(mean), float(0.5 * weights @ (e2_ - e1_**2) / k + 0.5 * weights @ (e1_ - mean) ** 2)


def test_student_t_hill_oracle_agrees_with_scalar_quadrature() -> None:
    oracle = tails_oracle.student_t_hill_oracle(6.0, 20000, 2000)
    mean, variance = _hill_moments_by_scalar_quadrature(6.0, 20000, 2000)
    assert oracle.mean == pytest.approx(mean, rel=1e-6)
    assert oracle.sd**2 == pytest.approx(variance, rel=1e-3)


def test_student_t_hill_oracle_agrees_with_monte_carlo() -> None:
    """4000 replicate samples of n = 2000 |t_6| draws, k = 200: mean within 4 SE, variance within a chi-square
    interval (the exact oracle removes Hill's finite-k bias: 1/E H is far from 6)."""
    n, k, reps = 2000, 200, 4000
    rng = np.random.default_rng(20240607)
    draws = np.sort(np.abs(rng.standard_t(6.0, size=(reps, n))), axis=1)[:, -(k + 1):]
    hills = np.mean(np.log(draws[:, 1:]), axis=1) - np.log(draws[:, 0])
    oracle = tails_oracle.student_t_hill_oracle(6.0, n, k)
    assert abs(hills.mean() - oracle.mean) < 4 * oracle.sd / math.sqrt(reps)
    ratio = hills.var(ddof=1) / oracle.sd**2
    assert sps.chi2.ppf(1e-4, reps - 1) / (reps - 1) < ratio < sps.chi2.isf(1e-4, reps - 1) / (reps - 1)
    assert 1 / oracle.mean < 5.0  # the raw Hill index is badly biased at this k


def test_hill_oracle_refuses_a_threshold_in_the_bulk() -> None:
    with pytest.raises(ValueError, match="bulk"):
        tails_oracle.student_t_hill_oracle(6.0, 1000, 900)
