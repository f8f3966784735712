"""Implementations that break the contract rather than a claim (raise, NaN, wrong shape or dtype, mutate an input,
hang, not callable), in the ``sgd`` form: each must give an ``error`` outcome that names what it did.
"""

from __future__ import annotations

import time

import numpy as np


def raises(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Breach: raises."""
    raise ValueError("boom")


def returns_nan(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Breach: NaN in the first chain."""
    out = theta - lr * grad
    out[0, 0] = np.nan
    return out


def wrong_shape(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Breach: drops the chain axis."""
    return (theta - lr * grad)[0]


def mutates_input(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Breach: updates theta in place (and returns it)."""
    theta -= lr * grad
    return theta


def float32_result(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Breach: returns float32."""
    return (theta - lr * grad).astype(np.float32)


def sleeps(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Breach: never returns in time."""

    time.sleep(3600)
    return theta - lr * grad


not_callable = 42


def float32_arithmetic(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Breach: computes in float32 behind a float64 result.

    The GD step done on float32 copies and cast back: right dtype, float32 rounding (relative 6e-8 per entry)."""
    return (theta.astype(np.float32) - np.float32(lr) * grad.astype(np.float32)).astype(np.float64)
