r"""Noisy gradient oracles of seed 003 (An & Lu, arXiv 2304.09221): machine-learning noise and bounded noise.

.. math:: \nabla f(\theta, \xi) = \nabla F(\theta) + \sqrt{\sigma F(\theta)}\,Z \quad\text{(machine-learning noise)},
          \qquad \nabla f(\theta, \xi) = \nabla F(\theta) + \sigma Z \quad\text{(bounded additive noise)},

with Z independent of the past, :math:`E Z = 0`, :math:`E|Z|^2 \le 1`. The suite draws **Z uniform on the unit
sphere** :math:`S^{d-1}` (a normalised Gaussian vector; in d = 1 a random sign), so :math:`|Z| = 1` exactly:

- :math:`E|Z|^2 = 1`: the hypothesis holds with equality, so on the isotropic quadratic the one-step factor equals
  An & Lu's bound (CLAIMS-DETAIL §9.15) instead of lying below it;
- :math:`|Z|` is bounded, so one step moves at most :math:`\eta(|\nabla F| + \sqrt{\sigma F})`: a deterministic
  margin on which the descent lemma's constant :math:`C_L` must hold (on the quartic ring F is not globally smooth),
  and every per-step factor the checks average is bounded (an honest CLT);
- :math:`E|Z| = 1 = \sqrt{E|Z|^2}`: the Jensen step of the stay-in-ball bound is tight.

:math:`N(0, I_d/d)` would also have :math:`E|Z|^2 = 1`, but an unbounded step; :math:`N(0, I_d)` (the catalog's
mutant) has :math:`E|Z|^2 = d`. Arrays are float64 ``(chains, d)`` on NumPy or CuPy (one array-API code path); noise
is drawn in blocks of steps, ``(steps, chains, d)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sgd_conformance.solvers._xp import namespace


def unit_sphere(rng: Any, steps: int, chains: int, d: int) -> Any:
    """Z uniform on the unit sphere of R^d, shape ``(steps, chains, d)`` (Gaussian draws divided by their norm)."""
    z = rng.standard_normal(size=(steps, chains, d))
    xp = namespace(z)
    return z / xp.sqrt(xp.sum(z * z, axis=-1, keepdims=True))


def quadratic(theta: Any, h: float) -> tuple[Any, Any]:
    """(F, grad F) of the isotropic quadratic F = (h/2)|theta|^2: shapes ``(chains,)`` and ``(chains, d)``."""
    xp = namespace(theta)
    return 0.5 * h * xp.sum(theta * theta, axis=1), h * theta


def ring(theta: Any) -> tuple[Any, Any]:
    """(F, grad F) of the ring F = (|theta|^2 - 1)^2 / 2 (global minima: the unit sphere):
    grad F = 2 (|theta|^2 - 1) theta."""
    xp = namespace(theta)
    excess = xp.sum(theta * theta, axis=1) - 1.0
    return 0.5 * excess * excess, 2.0 * excess[:, None] * theta


def machine_learning_gradient(grad: Any, loss: Any, sigma: float, z: Any) -> Any:
    r""":math:`\nabla F + \sqrt{\sigma F}\,Z` for a batch: ``grad``, ``z`` ``(chains, d)``; ``loss`` ``(chains,)``."""
    xp = namespace(grad)
    return grad + xp.sqrt(sigma * loss)[:, None] * z


def additive_gradient(grad: Any, sigma: float, z: Any) -> Any:
    r""":math:`\nabla F + \sigma Z` (bounded noise, :math:`E|\sigma Z|^2 = \sigma^2`) for a batch ``(chains, d)``."""
    return grad + sigma * z


def robbins_monro_steps(gamma: float, n0: float, q: float, steps: int) -> np.ndarray:
    r"""Step sizes :math:`\eta_k = \gamma/(k + n_0)^q`, k = 0 .. steps - 1 (the step from theta_k to theta_(k+1))."""
    return gamma / (np.arange(steps, dtype=float) + n0) ** q
