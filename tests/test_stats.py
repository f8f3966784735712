"""Each decision of checks/stats.py: its false-alarm rate under H0 over many seeds, and its power under H1.

Rates are judged with Clopper–Pearson intervals on a fixed set of seeds (deterministic): under H0 the
rejection rate at level 0.05 must not be significantly above 0.05; under H1 it must be near 1.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import Claim, ClaimFailed, ClaimRun
from sgd_conformance.checks.harness.impl import NUMPY_FORM, Guard, Implementation
from sgd_conformance.solvers.sgd import gd_step

LEVEL = 0.05
SEEDS = range(400)


def _not_above_level(rejections: list[bool]) -> bool:
    return sps.binomtest(int(sum(rejections)), len(rejections)).proportion_ci(confidence_level=0.999).low <= LEVEL


def test_z_test_false_alarm_and_power() -> None:
    def run(shift: float) -> list[bool]:
        out = []
        for s in SEEDS:
            x = np.random.default_rng(s).standard_normal((200, 3)) + shift
            out.append(not stats.z_test("mean", x.mean(0), 1 / np.sqrt(200), 0.0, LEVEL, "z").passed)
        return out

    assert _not_above_level(run(0.0))
    assert np.mean(run(0.4)) > 0.99


def test_chi2_variance_test_false_alarm_and_power() -> None:
    def run(scale: float) -> list[bool]:
        return [not stats.chi2_variance_test("var", scale * np.random.default_rng(s).standard_normal((300, 2)),
                                             LEVEL).passed for s in SEEDS]

    assert _not_above_level(run(1.0))
    assert np.mean(run(1.3)) > 0.99


def test_ks_test_false_alarm_and_power() -> None:
    def run(shift: float) -> list[bool]:
        return [not stats.ks_test("law", np.random.default_rng(s).standard_normal(500) + shift, sps.norm.cdf,
                                  LEVEL).passed for s in SEEDS]

    assert _not_above_level(run(0.0))
    assert np.mean(run(0.3)) > 0.99


def test_gls_intercept_and_goodness_of_fit_false_alarm() -> None:
    h = np.array([0.2, 0.1, 0.05, 0.025])
    design = np.column_stack([np.ones_like(h), h])
    se = 0.01 * np.sqrt(h / h[-1])
    intercept, fit_rejections = [], []
    for s in SEEDS:
        y = 0.5 * h + se * np.random.default_rng(s).standard_normal(h.size)
        fit = stats.gls(design, y, np.diag(se**2))
        intercept.append(not stats.coefficient_test("c0", fit, 0, 0.0, LEVEL, "gls").passed)
        fit_rejections.append(not stats.goodness_of_fit("gof", fit, LEVEL, "chi2").passed)
    assert _not_above_level(intercept)
    assert _not_above_level(fit_rejections)


def test_gls_with_correlated_errors_uses_the_covariance() -> None:
    design = np.column_stack([np.ones(5), np.arange(5.0)])
    cov = 0.5 * np.eye(5) + 0.5  # strongly correlated levels, as with coupled Brownian paths
    chol = np.linalg.cholesky(cov)
    rejections = []
    for s in SEEDS:
        y = design @ np.array([1.0, 2.0]) + chol @ np.random.default_rng(s).standard_normal(5)
        fit = stats.gls(design, y, cov)
        rejections.append(not stats.coefficient_test("c0", fit, 0, 1.0, LEVEL, "gls").passed)
    assert _not_above_level(rejections)


def test_one_sided_test_rejects_only_below_the_bound() -> None:
    assert stats.one_sided_z_test("order", 0.6, 0.01, 0.5, 1e-3, "t").passed
    assert not stats.one_sided_z_test("order", 0.1, 0.01, 0.5, 1e-3, "t").passed
    fit = stats.ols(np.column_stack([np.ones(4), np.arange(4.0)]), np.array([0.0, 1.0, 2.01, 2.99]))
    assert stats.coefficient_test("slope", fit, 1, 0.5, 1e-3, "t", alternative="greater", t_dof=fit.dof).passed


def test_moments_accumulate_exactly_in_blocks() -> None:
    x = np.random.default_rng(1).standard_normal((1000, 3))
    acc = stats.Moments()
    for block in np.array_split(x, 7):
        acc.add(block)
    np.testing.assert_allclose(acc.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(acc.cov, np.cov(x.T), rtol=1e-10)


def test_identity_and_agreement() -> None:
    assert stats.identity("x", [1.0, 2.0], [1.0, 2.0 + 1e-12], rtol=1e-10, test="t").passed
    assert not stats.identity("x", [1.0, np.nan], [1.0, 2.0], rtol=1e-10, test="t").passed
    assert not stats.identity("x", np.ones((2, 2)), np.zeros((2, 2)), rtol=0.0, atol=np.array([[2.0], [0.5]]),
                              test="t").passed
    assert stats.agreement("proof", True, True, "sympy").passed
    assert not stats.agreement("verdict", "neither", "converges", "exact").passed


def _run(budget: float = 1e-6) -> ClaimRun:
    """A run whose stage level is sqrt(budget) = 1e-3."""
    claim = Claim("demo.claim", "sgd", "statement", "hypotheses", "source", budget)
    guard = Guard(impl=Implementation("sgd", "mylib:step", NUMPY_FORM, gd_step), budget_s=1.0, profile="quick")
    return ClaimRun(claim, "mylib:step", 5, "quick", "numpy", "checks/test_demo.py::test_demo", guard=guard)


def test_verdict_refuses_levels_above_the_stage_level() -> None:
    d = stats.z_test("m", [0.0], [1.0], 0.0, 6e-4, "z")
    with pytest.raises(ValueError, match="sum to"):
        _run().verdict(d, d)


def test_verdict_message_follows_the_grammar() -> None:
    bad = stats.z_test("Var_inf[theta_i]", [0.5], [0.01], 1.0, 1e-3, "variance CI on 1000 draws")
    run = _run()
    with pytest.raises(ClaimFailed) as info:
        run.verdict(bad)
    message = str(info.value)
    assert message.startswith("FAILED demo.claim — mylib:step [sgd · numpy · seed 5 · stage 1]")
    assert "Var_inf[theta_i] = 0.5 (99.9% CI" in message and "theory 1; observed/theory = 0.5" in message
    assert ("reproduce: pytest --pyargs sgd_conformance.checks --sgdc-claims demo.claim --sgdc-impl sgd=mylib:step "
            "--sgdc-seed 5 --sgdc-profile quick --sgdc-backend numpy") in message
    assert run.claim_p_value() == pytest.approx(min(1.0, bad.p_value))


def test_two_sample_ks_accepts_one_law_and_rejects_a_shift() -> None:
    rng = np.random.default_rng(7)
    same = stats.two_sample_ks("same", rng.standard_normal((2000, 3)), rng.standard_normal((2000, 3)), 1e-3)
    shifted = stats.two_sample_ks("shift", rng.standard_normal((2000, 3)),
                                  rng.standard_normal((2000, 3)) + [0.0, 0.3, 0.0], 1e-3)
    assert same.passed and not shifted.passed and shifted.details["worst_coordinate"] == 1


def test_sandwich_fit_propagates_the_covariance_of_y() -> None:
    design = np.column_stack([np.ones(4), np.arange(4.0)])
    cov = np.diag([1.0, 2.0, 3.0, 4.0])
    fit = stats.sandwich_fit(design, 1.0 + 2.0 * np.arange(4.0), cov)
    a = np.linalg.solve(design.T @ design, design.T)
    np.testing.assert_allclose(fit.coef, [1.0, 2.0], atol=1e-12)
    np.testing.assert_allclose(fit.cov, a @ cov @ a.T, atol=1e-12)


def test_uniform_categories_rejects_a_point_mass_and_no_draws_and_not_a_uniform_sample() -> None:
    uniform = stats.uniform_categories("cells", np.repeat(np.arange(6), 500), 6, 1e-3, "test")
    assert uniform.passed and uniform.p_value == pytest.approx(1.0)
    assert not stats.uniform_categories("cells", np.zeros(600, dtype=int), 6, 1e-3, "test").passed
    assert not stats.uniform_categories("cells", np.zeros(0, dtype=int), 6, 1e-3, "test").passed
