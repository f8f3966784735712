"""The moments of SGD run through the user's sampler and reduction (``lecture.sgf-mean-is-gf``,
``lecture.sgd-temperature``, ``lecture.sgd-stationary-shape``): the exact moment map of independent minibatches
against enumeration of every minibatch and against the single-sample map of ``checks.oracles.lsq_sde_sgd``; the
variance under random reshuffling against enumeration of every permutation and an independent quadratic form; the
numbers the statements quote; the components' correct variants and torch's samplers. The records' mutants are run by
tests/test_power.py."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp

from sgd_conformance.checks.oracles.lsq_sde_sgd import FEATURES, TARGETS, SgdMoments
from sgd_conformance.checks.oracles.sgd_moments import MinibatchMoments, covariance, mean, second_moment_about
from sgd_conformance.checks.sgd_moments import (
    TEMPERATURE_N,
    normal_scores,
    reshuffled_temperature_ratio,
    shape_dataset,
    temperature_variances,
)
from sgd_conformance.theory import langevin, numeric, sgd_moments
from sgd_conformance.theory.symbols import a, b, eta, sigma
from tests.power import assert_caught, mutant, require_torch, run_check

MEAN, TEMPERATURE, SHAPE = "lecture.sgf-mean-is-gf", "lecture.sgd-temperature", "lecture.sgd-stationary-shape"
RANDOM = "torch:torch.utils.data:RandomSampler"


def _maps(features: np.ndarray, targets: np.ndarray, step: float) -> np.ndarray:
    """Per-sample affine maps T_i of one step on (1, theta), built entry by entry (shares no code with the oracle)."""
    n, d = features.shape
    maps = np.zeros((n, d + 1, d + 1))
    for i in range(n):
        maps[i, 0, 0] = 1.0
        for r in range(d):
            maps[i, 1 + r, 0] = step * features[i, r] * targets[i]
            for c in range(d):
                maps[i, 1 + r, 1 + c] = float(r == c) - step * features[i, r] * features[i, c]
    return maps


@pytest.mark.parametrize(("batch", "replacement"), [(2, False), (3, False), (2, True), (3, True)])
def test_the_moment_map_is_the_average_over_every_minibatch(batch: int, replacement: bool) -> None:
    rng = np.random.default_rng(0)
    features, targets = rng.standard_normal((5, 2)), rng.standard_normal(5)
    maps = _maps(features, targets, 0.3)
    batches = (list(itertools.product(range(5), repeat=batch)) if replacement
               else list(itertools.combinations(range(5), batch)))
    enumerated = np.mean([np.kron(maps[list(B)].mean(axis=0), maps[list(B)].mean(axis=0)) for B in batches], axis=0)
    oracle = MinibatchMoments.least_squares(features, targets, 0.3, batch, replacement).operator
    np.testing.assert_allclose(oracle, enumerated, rtol=1e-12, atol=1e-14)


def test_within_a_reshuffled_epoch_the_mean_leaves_gd_at_order_eta_squared() -> None:
    """Every permutation of N = 4 samples in batches of 2: the mean after the epoch's two steps is GD's minus
    (eta^2/(N - 1)) (1/N) sum_i (A_i - H)(g_i(theta_0) - grad L(theta_0)), as the check module's docstring says."""
    rng = np.random.default_rng(1)
    features, targets, theta0, step = rng.standard_normal((4, 2)), rng.standard_normal(4), rng.standard_normal(2), 0.3
    hessians, offsets = features[:, :, None] * features[:, None, :], features * targets[:, None]

    def sgd_step(theta: np.ndarray, batch: tuple[int, ...]) -> np.ndarray:
        return theta - step * (hessians[list(batch)].mean(axis=0) @ theta - offsets[list(batch)].mean(axis=0))

    reshuffled = np.mean([sgd_step(sgd_step(theta0, p[:2]), p[2:]) for p in itertools.permutations(range(4))], axis=0)
    gd = MinibatchMoments.least_squares(features, targets, step, 2, False).path(theta0, 2)[-1, 1:, 0]
    gradients = hessians @ theta0 - offsets
    deviation = -step**2 / 3 * np.mean([(hessians[i] - hessians.mean(axis=0)) @ (gradients[i] - gradients.mean(axis=0))
                                        for i in range(4)], axis=0)
    np.testing.assert_allclose(reshuffled - gd, deviation, rtol=1e-10)
    assert np.linalg.norm(deviation) > 1e-3


def test_single_sample_sgd_with_replacement_is_the_moment_map_of_lsq_sde_sgd() -> None:
    reference = SgdMoments.of_problem()
    theta0, gamma, steps = np.array([1.0, -2.0]), 0.15, 30
    theirs = reference.path(reference.start(theta0), [gamma] * steps)
    ours = MinibatchMoments.least_squares(FEATURES, TARGETS, gamma, 1, True).path(theta0, steps)
    np.testing.assert_allclose(mean(ours) - reference.centre, theirs[:, 1:1 + reference.d], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(second_moment_about(ours, reference.centre), reference.second(theirs), rtol=1e-10,
                               atol=1e-12)


def test_the_stationary_moments_are_the_limit_of_the_path() -> None:
    features, targets, optimum = shape_dataset()
    moments = MinibatchMoments.least_squares(features, targets, 0.2, 4, False)
    np.testing.assert_allclose(moments.path(optimum, 3000)[-1], moments.stationary(), rtol=1e-10, atol=1e-13)
    assert np.allclose(covariance(moments.stationary()), second_moment_about(moments.stationary(), optimum))


def _reshuffled(population: int, batch: int, step: float, curvature: float, noise: float, steps: np.ndarray
                ) -> np.ndarray:
    values = {"eta": step, "a": curvature, "sigma": noise, "b": batch, "N": population}
    m = population // batch
    return np.asarray(numeric.evaluate(sgd_moments.reshuffled_variance_after(), xp=np, **values, e=steps // m,
                                       j=steps % m), dtype=float)


def test_the_reshuffled_variance_is_the_average_over_every_permutation_of_one_epoch() -> None:
    population, batch, step, curvature = 6, 2, 0.2, 1.5
    z = normal_scores(population)
    rho = 1 - step * curvature
    sums = []
    for order in itertools.permutations(range(population)):
        xi = z[list(order)].reshape(-1, batch).mean(axis=1)
        sums.append([-step * sum(rho ** (j - 1 - i) * xi[i] for i in range(j)) for j in range(4)])
    enumerated = np.mean(np.square(sums), axis=0)
    np.testing.assert_allclose(_reshuffled(population, batch, step, curvature, 1.0, np.arange(4)), enumerated,
                               rtol=1e-12, atol=1e-15)


def test_the_reshuffled_variance_is_the_quadratic_form_of_independent_epochs() -> None:
    """Block-diagonal covariance of the batch means (N - b)/(b (N - 1)) on the diagonal, -1/(N - 1) within an epoch,
    0 across epochs; Var theta_K = eta^2 sigma^2 w' C w with w_i = rho^(K-1-i)."""
    population, batch, step, curvature, noise, steps = 8, 2, 0.3, 1.5, 0.7, 17
    m = population // batch
    epoch_of = np.arange(steps) // m
    same_epoch = epoch_of[:, None] == epoch_of[None, :]
    cov = np.where(same_epoch, -1 / (population - 1), 0.0)
    np.fill_diagonal(cov, (population - batch) / (batch * (population - 1)))
    rho = 1 - step * curvature
    form = [0.0] + [step**2 * noise**2 * float(w @ cov[:k, :k] @ w)
                    for k in range(1, steps + 1) for w in [rho ** (k - 1 - np.arange(k))]]
    np.testing.assert_allclose(_reshuffled(population, batch, step, curvature, noise, np.arange(steps + 1)), form,
                               rtol=1e-12, atol=1e-16)


def test_the_reshuffled_epoch_end_variance_is_of_order_eta_cubed() -> None:
    end = sgd_moments.reshuffled_stationary_epoch_end_variance()
    n = sgd_moments.population
    leading = eta**3 * a * sigma**2 * n * (n**2 - b**2) / (24 * b**3 * (n - 1))
    assert sp.simplify(sp.series(end, eta, 0, 4).removeO() - leading) == 0


def test_the_statements_quote_the_exact_values() -> None:
    end = sgd_moments.reshuffled_stationary_epoch_end_variance().subs({a: 1, sigma: 1,
                                                                      sgd_moments.population: TEMPERATURE_N})
    first, second = (float(end.subs({eta: sp.nsimplify(s), b: n})) for s, n in ((0.1, 4), (0.2, 8)))
    assert (round(first, 6), round(second, 6), round(float(reshuffled_temperature_ratio()), 4)) == (
        0.000739, 0.000826, 1.1176)
    independent = [numeric.evaluate(langevin.sgd_stationary_variance(), eta=s, b=n, a=1, sigma=1)
                   for s, n in ((0.1, 4), (0.2, 8))]
    assert [round(v, 5) for v in independent] == [0.01316, 0.01389]
    long_run = temperature_variances(False, 0.1, 4, 800)
    assert abs(long_run[-1] - first) < 1e-12  # 800 steps end an epoch: the stationary epoch-end value
    features, targets, optimum = shape_dataset()
    assert np.allclose(features.T @ features / 16, np.diag([1.0, 0.1]))
    assert np.allclose(features.T @ (targets - features @ optimum), 0.0)
    for replacement, expected in ((False, (0.022638, 0.020690)), (True, (0.028431, 0.026019))):
        moments = MinibatchMoments.least_squares(features, targets, 0.2, 4, replacement)
        stationary = second_moment_about(moments.stationary(), optimum)
        assert tuple(round(float(v), 6) for v in np.diag(stationary)) == expected
        assert abs(stationary[0, 1]) < 1e-15
    assert round(0.25 / 0.020690) == 12


@pytest.mark.parametrize("claim", [MEAN, TEMPERATURE, SHAPE])
def test_the_components_correct_variants_pass(claim: str) -> None:
    """tests/test_power.py runs each claim's own family's correct variant; these are its components'."""
    result = run_check(claim, "--impl", mutant("sampler", "sampler_correct_variant"), "--impl",
                       mutant("reduction", "reduction_correct_variant"))
    assert result["outcome"] == "passed", result["message"]


@pytest.mark.parametrize("claim", [MEAN, TEMPERATURE, SHAPE])
def test_torch_random_samplers_pass_under_the_law_they_declare(claim: str) -> None:
    require_torch()
    for sampler, law in ((RANDOM, ("no replacement", "random reshuffling")),
                         (f"{RANDOM}(replacement=True)", ("replacement = True",))):
        result = run_check(claim, "--impl", f"sampler={sampler}")
        assert result["outcome"] == "passed", result["message"]
        assert any(any(word in d["what"] for word in law) for d in result["decisions"]), result["decisions"]


def test_a_sequential_sampler_fails_the_temperature_check() -> None:
    """SequentialSampler declares no replacement but never reshuffles: every chain sees the same batches in the same
    order every epoch, so the chains do not spread as under random reshuffling."""
    require_torch()
    result = run_check(TEMPERATURE, "--impl", "sampler=torch:torch.utils.data:SequentialSampler")
    assert_caught(result, "SequentialSampler")
    assert "law: random reshuffling" in result["message"]
