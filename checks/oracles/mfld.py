r"""Exact oracles of the mean-field Langevin dynamics claims (Nitanda, Wu & Suzuki 2022): the laws of the MFLD
particle system on the
moment functionals of :mod:`solvers.mfld_particles`,
:math:`F(q) = \tfrac\kappa2(m_q - y)^2 + c\,m_q + \tfrac a2E_q\theta^2` (d = 1), evaluated from
:mod:`theory.mfld_gaussian` (the only compiled path is :func:`theory.numeric.evaluate`).

The particle system is linear and Gaussian, so at finite step eta and finite M its law after k steps is known exactly
(:func:`theory.mfld_gaussian.particle_recursions`): the mean of the replica's empirical mean, its variance, and the
expected spread of the particles about it. In continuous time the free-energy gap :math:`L(q_t) - L(q^*)` along the
flow from a Gaussian start is in closed form (:func:`theory.mfld_gaussian.gap`).
"""

from __future__ import annotations

from typing import Any

import array_api_compat.numpy as np_xp
import numpy as np
import sympy as sp

from sgd_conformance.solvers.mfld_particles import MomentMeanField
from sgd_conformance.theory import mfld_gaussian as mg
from sgd_conformance.theory import numeric


def problem_values(problem: MomentMeanField, lam: float) -> dict[str, float]:
    """The symbols of :mod:`theory.mfld_gaussian` for ``problem`` at temperature ``lam``: kappa, y, c, a, T."""
    return {"kappa": problem.interaction, "y": problem.target[0], "c": (problem.shift or (0.0,))[0],
            "a": problem.curvature, "T": lam}


def _along(expr: sp.Expr, values: dict[str, Any], name: str, points: np.ndarray) -> np.ndarray:
    """``expr`` with every symbol but ``name`` fixed by ``values`` (substituted first, so that sympy folds the
    constants), evaluated at ``points`` and broadcast to their shape."""
    fixed = expr.subs({s: values[str(s)] for s in expr.free_symbols if str(s) != name})
    along = {name: points} if fixed.free_symbols else {}
    return np.broadcast_to(np.asarray(numeric.evaluate(fixed, xp=np_xp, **along), dtype=float), points.shape)


def exact_moments(problem: MomentMeanField, lam: float, lr: float, particles: int, start: tuple[float, float],
                  steps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(E bar x_k, Var bar x_k, E S_k) of the particle update with ``particles`` particles per replica at the step
    counts ``steps``, from the exact recursions (particles i.i.d. N(m0, v0) at k = 0)."""
    m0, v0 = start
    values = {**problem_values(problem, lam), "eta": lr, "M": particles, "m0": m0, "w0": v0 / particles,
              "s0": v0 * (1 - 1 / particles)}
    mean, var_mean, spread = (_along(expr, values, "k", steps.astype(float)).copy()
                              for expr in mg.particle_recursions())
    return mean, var_mean, spread


def free_energy_minimum(problem: MomentMeanField, lam: float) -> float:
    """L(q*) = min_q L(q), at the minimiser (m*, v*) of :func:`theory.mfld_gaussian.minimiser`."""
    values = problem_values(problem, lam)
    ms, vs = (numeric.evaluate(e.subs({}), **{str(s): values[str(s)] for s in e.free_symbols})
              for e in mg.minimiser())
    return float(np.asarray(problem.free_energy(np.array([ms])[:, None], np.array([vs]), lam))[0])


def exact_gap(problem: MomentMeanField, lam: float, lr: float, particles: int, start: tuple[float, float],
              steps: np.ndarray, replicas: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact (finite-step, finite-M) mean and variance of the particles pooled over ``replicas`` replicas per step
    count, and L at that Gaussian minus L*."""
    mean_k, var_mean_k, spread_k = exact_moments(problem, lam, lr, particles, start, steps)
    var = spread_k + var_mean_k * (1 - 1 / replicas)
    gap = np.asarray(problem.free_energy(mean_k[:, None], var, lam)) - free_energy_minimum(problem, lam)
    return mean_k, var, gap


def gap_curve(problem: MomentMeanField, lam: float, start: tuple[float, float], times: np.ndarray) -> np.ndarray:
    """Closed-form :math:`L(q_t) - L(q^*)` of the continuous-time flow from N(m0, v0) at ``times``."""
    values = {**problem_values(problem, lam), "m0": start[0], "v0": start[1]}
    return _along(mg.gap(), values, "t", times)
