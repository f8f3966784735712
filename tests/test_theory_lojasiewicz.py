"""theory/lojasiewicz.py against special cases, the catalog's numbers and independent (enumerated or brute-force)
computations."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from sgd_conformance.checks.oracles.lojasiewicz import line_exit_probability, line_setting
from sgd_conformance.theory import lojasiewicz as L
from sgd_conformance.theory.symbols import eta, sigma

CATALOG_RING = {"norm0": sp.Rational(507, 500), "radius": sp.Rational(1, 2)}


def test_derived_factor_is_the_quoted_one() -> None:
    assert sp.simplify(L.derived_contraction_factor() - L.contraction_factor()) == 0


def test_descent_lemma_expectation_has_no_cross_term() -> None:
    """E[grad F . Z] = 0 removes the cross term; the noise enters only through sigma F E|Z|^2."""
    expected = L.descent_lemma_expectation(3)
    assert set(map(str, expected.free_symbols)) == {"F", "G", "m2", "eta", "sigma", "C_L"}


def test_term_wise_bound_dominates_the_sharper_endpoint_bound() -> None:
    """The expectation is linear in G in [mu_pl F, 2 C_L F]: its maximum over that range (an endpoint) is <= rho."""
    expected = L.descent_lemma_expectation().subs(L.m2, 1)
    f_sym, g_sym = sp.Symbol("F", positive=True), sp.Symbol("G", nonnegative=True)
    factor = sp.lambdify((eta, L.mu_pl, L.C_L, sigma), L.contraction_factor())
    sharp = sp.lambdify((eta, L.mu_pl, L.C_L, sigma, g_sym), (expected / f_sym).subs(f_sym, 1))
    rng = np.random.default_rng(0)
    for _ in range(200):
        cl, s_ = rng.uniform(0.1, 5), rng.uniform(0, 3)
        mu = rng.uniform(0.01, 2 * cl)
        e = rng.uniform(0, 2 * mu / (cl * (2 * cl + s_)))
        assert max(sharp(e, mu, cl, s_, mu), sharp(e, mu, cl, s_, 2 * cl)) <= factor(e, mu, cl, s_) + 1e-12


def test_step_condition_and_optimum() -> None:
    limit, (best, least) = L.largest_contracting_step(), L.optimal_step()
    factor = L.contraction_factor()
    assert sp.simplify(factor.subs(eta, limit) - 1) == 0
    assert sp.simplify(factor.subs(eta, best) - least) == 0
    assert sp.simplify(best - limit / 2) == 0
    values = {L.mu_pl: 2, L.C_L: 3, sigma: sp.Rational(1, 2)}
    grid = [factor.subs(values).subs(eta, e) for e in np.linspace(0.001, float(limit.subs(values)), 50)]
    assert float(least.subs(values)) <= min(float(v) for v in grid) + 1e-15


def test_quadratic_factor_matches_an_enumerated_noise_law() -> None:
    """Z uniform on {+-e_i} (E Z = 0, E ZZ' = I/d): the exact average of F(theta')/F(theta) at random theta."""
    d, hv, ev, sv = 3, 1.3, 0.4, 0.7
    rng = np.random.default_rng(1)
    formula = float(L.quadratic_factor(d).subs({L.h: hv, eta: ev, sigma: sv, L.m2: 1}))
    for theta in rng.standard_normal((5, d)):
        loss = hv / 2 * theta @ theta
        directions = [sign * np.eye(d)[i] for i in range(d) for sign in (1, -1)]
        after = [theta - ev * (hv * theta + np.sqrt(sv * loss) * z) for z in directions]
        assert np.mean([hv / 2 * a @ a for a in after]) / loss == pytest.approx(formula, rel=1e-13)


def test_quadratic_attains_the_bound_and_catalog_values() -> None:
    ratio, curvature = L.quadratic_constants()
    assert (ratio, curvature) == (2 * L.h, L.h)
    bound = L.contraction_factor().subs({L.mu_pl: ratio, L.C_L: curvature})
    assert sp.simplify(L.quadratic_factor().subs(L.m2, 1) - bound) == 0
    catalog = {L.h: 1, eta: sp.Rational(1, 2), sigma: 1}
    assert L.quadratic_factor().subs(catalog).subs(L.m2, 1) == sp.Rational(3, 8)
    assert L.quadratic_factor().subs(catalog).subs(L.m2, 2) == sp.Rational(1, 2)  # the N(0, I_2) mutant
    exit_bound = L.exit_probability_bound().subs({**catalog, L.mu_pl: 2, L.C_L: 1, L.F0: sp.Rational(1, 2), L.r: 4,
                                                  L.rho: sp.Rational(3, 8)})
    assert float(exit_bound) == pytest.approx(0.5505, abs=5e-5)


def test_path_length_bound_sums_the_geometric_series() -> None:
    closed = L.eta * (sp.sqrt(2 * L.C_L) + sp.sqrt(sigma)) * sp.sqrt(L.F0) / (1 - sp.sqrt(L.rho))
    assert sp.simplify(L.path_length_bound() - closed) == 0
    assert sp.simplify(L.exit_probability_bound() - closed / L.r) == 0


def _ring_numeric(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    s = theta @ theta
    return (s - 1) ** 2 / 2, 2 * (s - 1) * theta, 2 * (s - 1) * np.eye(2) + 4 * np.outer(theta, theta)


def test_ring_pl_ratio_and_hessian_eigenvalues_at_random_points() -> None:
    ratio = sp.lambdify(L.s, L.ring_pl_ratio())
    tangential, radial = (sp.lambdify(L.s, e) for e in L.ring_hessian_eigenvalues())
    for theta in np.random.default_rng(2).uniform(-2, 2, (20, 2)):
        loss, grad, hessian = _ring_numeric(theta)
        s = theta @ theta
        assert grad @ grad / loss == pytest.approx(ratio(s), rel=1e-12)
        assert np.sort(np.linalg.eigvalsh(hessian)) == pytest.approx(np.sort([tangential(s), radial(s)]), abs=1e-12)


def test_ring_constants_reproduce_the_catalog_without_margin() -> None:
    constants = L.ring_constants(CATALOG_RING["norm0"], CATALOG_RING["radius"], 0)
    values = {L.mu_pl: constants["mu_pl"], L.C_L: constants["C_L"], sigma: sp.Rational(1, 2)}
    best, least = (e.subs(values) for e in L.optimal_step())
    start = (CATALOG_RING["norm0"] ** 2 - 1) ** 2 / 2
    bound = L.exit_probability_bound().subs({**values, eta: best, L.rho: least, L.F0: start, L.r: sp.Rational(1, 2)})
    assert float(constants["mu_pl"]) == pytest.approx(2.1136, abs=1e-4)
    assert float(constants["C_L"]) == pytest.approx(11.753, abs=1e-3)
    assert float(best) == pytest.approx(0.0074909, abs=1e-7)
    assert float(least) == pytest.approx(0.992084, abs=1e-6)
    assert float(start) == pytest.approx(3.975e-4, rel=1e-3)
    assert float(bound) == pytest.approx(0.4184, abs=1e-4)


def test_ring_constants_are_the_extremes_over_the_ball_by_brute_force() -> None:
    norm0, radius, margin = 1.014, 0.5, 0.05
    constants = L.ring_constants(sp.nsimplify(norm0), sp.nsimplify(radius), sp.nsimplify(margin))
    angles, radii = np.linspace(0, 2 * np.pi, 181), np.linspace(0, 1, 101)
    points = [np.array([norm0, 0]) + radius * rr * np.array([np.cos(a), np.sin(a)]) for a in angles for rr in radii]
    ratio = [(lambda v: v[1] @ v[1] / v[0])(_ring_numeric(p)) for p in points]
    assert min(ratio) == pytest.approx(float(constants["mu_pl"]), rel=1e-9)  # attained at (norm0 - radius, 0)
    assert max(ratio) <= float(constants["grad_ratio"]) + 1e-9
    wide = [np.array([norm0, 0]) + (radius + margin) * rr * np.array([np.cos(a), np.sin(a)])
            for a in angles for rr in radii]
    largest = max(np.max(np.abs(np.linalg.eigvalsh(_ring_numeric(p)[2]))) for p in wide)
    assert largest == pytest.approx(float(constants["C_L"]), rel=1e-9)


def test_ring_largest_step_by_brute_force() -> None:
    sv = 0.5
    constants = L.ring_constants(sp.Rational(507, 500), sp.Rational(1, 2), 0)
    lo, hi = (float(v) for v in constants["s_range"])
    grid = np.linspace(lo, hi, 200001)
    brute = np.max(np.abs(grid - 1) * (2 * np.sqrt(grid) + np.sqrt(sv / 2)))
    exact = float(L.ring_largest_step(constants["s_range"], sp.Rational(1, 2)))
    assert brute <= exact + 1e-12 and brute == pytest.approx(exact, rel=1e-8)
    inner = float(L.ring_largest_step((sp.Rational(1, 10), sp.Rational(9, 10)), sp.Rational(1, 2)))
    assert inner == pytest.approx(9 / 8)  # interior critical point s = 1/4


def test_bounded_noise_moment_map_by_enumeration_and_fixed_point() -> None:
    moment_map = L.bounded_noise_moment_map()
    hv, ev, sv = 0.8, 0.3, 1.7
    for theta in (-1.3, 0.2, 2.0):
        enumerated = np.mean([(theta - ev * (hv * theta + sv * z)) ** 2 for z in (-1.0, 1.0)])
        assert float(moment_map.subs({L.m: theta**2, L.h: hv, eta: ev, sigma: sv})) == pytest.approx(enumerated)
    fixed = L.bounded_noise_fixed_point()
    assert sp.simplify(moment_map.subs(L.m, fixed) - fixed) == 0
    assert sp.limit(L.h * fixed / 2 / eta, eta, 0) == sigma**2 / 4


@pytest.mark.parametrize("q_value", [sp.Rational(2, 3), sp.Rational(3, 4), sp.Rational(4, 5)])
def test_dominant_balance_constant(q_value: sp.Rational) -> None:
    assert sp.simplify(L.bounded_noise_leading_term(q_value) - L.gamma * sigma**2 / (2 * L.h)) == 0


def test_dominant_balance_rejects_q_outside_the_robbins_monro_range() -> None:
    with pytest.raises(ValueError):
        L.bounded_noise_leading_term(sp.Rational(1, 2))
    with pytest.raises(ValueError):
        L.bounded_noise_leading_term(sp.Integer(1))


def test_exact_recursion_approaches_the_asymptote_with_the_predicted_correction() -> None:
    """m_k / (gamma sigma^2/(2h) (k + n0)^-q) - 1 ~ q/(2 gamma h) (k + n0)^(q-1) (numeric recursion to k = 4e5)."""
    hv, sv, gv, nv, qv = 1.0, 1.0, 0.5, 10.0, 0.75
    horizon = 400_000
    etas = gv / (np.arange(horizon) + nv) ** qv
    value, checkpoints = 1.0, {50_000: None, 400_000 - 1: None}
    for j in range(horizon - 1):
        value = (1 - etas[j] * hv) ** 2 * value + etas[j] ** 2 * sv**2
        if j + 1 in checkpoints:
            checkpoints[j + 1] = value
    for kk, moment in checkpoints.items():
        excess = moment / (gv * sv**2 / (2 * hv) * (kk + nv) ** -qv) - 1
        first_order = qv / (2 * gv * hv) * (kk + nv) ** (qv - 1)
        assert excess == pytest.approx(first_order, rel=0.15)
    assert sp.simplify(L.bounded_noise_asymptotic_loss() - sigma**2 / 4 * L.robbins_monro_step()) == 0


@pytest.mark.parametrize(("q_value", "expected"), [
    (sp.Rational(1, 2), {"sum eta_k": False, "sum eta_k^2": False}),
    (sp.Rational(3, 4), {"sum eta_k": False, "sum eta_k^2": True}),
    (sp.Integer(1), {"sum eta_k": False, "sum eta_k^2": True}),
    (sp.Rational(3, 2), {"sum eta_k": True, "sum eta_k^2": True}),
])
def test_robbins_monro_series(q_value: sp.Rational, expected: dict[str, bool]) -> None:
    assert L.robbins_monro_series(q_value) == expected


def test_noise_expectation_rejects_higher_degrees() -> None:
    z = sp.symbols("z_0:2", real=True)
    with pytest.raises(ValueError):
        L.noise_expectation(z[0] ** 3, z, sp.eye(2))
    assert L.noise_expectation(3 + z[0] + z[0] * z[1], z, sp.Matrix([[1, 5], [5, 2]])) == 8


def test_line_multipliers_are_the_step_with_a_random_sign() -> None:
    down, up = L.line_multipliers()
    hv, ev, sv = 1.3, 0.4, 2.5
    for theta in (0.2, 1.0, 3.7):
        loss = hv * theta**2 / 2
        steps = sorted((theta - ev * (hv * theta + np.sqrt(sv * loss) * z)) / theta for z in (-1.0, 1.0))
        values = {L.h: hv, eta: ev, sigma: sv}
        assert steps == pytest.approx([float(down.subs(values)), float(up.subs(values))], rel=1e-14)
    mean_square = sp.expand((down**2 + up**2) / 2)
    assert sp.simplify(mean_square - L.quadratic_factor(1).subs(L.m2, 1)) == 0  # E M^2 = rho on the line


def test_line_exit_probability_by_enumerating_every_sign_sequence() -> None:
    down, up, barrier, steps = 0.55, 1.4, 3.0, 16
    exits = 0
    for code in range(2**steps):
        theta = 1.0
        for j in range(steps):
            theta *= up if code >> j & 1 else down
            if theta > barrier:
                exits += 1
                break
    assert line_exit_probability(down, up, barrier, steps) == pytest.approx(exits / 2**steps, rel=1e-12)


def test_line_setting_constants() -> None:
    line = line_setting()
    assert (line["down"], line["up"]) == pytest.approx((0.1, 1.3), rel=1e-14)
    assert (line["rho"], line["eta_max"]) == pytest.approx((0.85, 0.4), rel=1e-14)
    assert line["exit_bound"] == pytest.approx(0.9 / (16 * (1 - 0.85**0.5)), rel=1e-12)
    assert 2.0**-11 < line["exit_probability"] < 2.0**-11 + 2.0**-15  # eleven up-moves in a row, or almost
