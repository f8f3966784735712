"""Wrong ``sgd`` implementations, one bug each (stated in its docstring), and a correct variant.

The contract's NumPy form: ``fn(theta, grad, lr) -> theta_next``. Some keep state between calls, as a user's
optimizer would (momentum, a delayed gradient, a frozen step size).
"""

from __future__ import annotations

import numpy as np


def gd_correct_variant(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Correct: copy, then update the copy in place."""
    out = theta.copy()
    out -= lr * grad
    return out


class HiddenMomentum:
    """Bug: heavy-ball momentum hidden in the step.

    Heavy-ball momentum 0.5 hidden inside a GD step (state kept between calls)."""

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
    """Bug: step size 1.1 lr."""
    return theta - 1.1 * lr * grad


def gd_double_gradient(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: gradient twice too large (a factor-2 convention slip).

    Gradient of |theta|_H^2 used for the gradient of theta' H theta / 2 (a factor 2: threshold 1)."""
    return theta - 2.0 * lr * grad


def gd_weight_decay(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: weight decay hidden in the step.

    Decoupled weight decay 1e-3 hidden in the step (converges to a ridge solution)."""
    return theta - lr * (grad + 1e-3 * theta)


class DiagonalPreconditioning:
    """Bug: AdaGrad-style preconditioning presented as GD.

    AdaGrad-style diagonal preconditioning presented as GD (converges to another interpolant)."""

    def __init__(self) -> None:
        self.accumulated: np.ndarray | None = None

    def __call__(self, theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        if self.accumulated is None or self.accumulated.shape != grad.shape:
            self.accumulated = np.zeros_like(grad)
        self.accumulated = self.accumulated + grad**2
        return theta - lr * grad / (np.sqrt(self.accumulated) + 1e-8) * np.sqrt(np.mean(self.accumulated))


gd_diagonal_preconditioning = DiagonalPreconditioning()


class StaleGradient:
    """Bug: applies the previous call's gradient (one-step delay).

    Applies the gradient of the previous call (a one-step delay)."""

    def __init__(self) -> None:
        self.previous: np.ndarray | None = None

    def __call__(self, theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        used = grad if self.previous is None or self.previous.shape != grad.shape else self.previous
        self.previous = grad.copy()
        return theta - lr * used


gd_stale_gradient = StaleGradient()


class FrozenStepSize:
    """Bug: ignores a step-size schedule (keeps the first lr).

    Keeps the first step size it is given and ignores a schedule (lr_k passed later is dropped)."""

    def __init__(self) -> None:
        self.first: tuple[tuple[int, ...], float] | None = None

    def __call__(self, theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        if self.first is None or self.first[0] != theta.shape:
            self.first = (theta.shape, lr)
        return theta - self.first[1] * grad


gd_frozen_lr = FrozenStepSize()


def gd_half_step(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: step size lr/2 (a sampler's eps/2 convention).

    Applies lr/2 internally (a sampler's eps/2 convention leaking into GD): stable up to sharpness 4/lr."""
    return theta - 0.5 * lr * grad


def sgd_clipped(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: gradient-norm clipping hidden in the step.

    Gradient-norm clipping at 1 per chain hidden in the step (``clip_grad_norm_(params, 1.0)``): the step is
    lr * grad * min(1, 1/|grad|), shorter than SGD's wherever |grad| > 1."""
    norm = np.sqrt(np.sum(grad * grad, axis=1, keepdims=True))
    return theta - lr * grad * np.minimum(1.0, 1.0 / np.maximum(norm, 1e-300))


def sgd_sign(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: sign-SGD presented as SGD.

    Sign-SGD (the small-beta limit of Adam) presented as SGD: each coordinate moves by lr whatever the size of
    the gradient, so the step does not shrink with F and machine-learning noise no longer dies out."""
    return theta - lr * np.sign(grad)


def sgd_lr_times_2(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: step size 2 lr.

    The step is 2 lr (a gradient of |theta|^2 used for the gradient of |theta|^2 / 2)."""
    return theta - 2.0 * lr * grad


def gd_grad_over_parameter_count(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: gradient divided by the parameter count theta.shape[1].

    A mean over theta's entries where the loss's gradient is not one: the step is lr * grad / d, so on a width-n
    network the parameters move 1/n as far in the same time; the width exponents of NTK training drop by one and
    mean-field training becomes lazy."""
    return theta - lr * grad / theta.shape[1]


def sgd_clipped_at_100(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: gradient-norm clipping at 100 hidden in the step (a safety net left on).

    ``clip_grad_norm_(params, 100.0)`` per chain: where gradients stay small the step is SGD's exactly, but at a
    large step size SGD's heavy tail makes |grad| ~ x^2 |delta| exceed 100, and the clipped chain's tail is lighter
    than Kesten's."""
    norm = np.sqrt(np.sum(grad * grad, axis=1, keepdims=True))
    return theta - lr * grad * np.minimum(1.0, 100.0 / np.maximum(norm, 1e-300))
