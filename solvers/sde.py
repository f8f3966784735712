r"""One-step schemes for Itô SDEs :math:`dX = b(X, t)\,dt + \sigma(X, t)\,dW`, the reference of the ``sde`` family.

Every scheme has the contract's signature ``step(x, t, dt, drift, diffusion, dW) -> x_next`` with
``x`` of shape ``(chains, d)``, ``diffusion(x, t)`` of shape ``(chains, d, m)`` and ``dW`` the ``(chains, m)``
increment of the Brownian path over [t, t + dt] (supplied by the caller so that paths are coupled across
step sizes, see :func:`solvers.rng.coarsen`). Each scheme declares its orders and convention as data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sgd_conformance.solvers._xp import namespace

Field = Callable[[Any, float], Any]


def diffuse(diffusion_value: Any, dW: Any) -> Any:
    r""":math:`\sigma\,\Delta W` for a batch: ``(chains, d, m) x (chains, m) -> (chains, d)``.

    A diffusion of shape ``(1, d, m)`` (additive noise: one matrix for every chain) is one matrix product
    :math:`\Delta W\,\sigma^\top` over the whole ensemble; otherwise a batched matrix-vector product. Neither
    forms the ``(chains, d, m)`` product array (30x slower on the CPU at d = m = 10).
    """
    xp = namespace(diffusion_value, dW)
    if diffusion_value.shape[0] == 1:
        return dW @ xp.matrix_transpose(diffusion_value[0, ...])
    return xp.matmul(diffusion_value, dW[:, :, None])[:, :, 0]


def euler_maruyama(x: Any, t: float, dt: float, drift: Field, diffusion: Field, dW: Any) -> Any:
    r"""Euler–Maruyama: :math:`X_{k+1} = X_k + b(X_k, t_k)\,\Delta t + \sigma(X_k, t_k)\,\Delta W_k`.

    Itô; strong order 1/2 (1 for additive noise), weak order 1 (Kloeden & Platen 1992, Thms 10.2.2, 14.5.1).
    """
    return x + drift(x, t) * dt + diffuse(diffusion(x, t), dW)


euler_maruyama.strong_order = 0.5  # type: ignore[attr-defined]
euler_maruyama.weak_order = 1.0  # type: ignore[attr-defined]
euler_maruyama.convention = "ito"  # type: ignore[attr-defined]


def integrate(step: Callable[..., Any], x0: Any, drift: Field, diffusion: Field, dW: Any, dt: float,
              t0: float = 0.0) -> Any:
    """Apply ``step`` along the increments ``dW`` of shape ``(steps, chains, m)``; return X at the end."""
    x = x0
    for k in range(dW.shape[0]):
        x = step(x, t0 + k * dt, dt, drift, diffusion, dW[k, ...])
    return x
