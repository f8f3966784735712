"""The suite's own minibatch sampler against the exact minibatch-noise law (family ``reference``)."""

from __future__ import annotations

import math

import numpy as np

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers import minibatch
from sgd_conformance.theory import minibatch as minibatch_theory

BATCHES = (1, 4, 10)


@claim(
    "lecture.minibatch-noise-covariance", family="reference",
    statement="The minibatch gradient g_hat = (1/b) sum_(j in B) grad l_j is unbiased with covariance Sigma/b when the "
              "b indices are i.i.d. uniform (with replacement) and (N - b)/(b (N - 1)) Sigma for a uniform b-subset "
              "(without replacement), Sigma = (1/N) sum_i (grad l_i - grad L)(grad l_i - grad L)'.",
    hypotheses="least squares with N = 20 samples in d = 3 at a fixed theta; b in {1, 4, 10}, both samplings; the "
               "factors derived by enumerating every minibatch of N = 6, b = 2.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('theta_(t+1) = theta_t - eta "
           "grad L + (eta/sqrt b) Sigma^(1/2) xi'); the finite-population correction of sampling without replacement "
           "(Cochran, Sampling Techniques, 1977), derived here by enumeration.",
    seed_wording="The lecture's Gaussian form (eta/sqrt b) Sigma^(1/2) xi matches the first two moments of sampling "
                 "with replacement only; without replacement the covariance carries the factor (N - b)/(N - 1).",
    # minibatch draws per (b, sampling)
    sizes={"quick": {"draws": 20000},
           "standard": {"draws": 80000},
           "thorough": {"draws": 320000}},
    oracle_mutants=("gradient_over_sqrt_b", "always_with_replacement"),
)
def minibatch_gradient_has_the_finite_population_covariance(run: ClaimRun) -> None:
    """Per-entry CLT tests of the minibatch mean and covariance (known centre: the full gradient)."""
    draws = run.sizes["draws"]
    rng = run.stream("data", on_backend=False)
    population, d = 20, 3
    features = rng.standard_normal((population, d))
    targets = features @ rng.standard_normal(d) + 0.5 * rng.standard_normal(population)
    theta = rng.standard_normal(d)
    per_sample = features * (features @ theta - targets)[:, None]
    full = per_sample.mean(axis=0)
    sigma = (per_sample - full).T @ (per_sample - full) / population
    upper = np.triu_indices(d)
    level = stats.split(run.budget, 2 * 2 * len(BATCHES))
    decisions = [stats.agreement(f"Var(g_hat)/Sigma by enumeration (N = 6, b = 2, {'with' if r else 'without'} "
                                 "replacement)", minibatch_theory.enumerated_moments(6, 2, r),
                                 (0, minibatch_theory.covariance_factor(6, 2, r)), test="sympy, every minibatch")
                 for r in (True, False)]
    ratios: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for replacement in (True, False):
        for batch in BATCHES:
            indices = minibatch.sample_indices(run.stream(batch, replacement, on_backend=False), draws, population,
                                               batch, replacement)
            grads = minibatch.least_squares_minibatch_gradient(np.broadcast_to(theta, (draws, d)), features, targets,
                                                               indices)
            centred = grads - full
            products = (centred[:, :, None] * centred[:, None, :])[:, upper[0], upper[1]]
            factor = float(minibatch_theory.covariance_factor(population, batch, replacement))
            mode = f"b = {batch}, {'with' if replacement else 'without'} replacement"
            decisions.append(stats.z_test(f"E[g_hat] - grad L ({mode})", centred.mean(axis=0),
                                          centred.std(axis=0, ddof=1) / math.sqrt(draws), 0.0, level,
                                          test=f"CLT per coordinate over {draws} minibatches"))
            decisions.append(stats.z_test(f"Cov(g_hat) entries ({mode})", products.mean(axis=0),
                                          products.std(axis=0, ddof=1) / math.sqrt(draws),
                                          factor * sigma[upper], level,
                                          test=f"CLT per entry (6 entries) over {draws} minibatches"))
            ratios[replacement].append((batch, float(np.trace(centred.T @ centred / draws) / np.trace(sigma))))
    grid = np.arange(1, population + 1)
    run.figure(Figure(
        title="tr Cov(g_hat) / tr Sigma against the batch size", xlabel="b", ylabel="ratio", xscale="log", yscale="log",
        series=[Series("with replacement", [r[0] for r in ratios[True]], [r[1] for r in ratios[True]]),
                Series("without replacement", [r[0] for r in ratios[False]], [r[1] for r in ratios[False]]),
                Series("1/b", grid.tolist(), (1 / grid).tolist(), style="dashed"),
                Series("(N - b)/(b (N - 1))", grid[:-1].tolist(),
                       ((population - grid[:-1]) / (grid[:-1] * (population - 1))).tolist(), style="dashed")],
        caption="Sampling without replacement shrinks the noise by the finite-population factor."))
    run.verdict(*decisions)
