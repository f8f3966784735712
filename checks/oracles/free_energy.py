r"""Numeric oracles of the free energy of mean-field Langevin dynamics: a grid problem and LSI constants.

The convention is :mod:`sgd_conformance.theory.free_energy`'s (Nitanda, Wu & Suzuki 2022; CLAIMS-DETAIL §3 and §8):
:math:`L(q) = F(q) + \lambda\int q\log q`, :math:`p_q \propto \exp(-\tfrac1\lambda\,\delta F/\delta q(q))`; the
Gaussian closed forms live there. Two parts:

* :class:`GridProblem` — the 1-D problem of CLAIMS-DETAIL §2.2 on a grid with trapezoid weights
  :math:`F(q) = \tfrac12\,\mathrm{mean}_i(\int\tanh(\theta x_i)\,dq - y_i)^2 + \lambda'\int\theta^2 dq`. Every
  integral is a quadrature sum with positive weights, so the discrete problem is itself a mean-field problem with
  reference measure the weights: its identities (fixed point, sandwich) hold exactly, not only up to O(h^2).
* LSI constants (§9.13): the Holley–Stroock + Bakry–Émery bound and the 1-D spectral gap by finite differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from scipy.linalg import eigh_tridiagonal

# ---------------------------------------------------------------------------------------------------- grid problem


def kl(q: np.ndarray, p: np.ndarray, weights: np.ndarray) -> float:
    r""":math:`KL(q\|p) = \int q\log(q/p)` by quadrature (0 log 0 = 0)."""
    positive = q > 0
    return float(np.sum(weights[positive] * q[positive] * np.log(q[positive] / p[positive])))


def negentropy(q: np.ndarray, weights: np.ndarray) -> Any:
    r""":math:`\int q\log q` by quadrature (0 log 0 = 0); complex ``q`` is accepted (complex-step derivatives)."""
    nonzero = q != 0
    return np.sum(weights[nonzero] * q[nonzero] * np.log(q[nonzero]))


@dataclass(frozen=True)
class GridProblem:
    r"""F(q) = ½ mean_i(∫tanh(θ x_i) dq − y_i)² + λ'∫θ² dq on ``points`` nodes of [−half_width, half_width].

    Densities are arrays of values at the nodes, normalised by the trapezoid weights (∫q = Σ w q = 1)."""

    inputs: tuple[float, ...] = (0.5, 1.0, -1.5, 2.0)
    targets: tuple[float, ...] = (0.3, -0.2, 0.5, 0.1)
    lam: float = 0.3
    lam_reg: float = 0.1
    points: int = 4001
    half_width: float = 8.0
    grid: np.ndarray = field(init=False, repr=False, compare=False)
    weights: np.ndarray = field(init=False, repr=False, compare=False)
    features: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        grid = np.linspace(-self.half_width, self.half_width, self.points)
        h = grid[1] - grid[0]
        weights = np.full(self.points, h)
        weights[[0, -1]] = h / 2
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "features", np.tanh(np.outer(self.inputs, grid)))  # (n, points)

    def normalise(self, q: np.ndarray) -> np.ndarray:
        return q / np.sum(self.weights * q)

    def outputs(self, q: np.ndarray) -> np.ndarray:
        r"""h_q(x_i) = ∫tanh(θ x_i) q(θ)dθ, shape (n,)."""
        return self.features @ (self.weights * q)

    def risk(self, q: np.ndarray) -> Any:
        """F(q) (a NumPy scalar, complex for complex ``q``)."""
        residual = self.outputs(q) - np.asarray(self.targets)
        return 0.5 * np.mean(residual**2) + self.lam_reg * np.sum(self.weights * self.grid**2 * q)

    def first_variation(self, q: np.ndarray) -> np.ndarray:
        r"""δF/δq(q)(θ) = mean_i (h_q(x_i) − y_i) tanh(θ x_i) + λ'θ² at the nodes."""
        residual = self.outputs(q) - np.asarray(self.targets)
        return residual @ self.features / len(self.inputs) + self.lam_reg * self.grid**2

    def free_energy(self, q: np.ndarray) -> Any:
        """L(q) = F(q) + λ ∫ q log q."""
        return self.risk(q) + self.lam * negentropy(q, self.weights)

    def kl(self, q: np.ndarray, p: np.ndarray) -> float:
        return kl(q, p, self.weights)

    def minimiser(self, damping: float = 0.5, tol: float = 1e-15, max_iterations: int = 5000) -> np.ndarray:
        """q* by the damped fixed-point iteration q <- (1 − a) q + a p_q from the Gibbs law of λ'θ²."""
        q = self.normalise(np.exp(-self.lam_reg * self.grid**2 / self.lam))
        for _ in range(max_iterations):
            p = proximal_gibbs(self, q)
            if self.kl(q, p) < tol:
                break
            q = (1 - damping) * q + damping * p
        return q


def proximal_gibbs(problem: GridProblem, q: np.ndarray) -> np.ndarray:
    r"""p_q ∝ exp(−δF/δq(q)/λ), normalised by quadrature (the minimum is subtracted before exponentiating)."""
    potential = problem.first_variation(q) / problem.lam
    return problem.normalise(np.exp(-(potential - potential.min())))


def sandwich(problem: GridProblem, q: np.ndarray, minimiser: np.ndarray) -> tuple[float, float, float]:
    r"""(λ KL(q‖p_q), L(q) − L(q*), λ KL(q‖q*)): for convex F the claim is upper ≥ gap ≥ lower."""
    upper = problem.lam * problem.kl(q, proximal_gibbs(problem, q))
    gap = problem.free_energy(q) - problem.free_energy(minimiser)
    lower = problem.lam * problem.kl(q, minimiser)
    return upper, gap, lower


def free_energy_first_variation(problem: GridProblem, q: np.ndarray) -> np.ndarray:
    r"""δL/δq(q) in the claimed form λ log(q/p_q) (the additive constant λ(1 + log Z) is dropped)."""
    return problem.lam * np.log(q / proximal_gibbs(problem, q))


@cache
def reference_problem() -> GridProblem:
    """The problem of CLAIMS-DETAIL §2.2 (4001 nodes on [−8, 8], λ = 0.3, λ' = 0.1)."""
    return GridProblem()


# -------------------------------------------------------------------------------------------------- LSI constants


def holley_stroock_bound(lam: float, lam_reg: float, bound: float) -> float:
    r"""LSI constant of p ∝ exp(−(λ'θ² + W)/λ) with |W| ≤ B: Bakry–Émery gives 2λ'/λ for the strongly convex part,
    Holley–Stroock multiplies by exp(−osc(W/λ)) ≥ exp(−2B/λ): α ≥ (2λ'/λ) exp(−2B/λ) (T. Zhang, Lemma 11.21)."""
    return 2 * lam_reg / lam * float(np.exp(-2 * bound / lam))


def seed_lsi_form(lam: float, lam_reg: float, bound: float) -> float:
    """The seed's (2λ'/λ) exp(+O(1/λ)) read with the same constant: (2λ'/λ) exp(+2B/λ) (wrong sign)."""
    return 2 * lam_reg / lam * float(np.exp(2 * bound / lam))


def spectral_gap(potential: np.ndarray, grid: np.ndarray) -> float:
    r"""Poincaré constant of p ∝ exp(−U) on a uniform grid: the smallest nonzero μ of the symmetric generalized
    eigenproblem A f = μ M f, with the Dirichlet form f'Af = Σ_k p_{k+½}(f_{k+1} − f_k)²/h (p at midpoints) and
    M = diag(w_k p_k) (trapezoid weights): inf over f of E_p|f'|²/Var_p f (constants are the μ = 0 mode).
    Solved as the tridiagonal M^{-1/2} A M^{-1/2}."""
    h = grid[1] - grid[0]
    u = potential - potential.min()
    p = np.exp(-u)
    midpoint = np.exp(-0.5 * (u[1:] + u[:-1]))
    weights = np.full(grid.size, h)
    weights[[0, -1]] = h / 2
    mass = weights * p
    conductance = midpoint / h
    diagonal = np.zeros(grid.size)
    diagonal[:-1] += conductance
    diagonal[1:] += conductance
    off = -conductance / np.sqrt(mass[:-1] * mass[1:])
    values = eigh_tridiagonal(diagonal / mass, off, eigvals_only=True, select="i", select_range=(0, 1))
    return float(values[1])


def perturbed_gibbs_potential(grid: np.ndarray, lam: float, lam_reg: float, bound: float) -> np.ndarray:
    """U/λ for p ∝ exp(−(λ'θ² + B sin 3θ)/λ) (CLAIMS-DETAIL §2.5)."""
    return (lam_reg * grid**2 + bound * np.sin(3 * grid)) / lam
