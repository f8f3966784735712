"""Wrong ``sgld`` implementations, one bug each (stated in its docstring), and a correct variant.

The contract's NumPy form: ``fn(theta, grad, lr, temperature, rng) -> theta_next``.
"""

from __future__ import annotations

import math

import numpy as np


def sgld_correct_variant(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                         rng: np.random.Generator) -> np.ndarray:
    """Correct: the same update written differently (noise drawn as N(0, 2 lr T) directly)."""
    return theta + rng.normal(0.0, math.sqrt(2 * lr * temperature), size=theta.shape) - lr * grad


def sgld_noise_sqrt_lr_t(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                         rng: np.random.Generator) -> np.ndarray:
    """Bug: noise sqrt(lr T) instead of sqrt(2 lr T).

    Noise sqrt(lr T) instead of sqrt(2 lr T) (samples exp(-2L/T): temperature halved)."""
    return theta - lr * grad + math.sqrt(lr * temperature) * rng.standard_normal(theta.shape)


def sgld_noise_proportional_to_lr(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                                  rng: np.random.Generator) -> np.ndarray:
    """Bug: noise lr sqrt(2T) (sd and variance confused).

    Noise lr sqrt(2T) (standard deviation and variance confused): vanishes as lr -> 0."""
    return theta - lr * grad + lr * math.sqrt(2 * temperature) * rng.standard_normal(theta.shape)


def sgld_shared_noise(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                      rng: np.random.Generator) -> np.ndarray:
    """Bug: one noise vector shared by every chain.

    One noise vector shared by every chain (chains are not independent)."""
    return theta - lr * grad + math.sqrt(2 * lr * temperature) * rng.standard_normal(theta.shape[1:])


def sgld_global_rng(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Bug: noise from the global generator, not rng.

    Noise from NumPy's global generator instead of ``rng`` (runs are not reproducible from the seed)."""
    return theta - lr * grad + math.sqrt(2 * lr * temperature) * np.random.standard_normal(theta.shape)


def sgld_in_place(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Breach: updates theta in place (and returns it)."""
    theta -= lr * grad - math.sqrt(2 * lr * temperature) * rng.standard_normal(theta.shape)
    return theta


def sgld_half_speed(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Bug: lr read as Welling & Teh's eps (step lr/2).

    lr read as Welling & Teh's eps (step eps/2 = lr/2): right law, but one step covers time lr/2."""
    return theta - 0.5 * lr * grad + math.sqrt(lr * temperature) * rng.standard_normal(theta.shape)


def sgld_ignores_gradient(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                          rng: np.random.Generator) -> np.ndarray:
    """Bug: the drift is dropped.

    The drift is dropped (pure diffusion at temperature T)."""
    return theta + math.sqrt(2 * lr * temperature) * rng.standard_normal(theta.shape)


def sgld_gradient_ascent(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                         rng: np.random.Generator) -> np.ndarray:
    """Bug: gradient ascent (the sign flipped).

    The gradient's sign flipped (theta + lr grad)."""
    return theta + lr * grad + math.sqrt(2 * lr * temperature) * rng.standard_normal(theta.shape)
