r"""Minibatch gradients of least squares for a batch of chains, each chain with its own minibatch.

Loss :math:`L(\theta) = \frac{1}{2N}\|X\theta - y\|^2`, per-sample gradients :math:`g_i = x_i (x_i^\top\theta - y_i)`,
minibatch gradient :math:`\hat g = \frac1b \sum_{j \in B} g_j`, with B drawn uniformly with or without
replacement (:func:`sample_indices`). Indices come from a NumPy generator; the arithmetic runs on the
namespace of ``theta``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sgd_conformance.solvers._xp import namespace


def sample_indices(rng: np.random.Generator, chains: int, population: int, batch: int, replacement: bool) -> np.ndarray:
    """``(chains, batch)`` indices: i.i.d. uniform (with replacement) or a uniform b-subset per chain (without)."""
    if replacement:
        return rng.integers(0, population, size=(chains, batch))
    return np.argsort(rng.random((chains, population)), axis=1)[:, :batch]


def least_squares_per_sample_gradients(theta: Any, features: Any, targets: Any, indices: Any) -> Any:
    """``(chains, b, d)`` per-sample gradients ``g_j = x_j (x_j' theta_c - y_j)``, chain c using the samples
    ``indices[c]`` (an integer array ``(chains, b)``, NumPy or of the namespace of ``theta``)."""
    xp = namespace(theta)
    chains, batch = indices.shape
    flat = xp.asarray(indices.reshape(-1))
    x = xp.reshape(xp.take(features, flat, axis=0), (chains, batch, features.shape[1]))
    y = xp.reshape(xp.take(targets, flat, axis=0), (chains, batch))
    residual = xp.sum(x * theta[:, None, :], axis=-1) - y
    return residual[:, :, None] * x


def least_squares_minibatch_gradient(theta: Any, features: Any, targets: Any, indices: np.ndarray) -> Any:
    """``(chains, d)`` minibatch gradients, chain c using the samples ``indices[c]``: the mean of
    :func:`least_squares_per_sample_gradients` over the batch."""
    return namespace(theta).mean(least_squares_per_sample_gradients(theta, features, targets, indices), axis=1)
