r"""Stochastic gradient Langevin dynamics, the reference of the ``sgld`` family.

.. math:: \theta_{k+1} = \theta_k - \eta\,\nabla L(\theta_k) + \sqrt{2\eta T}\,\xi_k,\qquad \xi_k \sim N(0, I_d)

Convention: target ∝ exp(-L/T); eta (``lr``) is the whole time step of
:math:`d\theta = -\nabla L\,dt + \sqrt{2T}\,dW` (Welling & Teh's eps is 2 eta, with T = 1);
Itô; fresh noise for every step and every chain. ``theta`` has shape ``(chains, d)`` and is not modified.
Source: Ruthotto, Lecture 4 (Modern Theory of SGD) (Langevin -> Gibbs); Welling & Teh (2011), eq. (4).
"""

from __future__ import annotations

import math
from typing import Any


def sgld_step(theta: Any, grad: Any, lr: float, temperature: float, rng: Any) -> Any:
    """One SGLD step; ``rng`` is a NumPy (or CuPy) ``Generator`` from which the noise is drawn."""
    noise = rng.standard_normal(size=theta.shape)
    return theta - lr * grad + math.sqrt(2.0 * lr * temperature) * noise
