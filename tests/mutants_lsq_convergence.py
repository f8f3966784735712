"""Wrong ``sde`` implementations for the least-squares SDE convergence checks (spec ``sde=<this file>:<name>``).

Each function has the contract's signature ``fn(x, t, dt, drift, diffusion, dW) -> x_next``; its bug is stated in
its docstring. The shared sde mutants live in ``tests/mutants.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_FROZEN: dict[str, Any] = {}


def diffusion_frozen_at_start(x: np.ndarray, t: float, dt: float, drift: Any, diffusion: Any,
                              dW: np.ndarray) -> np.ndarray:
    """Bug: evaluates the diffusion once per path, at t = 0, and reuses it (the additive-noise shortcut "the
    diffusion matrix only needs computing once"): right for additive noise, wrong for multiplicative noise, where
    the chain becomes an Ornstein–Uhlenbeck process whose noise, and so whose invariant law, remembers the start."""
    if t == 0.0 or _FROZEN.get("shape") != x.shape:
        _FROZEN["shape"], _FROZEN["value"] = x.shape, diffusion(x, t)
    return x + dt * drift(x, t) + np.einsum("cdm,cm->cd", _FROZEN["value"], dW)
