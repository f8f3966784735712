r"""Exact laws of the unadjusted Langevin chain (SGLD with the full gradient)
:math:`\theta_{k+1} = \theta_k - \eta\nabla L(\theta_k) + \sqrt{2\eta T}\,\xi_k` at finite step :math:`\eta`.

* On a quadratic :math:`L = \tfrac12\theta^\top H\theta` the chain decouples in the eigenbasis of H into Gaussian
  AR(1) copies: after k steps from :math:`\theta_0`, :math:`\theta_k \sim N(A^k\theta_0, \Sigma_\infty -
  A^k\Sigma_\infty A^k)` with :math:`A = I - \eta H` and :math:`\Sigma_\infty = T(H(I - \eta H/2))^{-1}`
  (closed forms from :mod:`sgd_conformance.theory.langevin`).
* In one dimension the stationary law of the chain (O(eta) bias from the Gibbs law included) is the left eigenvector
  of its Gaussian transition kernel :math:`k(x, y) = N(y;\, x - \eta L'(x),\, 2\eta T)`, solved on a fine grid.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sgd_conformance.solvers.problems import Quadratic
from sgd_conformance.theory import langevin, numeric
from sgd_conformance.theory.symbols import x0


def sgld_transient_law(problem: Quadratic, lr: float, temperature: float, steps: int,
                       theta0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact law of SGLD after ``steps`` steps from ``theta0``: mean, eigenvectors Q and per-eigen-direction
    variances."""
    eig, q = problem.eigen
    factor = numeric.evaluate(langevin.sgld_mean_after().subs(x0, 1), xp=np, a=eig, eta=lr, k=steps)
    var = numeric.evaluate(langevin.sgld_variance_after(), xp=np, a=eig, eta=lr, T=temperature, k=steps)
    mean = ((theta0 @ q) * factor) @ q.T
    return mean, q, np.broadcast_to(var, eig.shape)


def stationary_density_on_grid(gradient: Callable[[np.ndarray], np.ndarray], lr: float, temperature: float,
                               grid: np.ndarray) -> np.ndarray:
    r"""Stationary probabilities of the 1-D chain on the cells of the uniform ``grid``, summing to 1: an oracle for
    the *finite-step* law, accurate to the grid resolution.

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
