r"""The exact stationary law of the unadjusted Langevin chain (SGLD with the full gradient) in one dimension.

The chain :math:`x' = x - \eta L'(x) + \sqrt{2\eta T}\,\xi` has the transition density
:math:`k(x, y) = N(y;\, x - \eta L'(x),\, 2\eta T)`; its stationary density solves :math:`p = p K`. On a fine grid
this is the leading left eigenvector of a stochastic matrix, found by power iteration: an oracle for the
*finite-step* law (bias O(eta) from the Gibbs law included), accurate to the grid resolution.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def stationary_density_on_grid(gradient: Callable[[np.ndarray], np.ndarray], lr: float, temperature: float,
                               grid: np.ndarray) -> np.ndarray:
    r"""Stationary probabilities of the ULA chain on the cells of the uniform ``grid``, summing to 1.

    Solves :math:`p (K - I) = 0` with one equation replaced by :math:`\sum p = 1` (a direct solve: the slow
    inter-well mixing makes power iteration slow)."""
    spacing = grid[1] - grid[0]
    means = grid - lr * gradient(grid)
    variance = 2 * lr * temperature
    kernel = np.exp(-((grid[None, :] - means[:, None]) ** 2) / (2 * variance)) * spacing / np.sqrt(
        2 * np.pi * variance)
    kernel /= kernel.sum(axis=1, keepdims=True)
    system = (kernel - np.eye(grid.size)).T
    system[-1] = 1.0
    rhs = np.zeros(grid.size)
    rhs[-1] = 1.0
    return np.linalg.solve(system, rhs)
