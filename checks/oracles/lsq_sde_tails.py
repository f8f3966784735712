r"""Exact oracles of the heavy-tail checks of the least-squares SDE (Schertzer & Pillaud-Vivien, JMLR 2026, arXiv
2407.02322) and of online SGD (Gürbüzbalaban, Şimşekli & Zhu 2021):
the 1-D population SDE as a moment model, and the exact even moments of
1-D online SGD after k steps. The symbolic facts they evaluate are :mod:`theory.tails` and :mod:`theory.sde_models`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from sgd_conformance.checks.oracles.moment_equations import LinearMomentModel, QuadraticCovariance
from sgd_conformance.theory import sde_models, tails
from sgd_conformance.theory.symbols import x


def population_moment_model(values: dict[sp.Symbol, Any]) -> LinearMomentModel:
    r"""The 1-D population SDE :math:`d\delta = -h\delta\,dt + \sqrt{\gamma(2h^2\delta^2 + s^2h)}\,dB` as a
    :class:`LinearMomentModel`: B = h, c = 0, :math:`\Sigma(\delta) = \sigma^2/\gamma = 2h^2\delta^2 + s^2h` (read off
    the symbolic model by polarisation), at the parameter ``values``."""
    drift, diffusion_squared = sde_models.population_least_squares_1d()
    per_gamma = sp.expand(diffusion_squared / sde_models.gamma).subs(values)
    covariance = QuadraticCovariance.from_function(
        lambda d: np.array([[float(per_gamma.subs(x, float(d[0])))]]), 1)
    return LinearMomentModel(np.array([[float(-sp.diff(drift, x).subs(values))]]), np.zeros(1), covariance,
                             float(values[sde_models.gamma]))


def sgd_moments_after(steps: int, values: dict[sp.Symbol, Any], order: int = 4) -> np.ndarray:
    r"""Exact :math:`(E\delta_k^2, \dots, E\delta_k^{order})` of 1-D online SGD after ``steps`` steps from
    :math:`\delta_0 = 0`: powers of the exact even-moment map (:func:`theory.tails.sgd_even_moment_map`)."""
    step_map = np.array(tails.sgd_even_moment_map(order).subs(values), dtype=float)
    z = np.zeros(step_map.shape[0])
    z[0] = 1.0
    return (np.linalg.matrix_power(step_map, steps) @ z)[1:]
