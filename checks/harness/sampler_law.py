r"""Holding a user's sampler to the minibatch law it follows, and its minibatch gradient on a test population.

The law (:class:`~sgd_conformance.checks.oracles.minibatch_law.Law`: declared through the sampler's ``replacement``
attribute, else read from its batches) fixes two exact probabilities, which :func:`law_decisions` tests with exact
binomial tests:

- a batch of b i.i.d. uniform indices repeats one with probability :math:`1 - N^{\underline b}/N^b`; a sampler
  declared without replacement must never repeat one;
- every epoch is drawn afresh: the first batches of two epochs of a chain hold the same indices (as multisets) with
  the law's probability (:math:`1/\binom Nb` without replacement). The epochs are paired disjointly, (0, 1), (2, 3),
  ..., so the pairs are independent under either law and the count is binomial; a sampler that reuses one
  permutation, or draws the same batches for every epoch (a sequential one), matches in every pair.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.loop import Reduction
from sgd_conformance.checks.oracles.minibatch_law import Law, Population, has_repeat
from sgd_conformance.solvers._xp import asarray
from sgd_conformance.solvers.minibatch import least_squares_per_sample_gradients


def minibatch_gradient(population: Population, reduction: Reduction, batch: np.ndarray, xp: Any) -> Any:
    """The user's reduction of the per-sample gradients of ``batch`` ``(chains, b_k)`` at the population's theta:
    ``(chains, d)`` on the namespace ``xp``."""
    theta = asarray(np.tile(population.theta, (batch.shape[0], 1)), xp)
    per_sample = least_squares_per_sample_gradients(theta, asarray(population.features, xp),
                                                    asarray(population.targets, xp), batch)
    return reduction.gradient(per_sample)


def law_decisions(law: Law, full: np.ndarray, firsts: np.ndarray, population: int, level: float,
                  where: str) -> list[stats.Decision]:
    """The sampler against its law: the repeats inside the full batches ``full`` ``(rows, b)`` (independent under
    the law), and the first batches ``firsts`` ``(chains, epochs, b)`` of consecutive epochs (pairs (0, 1), (2, 3),
    ...). ``level`` is each statistical decision's share; ``where`` names the batch size in the messages."""
    batch = full.shape[1]
    decisions = []
    repeats = int(np.sum(has_repeat(full))) if batch > 1 else 0
    if law.replacement and batch > 1 and full.shape[0]:
        probability = law.repeat_probability(population, batch)
        decisions.append(replace(stats.binomial_equals(
            f"fraction of the batches of {batch} that repeat an index ({where}; {law.label})", repeats,
            full.shape[0], probability, level),
            test=f"exact two-sided binomial test over {full.shape[0]} batches, independent under the law: b i.i.d. "
                 "uniform indices repeat one with P = 1 - N!/((N - b)! N^b)"))
    elif law.declared and not law.replacement:
        decisions.append(stats.agreement(f"batches of {batch} that repeat an index ({where}; declared without "
                                         "replacement)", repeats, 0, test="exact: a b-subset has no repeated index"))
    pairs = firsts.shape[1] // 2
    ordered = np.sort(firsts[:, :2 * pairs], axis=2).reshape(firsts.shape[0], pairs, 2, batch)
    same = int(np.sum(np.all(ordered[:, :, 0] == ordered[:, :, 1], axis=2)))
    trials = firsts.shape[0] * pairs
    if not trials:
        return decisions
    probability = law.same_batch_probability(population, batch)
    decisions.append(replace(stats.binomial_equals(
        f"fraction of the first batches of epochs 2j and 2j + 1 of a chain that hold the same indices ({where}; "
        f"{law.name})", same, trials, probability, level),
        test=f"exact two-sided binomial test over {trials} independent (chain, epoch pair) trials: epochs drawn "
             f"afresh repeat a first batch with the exact P = {probability:.3g}; a sampler that does not reshuffle "
             "between epochs, or draws fixed batches (e.g. a sequential one, which has no minibatch noise), repeats "
             "it always"))
    return decisions
