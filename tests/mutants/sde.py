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
    """Bug: stochastic Heun (trapezoidal predictor-corrector): converges to the Stratonovich solution."""
    predictor = x + dt * drift(x, t) + _diffuse(diffusion(x, t), dW)
    return x + 0.5 * dt * (drift(x, t) + drift(predictor, t + dt)) \
        + 0.5 * _diffuse(diffusion(x, t) + diffusion(predictor, t + dt), dW)


def endpoint_diffusion(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any, dW: np.ndarray) -> np.ndarray:
    """Bug: diffusion evaluated at the predicted end point X_(k+1) (a backward-Itô integral)."""
    predictor = x + dt * drift(x, t) + _diffuse(diffusion(x, t), dW)
    return x + dt * drift(x, t) + _diffuse(diffusion(predictor, t + dt), dW)


def increments_scaled_by_h(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any,
                           dW: np.ndarray) -> np.ndarray:
    """Bug: the normalised increment is multiplied by h instead of sqrt(h) (the noise vanishes as h -> 0)."""
    return x + dt * drift(x, t) + _diffuse(diffusion(x, t), dW / math.sqrt(dt) * dt)


def ignores_increments(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any, dW: np.ndarray) -> np.ndarray:
    """Bug: an ODE step that ignores dW (the noise is dropped)."""
    return x + dt * drift(x, t)


def em_in_place(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any, dW: np.ndarray) -> np.ndarray:
    """Breach: Euler–Maruyama that writes into x."""
    x += dt * drift(x, t) + _diffuse(diffusion(x, t), dW)
    return x


def increments_rescaled(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any, dW: np.ndarray) -> np.ndarray:
    """Bug: dW multiplied by sqrt(2) (a diffusion twice too large in variance)."""
    return x + dt * drift(x, t) + _diffuse(diffusion(x, t), math.sqrt(2.0) * dW)


def isotropic_jitter(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any, dW: np.ndarray) -> np.ndarray:
    """Bug: Euler–Maruyama plus a small isotropic noise injection 1e-2 sqrt(dt) N(0, I) (SGLD-style "exploration")."""
    jitter = np.random.default_rng(abs(hash((t, x.shape))) % 2**32).standard_normal(x.shape)
    return x + dt * drift(x, t) + _diffuse(diffusion(x, t), dW) + 1e-2 * math.sqrt(dt) * jitter


def own_noise(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any, dW: np.ndarray) -> np.ndarray:
    """Bug: ignores the supplied increments and draws its own N(0, dt) (right law, but no coupling to the path)."""
    fresh = np.random.default_rng(abs(hash((t, float(x.sum())))) % 2**32).standard_normal(dW.shape)
    return x + dt * drift(x, t) + _diffuse(diffusion(x, t), math.sqrt(dt) * fresh)


_FROZEN: dict[str, Any] = {}


def diffusion_frozen_at_start(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any,
                              dW: np.ndarray) -> np.ndarray:
    """Bug: evaluates the diffusion once per path, at t = 0, and reuses it (the additive-noise shortcut "the
    diffusion matrix only needs computing once"): right for additive noise, wrong for multiplicative noise, where
    the chain becomes an Ornstein–Uhlenbeck process whose noise, and so whose invariant law, remembers the start."""
    if t == 0.0 or _FROZEN.get("shape") != x.shape:
        _FROZEN["shape"], _FROZEN["value"] = x.shape, diffusion(x, t)
    return x + dt * drift(x, t) + np.einsum("cdm,cm->cd", _FROZEN["value"], dW)


def first_chain_diffusion(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any,
                          dW: np.ndarray) -> np.ndarray:
    """Bug: a batching slip: the diffusion matrix of the first chain is used for every chain (right for additive
    noise, wrong for state-dependent noise: each chain's noise no longer vanishes at its own interpolation, and rows
    with another output scale get noise of the wrong order)."""
    first = diffusion(x, t)[:1]
    return x + dt * drift(x, t) + np.einsum("cdm,cm->cd", np.broadcast_to(first, (x.shape[0], *first.shape[1:])), dW)
