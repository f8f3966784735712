"""Wrong ``reduction`` implementations, one bug each (stated in its docstring), and a correct variant.

The contract's NumPy form: ``fn(per_sample_grads, batch_size) -> grad``, ``(chains, b_k, d) -> (chains, d)``, the
mean over the batch's own b_k samples (``batch_size`` is the nominal size).
"""

from __future__ import annotations

import numpy as np


def reduction_correct_variant(per_sample_grads: np.ndarray, batch_size: int) -> np.ndarray:
    """Correct: sum over the batch, divided by the batch's own size."""
    return per_sample_grads.sum(axis=1) / per_sample_grads.shape[1]


def summed(per_sample_grads: np.ndarray, batch_size: int) -> np.ndarray:
    """Bug: per-sample gradients summed, not averaged (a step b times too large).

    ``reduction='sum'`` where the loss is a mean: the effective step size is b lr."""
    return per_sample_grads.sum(axis=1)


def nominal_batch_size(per_sample_grads: np.ndarray, batch_size: int) -> np.ndarray:
    """Bug: divides by the nominal batch size, not the batch's own (the last partial batch under-weighted).

    A partial last batch of r < b samples gets the weight r/b of a full one."""
    return per_sample_grads.sum(axis=1) / batch_size
