"""Driving a step function over many iterations, for a batch of chains at once (no loop over chains)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Step = Callable[[Any, Any], Any]
Gradient = Callable[[Any], Any]


def iterate(step: Step, grad: Gradient, theta0: Any, steps: int,
            observe: Callable[[int, Any], None] | None = None) -> Any:
    """Run ``theta <- step(theta, grad(theta))`` ``steps`` times from ``theta0`` ``(chains, d)``.

    ``observe(k, theta_k)`` is called for k = 0..steps (after each step, and once at the start).
    """
    theta = theta0
    if observe is not None:
        observe(0, theta)
    for k in range(1, steps + 1):
        theta = step(theta, grad(theta))
        if observe is not None:
            observe(k, theta)
    return theta
