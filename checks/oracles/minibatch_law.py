r"""The minibatch law a user's sampler follows, and what that law predicts.

Two laws give the minibatch gradient :math:`\hat g = \frac1{b}\sum_{j \in B} g_j` a known covariance
(:mod:`sgd_conformance.theory.minibatch`): b i.i.d. uniform indices (*with replacement*, :math:`\Sigma/b`) and a
uniform b-subset (*without replacement*, :math:`\frac{N-b}{b(N-1)}\Sigma`). :func:`identify` takes the law the
sampler declares (its ``replacement`` attribute, as ``torch.utils.data.RandomSampler`` has) and otherwise reads it
from the batches: no index ever repeated inside a batch is sampling without replacement, any repeat is sampling with
it. The law fixes the covariance factor and the two probabilities that
:func:`sgd_conformance.checks.harness.sampler_law.law_decisions` tests exactly.

The test problem is least squares on a small population, the per-sample gradients
:math:`g_i = x_i(x_i^\top\theta - y_i)` at one fixed :math:`\theta` (:class:`Population`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

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

    def repeat_probability(self, population: int, batch: int) -> float:
        """P(a batch repeats an index) under this law: 1 - N!/((N - b)! N^b) with replacement, 0 without."""
        return float(minibatch_theory.repeat_probability(population, batch)) if self.replacement else 0.0

    def same_batch_probability(self, population: int, batch: int) -> float:
        """P(two independently drawn batches hold the same indices, as multisets) under this law."""
        return float(minibatch_theory.same_batch_probability(population, batch, self.replacement))

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
