r"""Free energy of mean-field Langevin dynamics, the proximal Gibbs law, its certificates and LSI constants.

Convention (Nitanda, Wu & Suzuki 2022; CLAIMS-DETAIL §3 and §8): for a functional F of a probability density q,

.. math::  L(q) = F(q) + \lambda \int q \log q, \qquad p_q \propto \exp(-\tfrac1\lambda\,\delta F/\delta q(q)),

the MFLD is :math:`d\theta = -\nabla\,\delta F/\delta q(q_t)(\theta)\,dt + \sqrt{2\lambda}\,dW` (temperature
:math:`T = \lambda`), and :math:`\delta L/\delta q = \delta F/\delta q + \lambda(\log q + 1) = \lambda\log(q/p_q)
+ \text{const}`. LSI(:math:`\alpha`) for p: :math:`KL(q\|p) \le (1/2\alpha) E_q|\nabla\log(q/p)|^2`; it implies the
Poincaré inequality :math:`Var_p f \le (1/\alpha) E_p|f'|^2`, so the spectral gap of the generator bounds
:math:`\alpha` from above.

Three parts:

* :class:`GridProblem` — the 1-D problem of CLAIMS-DETAIL §2.2 on a grid with trapezoid weights
  :math:`F(q) = \tfrac12\,\mathrm{mean}_i(\int\tanh(\theta x_i)\,dq - y_i)^2 + \lambda'\int\theta^2 dq`. Every
  integral is a quadrature sum with positive weights, so the discrete problem is itself a mean-field problem with
  reference measure the weights: its identities (fixed point, sandwich) hold exactly, not only up to O(h^2).
* Gaussian closed forms (sympy, §9.12): F(q) = ½(m_q − y)² + λ'E_qθ²; the two sandwich gaps are squares in m − m*.
* LSI constants (§9.13): the Holley–Stroock + Bakry–Émery bound and the 1-D spectral gap by finite differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import sympy as sp
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


# ------------------------------------------------------------------------------------------- Gaussian closed forms

m, v, y_sym = sp.symbols("m v y", real=True)
lam_sym, lam_reg_sym = sp.symbols("lambda lambda_r", positive=True)


def gaussian_kl(m1: sp.Expr, v1: sp.Expr, m2: sp.Expr, v2: sp.Expr) -> sp.Expr:
    """KL(N(m1, v1) ‖ N(m2, v2)) in one dimension."""
    return (sp.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1) / 2


def gaussian_free_energy(mean: sp.Expr, var: sp.Expr) -> sp.Expr:
    """L(N(m, v)) for F(q) = ½(m_q − y)² + λ' E_q θ², with ∫q log q = −½ log(2πe v)."""
    return (mean - y_sym) ** 2 / 2 + lam_reg_sym * (var + mean**2) - lam_sym * sp.log(2 * sp.pi * sp.E * var) / 2


def gaussian_minimiser() -> tuple[sp.Expr, sp.Expr]:
    """(m*, v*) = (y/(1 + 2λ'), λ/(2λ'))."""
    return y_sym / (1 + 2 * lam_reg_sym), lam_sym / (2 * lam_reg_sym)


def gaussian_proximal_gibbs(mean: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    r"""p_q for q with mean m: δF/δq = (m − y)θ + λ'θ², so p_q = N(−(m − y)/(2λ'), λ/(2λ'))."""
    return -(mean - y_sym) / (2 * lam_reg_sym), lam_sym / (2 * lam_reg_sym)


@cache
def gaussian_sandwich_residuals() -> tuple[sp.Expr, sp.Expr]:
    r"""The two identities of CLAIMS-DETAIL §2.3 as residuals that must simplify to 0, for q = N(m, v):
    gap − λKL(q‖q*) − ½(m − m*)² and λKL(q‖p_q) − gap − (1 + 2λ')(m − m*)²/(4λ')."""
    m_star, v_star = gaussian_minimiser()
    p_mean, p_var = gaussian_proximal_gibbs(m)
    gap = gaussian_free_energy(m, v) - gaussian_free_energy(m_star, v_star)
    lower = lam_sym * gaussian_kl(m, v, m_star, v_star)
    upper = lam_sym * gaussian_kl(m, v, p_mean, p_var)
    return (sp.simplify(sp.expand_log(gap - lower - (m - m_star) ** 2 / 2, force=True)),
            sp.simplify(sp.expand_log(upper - gap - (1 + 2 * lam_reg_sym) * (m - m_star) ** 2
                                      / (4 * lam_reg_sym), force=True)))


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
