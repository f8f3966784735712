r"""The components of a minibatch training loop, the references of the ``sampler``, ``reduction``, ``schedule`` and
``averaging`` families.

One epoch of minibatch SGD on N samples with batch size b visits the minibatches :math:`B_1, \dots, B_m`,
:math:`m = \lceil N/b \rceil`, drawn by the *sampler*; at step k the *reduction* forms the minibatch gradient
:math:`\hat g_k = \frac1{|B_k|}\sum_{j \in B_k} g_j` from the per-sample gradients, the *schedule* gives the step
size :math:`\eta_k`, the step is :math:`\theta_{k+1} = \theta_k - \eta_k \hat g_k`, and the *averaging* keeps the
running (Polyak–Ruppert) average :math:`\bar\theta_k = \frac1{k+1}\sum_{j \le k}\theta_j`.

- Sampler: *random reshuffling*, a fresh uniform permutation of {0..N-1} per epoch and chain, cut into
  consecutive batches of b; the last batch holds the N mod b remaining samples when b does not divide N (it is
  kept, as ``torch.utils.data.DataLoader`` keeps it by default).
- Reduction: the mean over the batch, divided by the batch's own size (the last partial batch included).
- Schedule: the inverse-power decay :math:`\eta_k = \eta_0 (1 + k/k_0)^{-p}` (Robbins & Monro 1951 for
  1/2 < p <= 1), i.e. :math:`\gamma_0/(k + k_0)^p` with :math:`\gamma_0 = \eta_0 k_0^p`.
- Averaging: the uniform running mean :math:`\bar\theta_k = \bar\theta_{k-1} + (\theta_k - \bar\theta_{k-1})/(k+1)`
  (Polyak & Juditsky 1992).

Arrays are batch-first over chains; the sampler returns NumPy integer arrays, the rest runs on the namespace of
its inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sgd_conformance.solvers._xp import namespace


def shuffled_epoch(n: int, batch_size: int, rng: np.random.Generator, chains: int) -> list[np.ndarray]:
    """One epoch of random reshuffling for ``chains`` independent chains: ``ceil(n / batch_size)`` arrays of shape
    ``(chains, b_k)``, every sample exactly once per chain, the last batch holding the ``n mod batch_size`` rest."""
    order = np.argsort(rng.random((chains, n)), axis=1)
    return [order[:, start:start + batch_size] for start in range(0, n, batch_size)]


def mean_reduction(per_sample: Any, batch_size: int) -> Any:
    """The minibatch gradient ``(chains, d)``: the mean of the per-sample gradients ``(chains, b_k, d)`` over the
    batch's own size ``b_k`` (``batch_size`` is the nominal size, which a partial last batch does not reach)."""
    return namespace(per_sample).mean(per_sample, axis=1)


def inverse_power(k: int, *, lr0: float, k0: float, power: float) -> float:
    """The step size of step k (from theta_k to theta_(k+1)), k = 0, 1, ...: ``lr0 * (1 + k/k0) ** -power``."""
    return lr0 * (1.0 + k / k0) ** -power


def uniform_average(avg: Any, theta: Any, k: int) -> Any:
    """The running mean after its (k+1)-th iterate ``theta`` (``avg`` holds the mean of the k before; at k = 0 its
    value is not used)."""
    return avg + (theta - avg) / (k + 1)
