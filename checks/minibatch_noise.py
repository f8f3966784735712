r"""The user's sampler and reduction against the exact minibatch-noise law (family ``sampler``, component
``reduction``).

Every epoch of the sampler (N = 20 samples, batch size b) is cut into batches :math:`B_1..B_m`, the last holding the
N mod b rest. Under either law each batch position k is marginally a minibatch of its own size :math:`b_k`, so
:math:`c_k = \hat g_k - \nabla L` has :math:`E c_k = 0` and :math:`E c_k c_k^\top = \phi(b_k)\Sigma`, with
:math:`\phi(b) = 1/b` (with replacement) or :math:`(N-b)/(b(N-1))` (without;
:mod:`sgd_conformance.theory.minibatch`). The Monte Carlo unit is one (chain, epoch), independent of the others when
the sampler draws each epoch afresh (tested, :func:`~sgd_conformance.checks.harness.sampler_law.law_decisions`):
its first batch's :math:`c_1` (mean), the average of :math:`c_k c_k^\top` over its full batches (expectation
:math:`\phi(b)\Sigma` exactly, though the batches of one epoch are dependent), and the last partial batch's
:math:`c_m` and :math:`c_m c_m^\top` (expectation :math:`\phi(N \bmod b)\Sigma`). CLT z-tests per entry over the
units; the first batch is used for the mean because the average of :math:`c_k` over a whole epoch without
replacement is 0 exactly.
"""

from __future__ import annotations

import math

import numpy as np

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.claims import ClaimRun, claim
from sgd_conformance.checks.harness.loop import Reduction, Sampler
from sgd_conformance.checks.harness.sampler_law import law_decisions, minibatch_gradient
from sgd_conformance.checks.oracles.minibatch_law import (
    UPPER,
    Law,
    Population,
    identify,
    least_squares_population,
    upper_products,
)
from sgd_conformance.reports.model import Figure, Series
from sgd_conformance.solvers._xp import to_numpy
from sgd_conformance.theory import minibatch as minibatch_theory

#: batch sizes: 4 and 10 divide N = 20, 6 leaves a partial last batch of 2
BATCHES = (4, 6, 10)
POPULATION = 20


def _epoch_sizes(batch: int) -> tuple[int, ...]:
    """The batch sizes of one epoch: N // b batches of b, then the N mod b rest if there is one."""
    return (batch,) * (POPULATION // batch) + ((POPULATION % batch,) if POPULATION % batch else ())


def _z(what: str, units: np.ndarray, expected: np.ndarray | float, level: float, test: str) -> stats.Decision:
    """Per-entry CLT z-test of the mean of the independent rows of ``units`` against ``expected``."""
    return stats.z_test(what, units.mean(axis=0), units.std(axis=0, ddof=1) / math.sqrt(units.shape[0]), expected,
                        level, test=f"{test}, CLT per entry over {units.shape[0]} independent (chain, epoch) units")


def _moment_decisions(population: Population, law: Law, batch: int, epochs: list[list[np.ndarray]],
                      gradients: list[list[np.ndarray]],
                      level: float) -> tuple[list[stats.Decision], list[tuple[int, float]]]:
    """Mean and covariance of the first / full / last partial batches of each (chain, epoch) unit; also the
    measured (b_k, tr Cov/tr Sigma) of the full and of the partial batches (for the figure)."""
    rest, sigma = POPULATION % batch, population.sigma
    first, full, last = [], [], []
    for epoch, grads in zip(epochs, gradients, strict=True):
        centred = [g - population.gradient for g in grads]
        whole = [c for c, b in zip(centred, epoch, strict=True) if b.shape[1] == batch]
        if epoch[0].shape[1] == batch:
            first.append(centred[0])
        if whole:
            full.append(np.mean([upper_products(c) for c in whole], axis=0))
        if rest and epoch[-1].shape[1] == rest:
            last.append(centred[-1])
    decisions: list[stats.Decision] = []
    ratios: list[tuple[int, float]] = []
    where = f"b = {batch}, {law.label}"
    if first:
        decisions.append(_z(f"E[g_hat] - grad L, first batch of each epoch ({where})", np.concatenate(first), 0.0,
                            level, test="known mean 0"))
    if full:
        units, factor = np.concatenate(full), law.factor(POPULATION, batch)
        decisions.append(_z(f"Cov(g_hat) entries, mean over the {POPULATION // batch} full batches of each epoch "
                            f"({where}; factor {factor:.4g})", units, factor * sigma[UPPER], level,
                            test="known centre grad L"))
        ratios.append((batch, float(units[:, [0, 3, 5]].sum(axis=1).mean() / np.trace(sigma))))
    if last:
        units, factor = np.concatenate(last), law.factor(POPULATION, rest)
        decisions.append(_z(f"E[g_hat] - grad L, last batch of {rest} ({where})", units, 0.0, level,
                            test="known mean 0"))
        decisions.append(_z(f"Cov(g_hat) entries, last batch of {rest} ({where}; factor {factor:.4g})",
                            upper_products(units), factor * sigma[UPPER], level, test="known centre grad L"))
        ratios.append((rest, float(np.mean(np.sum(units**2, axis=1)) / np.trace(sigma))))
    return decisions, ratios


@claim(
    "lecture.minibatch-noise-covariance", family="sampler", components=("reduction",),
    statement="With the user's sampler and reduction, the minibatch gradient g_hat = (1/b_k) sum_(j in B_k) grad l_j "
              "of every batch position k of an epoch (b_k its own size, the last partial batch included) is "
              "unbiased with covariance Sigma/b_k when the indices are i.i.d. uniform (with replacement) and "
              "(N - b_k)/(b_k (N - 1)) Sigma when B_k is a uniform b_k-subset (without replacement), Sigma = (1/N) "
              "sum_i (grad l_i - grad L)(grad l_i - grad L)'; the sampler follows the law it declares, and draws "
              "every epoch afresh. A sampler with fixed batches (e.g. torch's SequentialSampler) follows neither law "
              "and fails.",
    hypotheses="least squares with N = 20 samples in d = 3 at a fixed theta; b in {4, 6, 10} (b = 6: batches 6, 6, "
               "6, 2); the law is the sampler's declared replacement attribute, else identified from its batches "
               "(no index ever repeated inside a batch: without replacement; any repeat: with); chains and epochs "
               "i.i.d. (one Monte Carlo unit per (chain, epoch)); the factors derived by enumerating every minibatch "
               "of N = 6, b = 2; the probabilities of a repeated index and of two equal first batches exact.",
    source="Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides) ('theta_(t+1) = theta_t - eta "
           "grad L + (eta/sqrt b) Sigma^(1/2) xi'); the finite-population correction of sampling without replacement "
           "(Cochran, Sampling Techniques, 1977, Thm 2.2), derived here by enumeration.",
    seed_wording="The lecture's Gaussian form (eta/sqrt b) Sigma^(1/2) xi matches the first two moments of sampling "
                 "with replacement only; without replacement the covariance carries the factor (N - b)/(N - 1).",
    # chains of the sampler and epochs per chain, for each batch size (units = chains x epochs)
    sizes={"quick": {"chains": 4000, "epochs": 4},
           "standard": {"chains": 16000, "epochs": 4},
           "thorough": {"chains": 64000, "epochs": 4}},
    power="At quick (16000 units per batch size) a sampler declared with replacement that samples without never "
          "repeats an index (exact binomial p ~ 0.73^80000); no reshuffle between epochs or one seed for all "
          "chains repeats every first batch (p ~ 1/C(20, b) each); a dropped or padded last batch breaks the "
          "epoch's batch sizes (exact); a summed reduction is b times too large (mean bias (b - 1) grad L) and one "
          "that divides the last batch of 2 by b = 6 is biased by -(2/3) grad L there: each far outside the "
          "CLT intervals.",
    mutants=("without_replacement_declared_with", "shuffles_once", "fixed_seed", "drops_last_batch",
             "pads_last_batch", "reduction:summed", "reduction:nominal_batch_size"),
    oracle_mutants=("covariance_factor_over_sqrt_b",),
)
def minibatch_gradient_has_the_finite_population_covariance(run: ClaimRun) -> None:
    """The law (declared or identified), the sampler against it exactly (repeats, reshuffling, batch sizes), then
    CLT tests of each batch position's mean and covariance (the module docstring derives them)."""
    chains, epochs = run.sizes["chains"], run.sizes["epochs"]
    population = least_squares_population(run.stream("data", on_backend=False), POPULATION)
    drawn, declared = {}, None
    for batch in BATCHES:
        sampler = Sampler(run.impl, n=POPULATION, batch_size=batch, chains=chains,
                          rng=run.stream("sampler", batch, on_backend=False), context=f"N = {POPULATION}, b = {batch}")
        drawn[batch] = [sampler.epoch() for _ in range(epochs)]
        declared = sampler.declared_replacement
    law = identify(declared, [b for epochs_b in drawn.values() for epoch in epochs_b for b in epoch])
    parts = sum(law.statistical_tests + 2 + (2 if POPULATION % batch else 0) for batch in BATCHES)
    level = stats.split(run.level, parts)
    decisions = [stats.agreement(f"Var(g_hat)/Sigma by enumeration (N = 6, b = 2, {'with' if r else 'without'} "
                                 "replacement)", minibatch_theory.enumerated_moments(6, 2, r),
                                 (0, minibatch_theory.covariance_factor(6, 2, r)), test="sympy, every minibatch")
                 for r in (True, False)]
    moments: list[stats.Decision] = []
    ratios: list[tuple[int, float]] = []
    for batch, epochs_b in drawn.items():
        sizes = sorted({tuple(b.shape[1] for b in epoch) for epoch in epochs_b})
        decisions.append(stats.agreement(f"batch sizes of every epoch (N = {POPULATION}, b = {batch})", sizes,
                                         [_epoch_sizes(batch)],
                                         test="ceil(N/b) batches of b, the last the N mod b rest (kept, not "
                                              "padded)"))
        full = [b for epoch in epochs_b for b in epoch if b.shape[1] == batch]
        whole_firsts = [epoch[0] for epoch in epochs_b if epoch[0].shape[1] == batch]
        firsts = np.stack(whole_firsts, axis=1) if whole_firsts else np.zeros((chains, 0, batch), dtype=int)
        decisions += law_decisions(law, np.concatenate(full) if full else np.zeros((0, batch), dtype=int), firsts,
                                   POPULATION, level, where=f"b = {batch}")
        reduction = Reduction(run.component("reduction"), batch_size=batch)
        gradients = [[to_numpy(minibatch_gradient(population, reduction, b, run.xp)) for b in epoch]
                     for epoch in epochs_b]
        found, measured = _moment_decisions(population, law, batch, epochs_b, gradients, level)
        moments += found
        ratios += measured
    run.figure(_figure(law, ratios))
    run.verdict(*decisions, *moments)


def _figure(law: Law, ratios: list[tuple[int, float]]) -> Figure:
    """Measured tr Cov(g_hat)/tr Sigma of the full batches of each b and of the last partial batch, against both
    laws' factors."""
    grid = np.arange(1.0, POPULATION + 1)
    points = sorted(ratios)
    return Figure(
        title="tr Cov(g_hat) / tr Sigma against the batch's size", xlabel="b_k", ylabel="ratio", xscale="log",
        yscale="log",
        series=[Series(f"measured ({law.name})", [float(p[0]) for p in points], [p[1] for p in points]),
                Series("1/b (with replacement)", grid.tolist(), (1 / grid).tolist(), style="dashed"),
                Series("(N - b)/(b (N - 1)) (without)", grid[:-1].tolist(),
                       ((POPULATION - grid[:-1]) / (grid[:-1] * (POPULATION - 1))).tolist(), style="dashed")],
        caption="Each batch position has the factor of its own size (the last batch of 2 when b = 6); sampling "
                "without replacement shrinks the noise by the finite-population factor.")
