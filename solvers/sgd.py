r"""Gradient descent, the reference of the ``sgd`` family.

.. math:: \theta_{k+1} = \theta_k - \eta\, g_k

with :math:`g_k` the full-batch gradient or a minibatch estimate supplied by the caller; ``lr`` is
:math:`\eta`. ``theta`` has shape ``(chains, d)`` and is not modified.
"""

from __future__ import annotations

from typing import Any


def gd_step(theta: Any, grad: Any, lr: float) -> Any:
    """One (stochastic) gradient step on a batch of chains: ``theta - lr * grad``."""
    return theta - lr * grad
