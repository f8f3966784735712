"""Test problems carrying their constants and the hypotheses they meet.

Losses with a formula are defined once in :mod:`theory.losses` and compiled by :mod:`theory.numeric`;
the quadratic needs no formula beyond its matrix and lives here, and so does the contract-shaped form of a scalar
SDE whose coefficients are formulas (:func:`scalar_fields`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sgd_conformance.solvers._xp import asarray, namespace


@dataclass(frozen=True, eq=False)
class Quadratic:
    r""":math:`L(\theta) = \tfrac12 \theta^\top H \theta` with symmetric positive definite H.

    Constants: smoothness ``lambda_max`` (= L), strong convexity ``lambda_min`` (= mu); GD is stable iff
    eta * lambda_max < 2, SGLD has a Gaussian stationary law iff the same holds.
    """

    H: np.ndarray

    def __post_init__(self) -> None:
        if not np.array_equal(self.H, self.H.T):
            raise ValueError("H must be exactly symmetric (symmetrise it as (H + H.T) / 2)")
        if np.linalg.eigvalsh(self.H)[0] <= 0:
            raise ValueError("H must be positive definite")

    @property
    def d(self) -> int:
        return int(self.H.shape[0])

    @property
    def eigen(self) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues (ascending) and orthonormal eigenvectors (columns) of H."""
        return np.linalg.eigh(self.H)

    @property
    def lambda_max(self) -> float:
        return float(self.eigen[0][-1])

    @property
    def lambda_min(self) -> float:
        return float(self.eigen[0][0])

    def grad(self, theta: Any) -> Any:
        """Batched gradient H theta, shape ``(chains, d)``."""
        xp = namespace(theta)
        return theta @ asarray(self.H, xp)

    def loss(self, theta: Any) -> Any:
        """Batched loss, shape ``(chains,)``."""
        xp = namespace(theta)
        return 0.5 * xp.sum(theta * self.grad(theta), axis=-1)


def random_spd(rng: np.random.Generator, eigenvalues: np.ndarray) -> np.ndarray:
    """A symmetric matrix with the given eigenvalues and Haar-random eigenvectors."""
    d = eigenvalues.size
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r))
    h = (q * eigenvalues) @ q.T
    return (h + h.T) / 2
