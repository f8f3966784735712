r"""Noisy gradient oracles of An & Lu (arXiv 2304.09221): machine-learning noise and bounded noise.

.. math:: \nabla f(\theta, \xi) = \nabla F(\theta) + \sqrt{\sigma F(\theta)}\,Z \quad\text{(machine-learning noise)},
          \qquad \nabla f(\theta, \xi) = \nabla F(\theta) + \sigma Z \quad\text{(bounded additive noise)},

with Z independent of the past, :math:`E Z = 0`, :math:`E|Z|^2 \le 1`. The suite draws **Z uniform on the unit
sphere** :math:`S^{d-1}` (a normalised Gaussian vector; in d = 1 a random sign), so :math:`|Z| = 1` exactly:

- :math:`E|Z|^2 = 1`: the hypothesis holds with equality, so on the isotropic quadratic the one-step factor equals
  An & Lu's bound (§3) instead of lying below it;
- :math:`|Z|` is bounded, so one step moves at most :math:`\eta(|\nabla F| + \sqrt{\sigma F})`: a deterministic
  margin on which the descent lemma's constant :math:`C_L` must hold (on the quartic ring F is not globally smooth),
  and every per-step factor the checks average is bounded (an honest CLT);
- :math:`E|Z| = 1 = \sqrt{E|Z|^2}`: the Jensen step of the stay-in-ball bound is tight.

:math:`N(0, I_d/d)` would also have :math:`E|Z|^2 = 1`, but an unbounded step; :math:`N(0, I_d)` (a
mutant) has :math:`E|Z|^2 = d`. Arrays are float64 ``(chains, d)`` on NumPy or CuPy (one array-API code path); noise
is drawn in blocks of steps, ``(steps, chains, d)``.

The chains themselves (:func:`run_chains`, :func:`window_averages`) take the implementation's update as a callable,
so the oracle and the step under test stay apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sgd_conformance.solvers._xp import asarray, namespace, to_numpy

#: an update of the implementation under test on a batch: ``step(theta, grad) -> theta'``
Step = Callable[[Any, Any], Any]


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


@dataclass
class Chains:
    """What :func:`run_chains` returns (NumPy): F(theta_k) 1_(E_k) at the recorded k ``(chains, len(record))``, which
    chains left the ball, their path lengths inside it, the final iterates."""

    losses: np.ndarray
    exited: np.ndarray
    path: np.ndarray
    theta: np.ndarray


def run_chains(step: Step, problem: Callable[[Any], tuple[Any, Any]], theta0: np.ndarray, *, rng: Any, xp: Any,
               chains: int, steps: int, sigma: float, record: np.ndarray, radius: float = math.inf) -> Chains:
    r"""SGD with machine-learning noise from ``theta0`` on ``chains`` independent chains: ``step(theta, grad)`` takes
    :math:`\nabla F + \sqrt{\sigma F}\,Z` (``problem(theta) -> (F, grad F)``); the event
    :math:`E_k = \{\theta_0, \dots, \theta_k \in B(\theta_0, r)\}` is tracked and the path length accumulated while it
    holds. Z from ``rng`` (:func:`unit_sphere`), drawn in blocks of steps."""
    d = theta0.size
    centre = asarray(theta0[None, :], xp)
    theta = asarray(np.repeat(theta0[None, :], chains, axis=0), xp)
    alive = xp.ones(chains, dtype=xp.float64)
    path = xp.zeros(chains, dtype=xp.float64)
    marks = {int(j): i for i, j in enumerate(record)}
    recorded: list[Any] = [None] * len(marks)
    block = max(1, min(steps, 2**21 // (chains * d)))
    for start in range(0, steps + 1, block):
        noise: Any = unit_sphere(rng, min(block, steps - start), chains, d) if start < steps else None
        for i in range(min(block, steps - start + 1)):
            loss, grad = problem(theta)
            if start + i in marks:
                recorded[marks[start + i]] = loss * alive
            if start + i == steps:
                break
            new = step(theta, machine_learning_gradient(grad, loss, sigma, noise[i]))
            path = path + alive * xp.sqrt(xp.sum((new - theta) ** 2, axis=1))
            alive = xp.where(xp.sum((new - centre) ** 2, axis=1) <= radius**2, alive, 0.0)
            theta = new
    return Chains(np.column_stack([to_numpy(v) for v in recorded]), to_numpy(alive) == 0.0, to_numpy(path),
                  to_numpy(theta))


def window_averages(step: Callable[[Any, Any, float], Any], schedule: np.ndarray, windows: list[tuple[int, int]], *,
                    rng: Any, xp: Any, chains: int, theta0: float, h: float, sigma: float) -> np.ndarray:
    r"""Per-chain averages of F(theta_k) over each window [lo, hi) of SGD with bounded noise on F = (h/2) theta^2 in
    d = 1: ``step(theta, grad, lr)`` takes :math:`\nabla F + \sigma Z` (Z = ±1 from ``rng``) at ``lr = schedule[k]``,
    from theta_0 = ``theta0``. Returns ``(chains, len(windows))`` (NumPy)."""
    horizon = windows[-1][1]
    window_of = np.full(horizon, -1)
    for w, (lo, hi) in enumerate(windows):
        window_of[lo:hi] = w
    theta = asarray(np.full((chains, 1), theta0), xp)
    sums = [xp.zeros(chains, dtype=xp.float64) for _ in windows]
    block = max(1, min(horizon, 2**21 // chains))
    for start in range(0, horizon, block):
        noise: Any = unit_sphere(rng, min(block, horizon - 1 - start), chains, 1) if start < horizon - 1 else None
        for i in range(min(block, horizon - start)):
            j = start + i
            loss, grad = quadratic(theta, h)
            if window_of[j] >= 0:
                sums[window_of[j]] = sums[window_of[j]] + loss
            if j == horizon - 1:
                break
            theta = step(theta, additive_gradient(grad, sigma, noise[i]), float(schedule[j]))
    return np.column_stack([to_numpy(v) / (hi - lo) for v, (lo, hi) in zip(sums, windows, strict=True)])
