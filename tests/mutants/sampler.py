"""Wrong ``sampler`` implementations, one bug each (stated in its docstring), and a correct variant.

The contract's NumPy form: ``fn(n, batch_size, rng, chains) -> [index arrays (chains, b_k)]``, one epoch of every
chain; a ``replacement`` attribute declares the law (absent: without replacement, every sample once per epoch).
"""

from __future__ import annotations

import numpy as np


def sampler_correct_variant(n: int, batch_size: int, rng: np.random.Generator, chains: int) -> list[np.ndarray]:
    """Correct: permute each row of a tiled arange, then split at multiples of the batch size."""
    order = rng.permuted(np.tile(np.arange(n), (chains, 1)), axis=1)
    return np.split(order, np.arange(batch_size, n, batch_size), axis=1)


def with_replacement_undeclared(n: int, batch_size: int, rng: np.random.Generator, chains: int) -> list[np.ndarray]:
    """Bug: draws with replacement where an epoch must visit every sample once.

    An epoch of n i.i.d. uniform indices: some samples twice, some never, and nothing says so."""
    draws = rng.integers(0, n, size=(chains, n))
    return np.split(draws, np.arange(batch_size, n, batch_size), axis=1)


def without_replacement_declared_with(n: int, batch_size: int, rng: np.random.Generator,
                                      chains: int) -> list[np.ndarray]:
    """Bug: samples without replacement while declaring replacement = True.

    The minibatch covariance is (N - b)/(b (N - 1)) Sigma, not the declared Sigma/b."""
    return sampler_correct_variant(n, batch_size, rng, chains)


without_replacement_declared_with.replacement = True  # type: ignore[attr-defined]

_ORDERS: dict[tuple[int, int], np.ndarray] = {}


def shuffles_once(n: int, batch_size: int, rng: np.random.Generator, chains: int) -> list[np.ndarray]:
    """Bug: one shuffle for all epochs (no reshuffle between epochs).

    The permutation is drawn on the first call and reused: every epoch of a chain visits the samples in the same
    order."""
    order = _ORDERS.setdefault((n, chains), np.argsort(rng.random((chains, n)), axis=1))
    return np.split(order, np.arange(batch_size, n, batch_size), axis=1)


def fixed_seed(n: int, batch_size: int, rng: np.random.Generator, chains: int) -> list[np.ndarray]:
    """Bug: seeds its own generator on every call (one permutation for every chain and epoch).

    ``np.random.default_rng(0)`` inside the sampler: the chains share their minibatches and no epoch reshuffles."""
    order = np.tile(np.random.default_rng(0).permutation(n), (chains, 1))
    return np.split(order, np.arange(batch_size, n, batch_size), axis=1)


def drops_last_batch(n: int, batch_size: int, rng: np.random.Generator, chains: int) -> list[np.ndarray]:
    """Bug: drops the last partial batch (drop_last = True).

    The n mod b samples at the end of each permutation are never visited in that epoch."""
    return [b for b in sampler_correct_variant(n, batch_size, rng, chains) if b.shape[1] == batch_size]


def pads_last_batch(n: int, batch_size: int, rng: np.random.Generator, chains: int) -> list[np.ndarray]:
    """Bug: pads the last partial batch to full size with the epoch's first samples (they count twice).

    Every batch has b indices, so the samples that open the permutation are visited twice per epoch."""
    order = np.argsort(rng.random((chains, n)), axis=1)
    padded = np.concatenate([order, order[:, :(-n) % batch_size]], axis=1)
    return np.split(padded, np.arange(batch_size, padded.shape[1], batch_size), axis=1)
