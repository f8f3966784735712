"""Wrong ``sde`` implementations for the lazy SGLD checks (spec ``sde=<this file>:<name>``).

Each function has the contract's signature ``fn(x, t, dt, drift, diffusion, dW) -> x_next``; its bug is stated in its
docstring. The shared sde mutants live in ``tests/mutants.py``; the model-side mutants (noise from the unscaled loss,
a loss without 1/alpha^2, arccos in degrees, ...) are monkeypatched in ``tests/test_power_sgld_lazy.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_FROZEN: dict[str, Any] = {}


def first_chain_diffusion(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any,
                          dW: np.ndarray) -> np.ndarray:
    """Bug: a batching slip: the diffusion matrix of the first chain is used for every chain (right for additive
    noise, wrong for state-dependent noise: each chain's noise no longer vanishes at its own interpolation, and rows
    with another output scale get noise of the wrong order)."""
    first = diffusion(x, t)[:1]
    return x + dt * drift(x, t) + np.einsum("cdm,cm->cd", np.broadcast_to(first, (x.shape[0], *first.shape[1:])), dW)


def diffusion_frozen_at_start(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any,
                              dW: np.ndarray) -> np.ndarray:
    """Bug: the diffusion is evaluated once per path, at t = 0, and reused (the additive-noise shortcut): the
    multiplicative noise of SGLD never vanishes at interpolation, so the loss stalls at a noise floor."""
    if t == 0.0 or _FROZEN.get("shape") != x.shape:
        _FROZEN["shape"], _FROZEN["value"] = x.shape, diffusion(x, t)
    return x + dt * drift(x, t) + np.einsum("cdm,cm->cd", _FROZEN["value"], dW)
