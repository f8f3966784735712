"""Deliberately wrong implementations, one bug each (stated in the docstring), and correct variants.

``tests/test_power.py`` runs every check against its mutants (it must fail) and against the reference and a
correct variant (it must pass). The signatures are the contract's NumPy forms.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# --- sgld: fn(theta, grad, lr, temperature, rng) -------------------------------------------------------


def sgld_correct_variant(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                         rng: np.random.Generator) -> np.ndarray:
    """Correct: the same update written differently (noise drawn as N(0, 2 lr T) directly)."""
    return theta + rng.normal(0.0, math.sqrt(2 * lr * temperature), size=theta.shape) - lr * grad


def sgld_noise_sqrt_lr_t(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                         rng: np.random.Generator) -> np.ndarray:
    """Bug: noise sqrt(lr T) instead of sqrt(2 lr T) (samples exp(-2L/T): temperature halved)."""
    return theta - lr * grad + math.sqrt(lr * temperature) * rng.standard_normal(theta.shape)


def sgld_noise_proportional_to_lr(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                                  rng: np.random.Generator) -> np.ndarray:
    """Bug: noise lr sqrt(2T) (standard deviation and variance confused): vanishes as lr -> 0."""
    return theta - lr * grad + lr * math.sqrt(2 * temperature) * rng.standard_normal(theta.shape)


def sgld_shared_noise(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                      rng: np.random.Generator) -> np.ndarray:
    """Bug: one noise vector shared by every chain (chains are not independent)."""
    return theta - lr * grad + math.sqrt(2 * lr * temperature) * rng.standard_normal(theta.shape[1:])


def sgld_global_rng(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Bug: noise from NumPy's global generator instead of ``rng`` (runs are not reproducible from the seed)."""
    return theta - lr * grad + math.sqrt(2 * lr * temperature) * np.random.standard_normal(theta.shape)


def sgld_in_place(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Breach: updates theta in place and returns it."""
    theta -= lr * grad - math.sqrt(2 * lr * temperature) * rng.standard_normal(theta.shape)
    return theta


def sgld_half_speed(theta: np.ndarray, grad: np.ndarray, lr: float, temperature: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Bug: lr read as Welling & Teh's eps (step eps/2 = lr/2): right law, but one step covers time lr/2."""
    return theta - 0.5 * lr * grad + math.sqrt(lr * temperature) * rng.standard_normal(theta.shape)


# --- sgd: fn(theta, grad, lr) --------------------------------------------------------------------------


def gd_correct_variant(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Correct: copy, then update the copy in place."""
    out = theta.copy()
    out -= lr * grad
    return out


class HiddenMomentum:
    """Bug: heavy-ball momentum 0.5 hidden inside a GD step (state kept between calls)."""

    def __init__(self, beta: float = 0.5) -> None:
        self.beta = beta
        self.velocity: np.ndarray | None = None

    def __call__(self, theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        if self.velocity is None or self.velocity.shape != theta.shape:
            self.velocity = np.zeros_like(theta)
        self.velocity = self.beta * self.velocity - lr * grad
        return theta + self.velocity


gd_hidden_momentum = HiddenMomentum()


def gd_lr_times_1_1(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: the step is 1.1 lr."""
    return theta - 1.1 * lr * grad


def gd_double_gradient(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: gradient of |theta|_H^2 used for the gradient of theta' H theta / 2 (a factor 2: threshold 1)."""
    return theta - 2.0 * lr * grad


def gd_weight_decay(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: decoupled weight decay 1e-3 hidden in the step (converges to a ridge solution)."""
    return theta - lr * (grad + 1e-3 * theta)


class DiagonalPreconditioning:
    """Bug: AdaGrad-style diagonal preconditioning presented as GD (converges to another interpolant)."""

    def __init__(self) -> None:
        self.accumulated: np.ndarray | None = None

    def __call__(self, theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        if self.accumulated is None or self.accumulated.shape != grad.shape:
            self.accumulated = np.zeros_like(grad)
        self.accumulated = self.accumulated + grad**2
        return theta - lr * grad / (np.sqrt(self.accumulated) + 1e-8) * np.sqrt(np.mean(self.accumulated))


gd_diagonal_preconditioning = DiagonalPreconditioning()


class StaleGradient:
    """Bug: applies the gradient of the previous call (a one-step delay)."""

    def __init__(self) -> None:
        self.previous: np.ndarray | None = None

    def __call__(self, theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        used = grad if self.previous is None or self.previous.shape != grad.shape else self.previous
        self.previous = grad.copy()
        return theta - lr * used


gd_stale_gradient = StaleGradient()


class FrozenStepSize:
    """Bug: keeps the first step size it is given and ignores a schedule (lr_k passed later is dropped)."""

    def __init__(self) -> None:
        self.first: tuple[tuple[int, ...], float] | None = None

    def __call__(self, theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        if self.first is None or self.first[0] != theta.shape:
            self.first = (theta.shape, lr)
        return theta - self.first[1] * grad


gd_frozen_lr = FrozenStepSize()

# --- sde: fn(x, t, dt, drift, diffusion, dW) ---------------------------------------------------------------


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


# --- contract breaches (any family; written for sgd) ------------------------------------------------------


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
    """Breach: updates theta in place and returns it."""
    theta -= lr * grad
    return theta


def float32_result(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Breach: returns float32."""
    return (theta - lr * grad).astype(np.float32)


def sleeps(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Breach: never returns in time."""
    import time

    time.sleep(3600)
    return theta - lr * grad


not_callable = 42


def gd_half_step(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: applies lr/2 internally (a sampler's eps/2 convention leaking into GD): stable up to sharpness 4/lr."""
    return theta - 0.5 * lr * grad
