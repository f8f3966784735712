r"""The minibatch law a user's sampler follows, and the exact tests that hold it to that law.

Two laws give the minibatch gradient :math:`\hat g = \frac1{b}\sum_{j \in B} g_j` a known covariance
(:mod:`sgd_conformance.theory.minibatch`): b i.i.d. uniform indices (*with replacement*, :math:`\Sigma/b`) and a
uniform b-subset (*without replacement*, :math:`\frac{N-b}{b(N-1)}\Sigma`). :func:`identify` takes the law the
sampler declares (its ``replacement`` attribute, as ``torch.utils.data.RandomSampler`` has) and otherwise reads it
from the batches: no index ever repeated inside a batch is sampling without replacement, any repeat is sampling with
it. :func:`law_decisions` then holds the sampler to that law exactly:

- a declared law with replacement must repeat an index inside a batch of b with probability
  :math:`1 - N^{\underline b}/N^b` (exact two-sided binomial test over the batches, independent under the law);
  a sampler declared without replacement must never repeat one (exact);
- every epoch is drawn afresh: the first batches of two epochs of a chain hold the same indices (as multisets) with
  the exact probability :func:`~sgd_conformance.theory.minibatch.same_batch_probability` (:math:`1/\binom Nb`
  without replacement). The epochs are paired disjointly, (0, 1), (2, 3), ..., so the pairs are independent under
  either law and the count is binomial; a sampler that reuses one permutation, or draws the same batches for
  every epoch (a sequential one), matches in every pair.

The test problem is least squares on a small population, the per-sample gradients
:math:`g_i = x_i(x_i^\top\theta - y_i)` at one fixed :math:`\theta` (:class:`Population`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sgd_conformance.checks.harness import stats
from sgd_conformance.checks.harness.loop import Reduction
from sgd_conformance.solvers._xp import asarray
from sgd_conformance.solvers.minibatch import least_squares_per_sample_gradients
from sgd_conformance.theory import minibatch as minibatch_theory

#: upper-triangle entries (i <= j) of a 3 x 3 covariance, in the order the checks test them
UPPER = np.triu_indices(3)


@dataclass(frozen=True)
class Population:
    """Least squares on N samples in d dimensions at a fixed theta: the per-sample gradients ``(N, d)``, their mean
    (the full gradient grad L) and population covariance Sigma = (1/N) sum_i (g_i - grad L)(g_i - grad L)'."""

    features: np.ndarray
    targets: np.ndarray
    theta: np.ndarray
    gradient: np.ndarray
    sigma: np.ndarray

    @property
    def size(self) -> int:
        return int(self.features.shape[0])

    def minibatch_gradient(self, reduction: Reduction, batch: np.ndarray, xp: Any) -> Any:
        """The user's reduction of the per-sample gradients of ``batch`` ``(chains, b_k)`` at theta: ``(chains, d)``
        on the namespace ``xp``."""
        theta = asarray(np.tile(self.theta, (batch.shape[0], 1)), xp)
        per_sample = least_squares_per_sample_gradients(theta, asarray(self.features, xp), asarray(self.targets, xp),
                                                        batch)
        return reduction.gradient(per_sample)


def least_squares_population(rng: np.random.Generator, size: int = 20, dim: int = 3) -> Population:
    """Gaussian features, targets from a Gaussian weight plus noise 0.5, theta standard normal (away from the
    minimiser, so grad L is of the order of the noise)."""
    features = rng.standard_normal((size, dim))
    targets = features @ rng.standard_normal(dim) + 0.5 * rng.standard_normal(size)
    theta = rng.standard_normal(dim)
    per_sample = features * (features @ theta - targets)[:, None]
    gradient = per_sample.mean(axis=0)
    centred = per_sample - gradient
    return Population(features, targets, theta, gradient, centred.T @ centred / size)


def upper_products(centred: np.ndarray) -> np.ndarray:
    """The entries i <= j of the outer products c c' of the rows of ``centred`` ``(units, 3)``: ``(units, 6)``."""
    return np.asarray((centred[:, :, None] * centred[:, None, :])[:, UPPER[0], UPPER[1]])


def has_repeat(batch: np.ndarray) -> np.ndarray:
    """Per row of ``batch`` ``(rows, b)``: whether some index occurs twice."""
    ordered = np.sort(batch, axis=1)
    return np.asarray(np.any(ordered[:, 1:] == ordered[:, :-1], axis=1))


@dataclass(frozen=True)
class Law:
    """The law a sampler follows: ``replacement``, and whether the sampler ``declared`` it (else it was read from
    its batches)."""

    replacement: bool
    declared: bool

    @property
    def name(self) -> str:
        return "with replacement" if self.replacement else "without replacement"

    @property
    def label(self) -> str:
        """The law and how it was found, as the messages say it."""
        return self.name + (" (declared)" if self.declared else
                            " (identified: " + ("an index repeated inside a batch" if self.replacement
                                                else "no index repeated inside any batch") + ")")

    def factor(self, population: int, batch: int) -> float:
        """Cov(g_hat)/Sigma for a minibatch of ``batch`` of ``population`` samples under this law."""
        return float(minibatch_theory.covariance_factor(population, batch, self.replacement))

    @property
    def statistical_tests(self) -> int:
        """How many decisions of :func:`law_decisions` spend a level: the reshuffle test, and the repeat test of a
        law with replacement."""
        return 2 if self.replacement else 1


def identify(declared: bool | None, batches: Sequence[np.ndarray]) -> Law:
    """The declared law, else: any index repeated inside any of ``batches`` -> with replacement, none -> without."""
    if declared is not None:
        return Law(declared, True)
    return Law(any(bool(np.any(has_repeat(batch))) for batch in batches), False)


def law_decisions(law: Law, full: np.ndarray, firsts: np.ndarray, population: int, level: float,
                  where: str) -> list[stats.Decision]:
    """The sampler against its law: the repeats inside the full batches ``full`` ``(rows, b)`` (independent under
    the law), and the first batches ``firsts`` ``(chains, epochs, b)`` of consecutive epochs (pairs (0, 1), (2, 3),
    ...). ``level`` is each statistical decision's share; ``where`` names the batch size in the messages."""
    batch = full.shape[1]
    decisions = []
    repeats = int(np.sum(has_repeat(full))) if batch > 1 else 0
    if law.replacement and batch > 1 and full.shape[0]:
        probability = float(minibatch_theory.repeat_probability(population, batch))
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
    probability = float(minibatch_theory.same_batch_probability(population, batch, law.replacement))
    decisions.append(replace(stats.binomial_equals(
        f"fraction of the first batches of epochs 2j and 2j + 1 of a chain that hold the same indices ({where}; "
        f"{law.name})", same, trials, probability, level),
        test=f"exact two-sided binomial test over {trials} independent (chain, epoch pair) trials: epochs drawn "
             f"afresh repeat a first batch with the exact P = {probability:.3g}; a sampler that does not reshuffle "
             "between epochs, or draws fixed batches (e.g. a sequential one, which has no minibatch noise), repeats "
             "it always"))
    return decisions
