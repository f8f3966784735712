r"""Exact oracles of the local-Łojasiewicz claims (An & Lu, arXiv 2304.09221): the test problems and their constants,
every
one derived in :mod:`theory.lojasiewicz` and evaluated here.

- the isotropic quadratic :math:`F = \tfrac h2|\theta|^2` (:math:`\mu_{pl} = 2h`, :math:`C_L = h`), whose one-step
  factor under machine-learning noise is exactly :math:`(1 - \eta h)^2 + \eta^2 h\sigma E|Z|^2/2`;
- the ring :math:`F = (|\theta|^2 - 1)^2/2` on the ball :math:`B(\theta_0, r)`: :math:`\mu_{pl}`, :math:`C_L` (on the
  ball enlarged by one step's margin), the optimal step, :math:`\rho`, the exit and path-length bounds;
- the exact second-moment recursion :math:`m_{k+1} = (1 - \eta_k h)^2 m_k + \eta_k^2\sigma^2` of bounded noise under
  Robbins–Monro steps :math:`\eta_k = \gamma/(k + n_0)^q`.
"""

from __future__ import annotations

import functools

import array_api_compat.numpy as np_xp
import numpy as np
import sympy as sp

from sgd_conformance.theory import lojasiewicz, numeric
from sgd_conformance.theory.lojasiewicz import C_L, F0, gamma, h, m, mu_pl, n0, q, r, rho
from sgd_conformance.theory.symbols import eta, k, sigma

QUADRATIC = {"h": 1.0, "eta": 0.5, "sigma": 1.0}  # catalog 5.1: rho = 0.375
RING = {"norm0": sp.Rational(507, 500), "radius": sp.Rational(1, 2), "margin": sp.Rational(1, 20),
        "sigma": sp.Rational(1, 2)}  # catalog 5.2 (ii), with C_L on the ball enlarged by one step's margin
ROBBINS_MONRO = {"h": 1.0, "sigma": 1.0, "gamma": 0.5, "n0": 10.0, "q": sp.Rational(3, 4), "theta0": 1.0}


@functools.cache
def ring_setting(margin: sp.Rational = RING["margin"]) -> dict[str, float]:
    """The ring's constants and the quantities built on them, all from :mod:`theory.lojasiewicz` (floats); C_L on the
    ball enlarged by ``margin``."""
    constants = lojasiewicz.ring_constants(RING["norm0"], RING["radius"], margin)
    local = {mu_pl: constants["mu_pl"], C_L: constants["C_L"], sigma: RING["sigma"]}
    best, least = lojasiewicz.optimal_step()
    step, factor = best.subs(local), least.subs(local)
    start = (RING["norm0"] ** 2 - 1) ** 2 / 2
    both = {**local, eta: step, rho: factor, F0: start, r: RING["radius"]}
    return {"mu_pl": float(constants["mu_pl"]), "C_L": float(constants["C_L"]), "eta": float(step),
            "rho": float(factor), "F0": float(start), "grad_ratio": float(constants["grad_ratio"]),
            "eta_max": float(lojasiewicz.largest_contracting_step().subs(local)),
            "largest_step": float(step * lojasiewicz.ring_largest_step(constants["s_range"], RING["sigma"])),
            "exit_bound": float(lojasiewicz.exit_probability_bound().subs(both)),
            "path_bound": float(lojasiewicz.path_length_bound().subs(both)),
            "norm0": float(RING["norm0"]), "radius": float(RING["radius"]), "margin": float(margin),
            "sigma": float(RING["sigma"])}


def quadratic_rho(values: dict[str, float], noise_second_moment: float = 1.0) -> float:
    """Exact one-step factor on F = (h/2)|theta|^2 from :func:`theory.lojasiewicz.quadratic_factor`."""
    return numeric.evaluate(lojasiewicz.quadratic_factor(), eta=values["eta"], h=values["h"], sigma=values["sigma"],
                            m2=noise_second_moment)


def robbins_monro_exact(horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(eta_k, E F(theta_k)) for k < horizon from the exact recursion m_(k+1) = (1 - eta_k h)^2 m_k + eta_k^2
    sigma^2 (:func:`theory.lojasiewicz.bounded_noise_moment_map`) with the theory's schedule."""
    rm = ROBBINS_MONRO
    ks = np.arange(horizon, dtype=float)
    schedule = numeric.compile(lojasiewicz.robbins_monro_step(), [gamma, n0, q, k])(
        np_xp, rm["gamma"], rm["n0"], float(rm["q"]), ks)
    moment_map = numeric.compile(lojasiewicz.bounded_noise_moment_map(), [eta, h, sigma, m])
    offset = moment_map(np_xp, schedule, rm["h"], rm["sigma"], 0.0) + np.zeros(horizon)
    slope = moment_map(np_xp, schedule, rm["h"], rm["sigma"], 1.0) - offset
    moments = np.empty(horizon)
    moments[0] = value = rm["theta0"] ** 2
    for j in range(horizon - 1):
        value = slope[j] * value + offset[j]
        moments[j + 1] = value
    return schedule, rm["h"] * moments / 2
