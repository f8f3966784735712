"""Wrong ``sde`` integrators, one bug each (stated in its docstring), and a correct variant.

The contract's form: ``fn(x, t, dt, drift, diffusion, dW) -> x_next`` (one Itô step).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _diffuse(s: np.ndarray, dW: np.ndarray) -> np.ndarray:
    return np.einsum("cdm,cm->cd", s, dW)


def em_correct_variant(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any, dW: np.ndarray) -> np.ndarray:
    """Correct: Euler–Maruyama written with einsum."""
    return x + dt * drift(x, t) + _diffuse(diffusion(x, t), dW)


def stochastic_heun(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any, dW: np.ndarray) -> np.ndarray:
    """Bug: stochastic Heun (a Stratonovich scheme).

    Stochastic Heun (trapezoidal predictor-corrector): converges to the Stratonovich solution."""
    predictor = x + dt * drift(x, t) + _diffuse(diffusion(x, t), dW)
    return x + 0.5 * dt * (drift(x, t) + drift(predictor, t + dt)) \
        + 0.5 * _diffuse(diffusion(x, t) + diffusion(predictor, t + dt), dW)


def endpoint_diffusion(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any, dW: np.ndarray) -> np.ndarray:
    """Bug: diffusion at the step's end point (backward Itô).

    Diffusion evaluated at the predicted end point X_(k+1) (a backward-Itô integral)."""
    predictor = x + dt * drift(x, t) + _diffuse(diffusion(x, t), dW)
    return x + dt * drift(x, t) + _diffuse(diffusion(predictor, t + dt), dW)


def increments_scaled_by_h(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any,
                           dW: np.ndarray) -> np.ndarray:
    """Bug: increments scaled by h instead of sqrt(h).

    The normalised increment is multiplied by h instead of sqrt(h) (the noise vanishes as h -> 0)."""
    return x + dt * drift(x, t) + _diffuse(diffusion(x, t), dW / math.sqrt(dt) * dt)


def ignores_increments(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any, dW: np.ndarray) -> np.ndarray:
    """Bug: ignores dW (an ODE step).

    An ODE step that ignores dW (the noise is dropped)."""
    return x + dt * drift(x, t)


def em_in_place(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any, dW: np.ndarray) -> np.ndarray:
    """Breach: writes into x.

    Euler–Maruyama that writes into x."""
    x += dt * drift(x, t) + _diffuse(diffusion(x, t), dW)
    return x


def increments_rescaled(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any, dW: np.ndarray) -> np.ndarray:
    """Bug: dW multiplied by sqrt(2).

    dW multiplied by sqrt(2) (a diffusion twice too large in variance)."""
    return x + dt * drift(x, t) + _diffuse(diffusion(x, t), math.sqrt(2.0) * dW)


def isotropic_jitter(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any, dW: np.ndarray) -> np.ndarray:
    """Bug: an extra isotropic noise injection.

    Euler–Maruyama plus a small isotropic noise injection 1e-2 sqrt(dt) N(0, I) (SGLD-style "exploration")."""
    jitter = np.random.default_rng(abs(hash((t, x.shape))) % 2**32).standard_normal(x.shape)
    return x + dt * drift(x, t) + _diffuse(diffusion(x, t), dW) + 1e-2 * math.sqrt(dt) * jitter


def own_noise(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any, dW: np.ndarray) -> np.ndarray:
    """Bug: draws its own noise instead of the dW given.

    Ignores the supplied increments and draws its own N(0, dt) (right law, but no coupling to the path)."""
    fresh = np.random.default_rng(abs(hash((t, float(x.sum())))) % 2**32).standard_normal(dW.shape)
    return x + dt * drift(x, t) + _diffuse(diffusion(x, t), math.sqrt(dt) * fresh)


_FROZEN: dict[str, Any] = {}


def diffusion_frozen_at_start(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any,
                              dW: np.ndarray) -> np.ndarray:
    """Bug: diffusion frozen at t = 0 (the additive-noise shortcut).

    Evaluates the diffusion once per path, at t = 0, and reuses it (the additive-noise shortcut "the
    diffusion matrix only needs computing once"): right for additive noise, wrong for multiplicative noise, where
    the chain becomes an Ornstein–Uhlenbeck process whose noise, and so whose invariant law, remembers the start."""
    if t == 0.0 or _FROZEN.get("shape") != x.shape:
        _FROZEN["shape"], _FROZEN["value"] = x.shape, diffusion(x, t)
    return x + dt * drift(x, t) + np.einsum("cdm,cm->cd", _FROZEN["value"], dW)


def first_chain_diffusion(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any,
                          dW: np.ndarray) -> np.ndarray:
    """Bug: the first chain's diffusion used for every chain.

    A batching slip: the diffusion matrix of the first chain is used for every chain (right for additive
    noise, wrong for state-dependent noise: each chain's noise no longer vanishes at its own interpolation, and rows
    with another output scale get noise of the wrong order)."""
    first = diffusion(x, t)[:1]
    return x + dt * drift(x, t) + np.einsum("cdm,cm->cd", np.broadcast_to(first, (x.shape[0], *first.shape[1:])), dW)


def coefficients_at_time_zero(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any,
                              dW: np.ndarray) -> np.ndarray:
    """Bug: coefficients evaluated at t = 0 (time ignored).

    Right for an autonomous SDE; with time-dependent coefficients it integrates the equation frozen at t = 0."""
    return x + dt * drift(x, 0.0) + _diffuse(diffusion(x, 0.0), dW)


def coefficients_at_t_plus_1000_dt(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any,
                                   dW: np.ndarray) -> np.ndarray:
    """Bug: coefficients evaluated at t + 1000 dt.

    A time offset counted in steps: it vanishes only as dt -> 0 (at dt = 2^-8 it is 3.9 time units), so at every step
    size used it reads the coefficients far from the step."""
    time = t + 1000 * dt
    return x + dt * drift(x, time) + _diffuse(diffusion(x, time), dW)


def diffusion_reshaped_not_transposed(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any,
                                      dW: np.ndarray) -> np.ndarray:
    """Bug: diffusion reshaped to (chains, m, d) instead of transposed.

    Contracted with dW over its first axis: the user read the diffusion as "one row per Brownian motion" and reshaped
    instead of transposing. Right for d = m = 1 and for a diagonal square diffusion; a silently wrong noise when
    m != d or the diffusion is not diagonal."""
    value = diffusion(x, t)
    chains, d, m = value.shape
    return x + dt * drift(x, t) + np.einsum("cmd,cm->cd", value.reshape(chains, m, d), dW)
