r"""Exact oracles of the local-Łojasiewicz claims (An & Lu, arXiv 2304.09221): the test problems and their constants,
every
one derived in :mod:`theory.lojasiewicz` and evaluated here.

- the isotropic quadratic :math:`F = \tfrac h2|\theta|^2` (:math:`\mu_{pl} = 2h`, :math:`C_L = h`), whose one-step
  factor under machine-learning noise is exactly :math:`(1 - \eta h)^2 + \eta^2 h\sigma E|Z|^2/2`;
- the same quadratic on the line (d = 1, Z = ±1): the exact probability that SGD leaves :math:`B(\theta_0, r)` within K
  steps (a lattice random walk of :math:`\log\theta` against a barrier, by dynamic programming);
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
RINGS = {  # C_L on the ball enlarged by a margin that bounds one step
    "global-min": {"norm0": sp.Rational(507, 500), "radius": sp.Rational(1, 2), "margin": sp.Rational(1, 20),
                   "sigma": sp.Rational(1, 2)},  # catalog 5.2 (ii)
    "stay-in-ball": {"norm0": sp.Rational(507, 500), "radius": sp.Rational(1, 10), "margin": sp.Rational(3, 50),
                     "sigma": sp.Rational(1, 2)},  # a ball small enough for the local constants to be nearly tight
}
#: the line: h = 1, eta = 0.3, sigma = 8 (noise sqrt(sigma F) = 2 |grad F|), theta_0 = 1, r = 16, K = 50 steps
LINE = {"h": sp.Integer(1), "eta": sp.Rational(3, 10), "sigma": sp.Integer(8), "theta0": sp.Integer(1),
        "radius": sp.Integer(16), "steps": 50}
ROBBINS_MONRO = {"h": 1.0, "sigma": 1.0, "gamma": 0.5, "n0": 10.0, "q": sp.Rational(3, 4), "theta0": 1.0}


@functools.cache
def ring_setting(claim: str = "global-min", margin: sp.Rational | None = None) -> dict[str, float]:
    """The constants of the ring of ``claim`` (:data:`RINGS`) and the quantities built on them, all from
    :mod:`theory.lojasiewicz` (floats); C_L on the ball enlarged by ``margin`` (default: the setting's)."""
    ring = RINGS[claim]
    margin = ring["margin"] if margin is None else margin
    constants = lojasiewicz.ring_constants(ring["norm0"], ring["radius"], margin)
    local = {mu_pl: constants["mu_pl"], C_L: constants["C_L"], sigma: ring["sigma"]}
    best, least = lojasiewicz.optimal_step()
    step, factor = best.subs(local), least.subs(local)
    start = (ring["norm0"] ** 2 - 1) ** 2 / 2
    both = {**local, eta: step, rho: factor, F0: start, r: ring["radius"]}
    return {"mu_pl": float(constants["mu_pl"]), "C_L": float(constants["C_L"]), "eta": float(step),
            "rho": float(factor), "F0": float(start), "grad_ratio": float(constants["grad_ratio"]),
            "eta_max": float(lojasiewicz.largest_contracting_step().subs(local)),
            "largest_step": float(step * lojasiewicz.ring_largest_step(constants["s_range"], ring["sigma"])),
            "exit_bound": float(lojasiewicz.exit_probability_bound().subs(both)),
            "path_bound": float(lojasiewicz.path_length_bound().subs(both)),
            "norm0": float(ring["norm0"]), "radius": float(ring["radius"]), "margin": float(margin),
            "sigma": float(ring["sigma"])}


def line_exit_probability(down: float, up: float, barrier: float, steps: int) -> float:
    r"""P(max_(k <= steps) theta_k > barrier) for theta_k = prod_(j<k) M_j, M_j i.i.d. in {``down``, ``up``} with
    probability 1/2 each (0 < down < 1 < up, theta_0 = 1, barrier > 1): after k steps with u up-moves,
    :math:`\log\theta = u\log(\text{up}) + (k - u)\log(\text{down})`, so the mass of the paths still below the
    barrier is a vector over u, moved one step at a time and absorbed where it crosses (exact up to float rounding)."""
    if not 0 < down < 1 < up or barrier <= 1:
        raise ValueError("needs 0 < down < 1 < up and a barrier above theta_0 = 1")
    mass, absorbed = np.array([1.0]), 0.0
    for step in range(1, steps + 1):
        moved = np.zeros(step + 1)
        moved[:-1] += 0.5 * mass
        moved[1:] += 0.5 * mass
        ups = np.arange(step + 1)
        crossed = ups * np.log(up) + (step - ups) * np.log(down) > np.log(barrier)
        absorbed += float(moved[crossed].sum())
        moved[crossed] = 0.0
        mass = moved
    return absorbed


@functools.cache
def line_setting() -> dict[str, float]:
    """The line of :data:`LINE`: its constants (mu_pl = 2h, C_L = h), rho, the exit and path-length bounds, the two
    multipliers of theta (:func:`theory.lojasiewicz.line_multipliers`) and the exact probability of leaving the ball
    within K steps (:func:`line_exit_probability`; theta stays positive, so it leaves only through theta_0 + r)."""
    values = {h: LINE["h"], eta: LINE["eta"], sigma: LINE["sigma"]}
    ratio, curvature = lojasiewicz.quadratic_constants(1)
    constants = {mu_pl: ratio.subs(values), C_L: curvature.subs(values), sigma: LINE["sigma"], eta: LINE["eta"]}
    factor = lojasiewicz.contraction_factor().subs(constants)
    both = {**constants, rho: factor, F0: LINE["h"] * LINE["theta0"] ** 2 / 2, r: LINE["radius"]}
    down, up = (float(v.subs(values)) for v in lojasiewicz.line_multipliers())
    barrier = float((LINE["theta0"] + LINE["radius"]) / LINE["theta0"])
    return {"eta": float(LINE["eta"]), "sigma": float(LINE["sigma"]), "h": float(LINE["h"]),
            "theta0": float(LINE["theta0"]), "radius": float(LINE["radius"]), "steps": int(LINE["steps"]),
            "rho": float(factor), "eta_max": float(lojasiewicz.largest_contracting_step().subs(constants)),
            "down": down, "up": up, "exit_bound": float(lojasiewicz.exit_probability_bound().subs(both)),
            "path_bound": float(lojasiewicz.path_length_bound().subs(both)),
            "exit_probability": line_exit_probability(down, up, barrier, int(LINE["steps"]))}


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
