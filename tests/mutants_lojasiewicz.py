"""Wrong ``sgd`` implementations for the local-Łojasiewicz checks (spec ``sgd=<this file>:<name>``).

Each function has the contract's signature ``fn(theta, grad, lr) -> theta_next``; its bug is stated in its docstring.
The shared sgd mutants (lr x 1.1, hidden momentum, frozen schedule, half step, weight decay, ...) live in
``tests/mutants.py``; mistakes of the noisy-gradient oracle or of the theory (Z ~ N(0, I_d), noise sigma F Z, bounded
noise, a wrong schedule) are not update rules and are shown by monkeypatching in tests/test_power_lojasiewicz.py.
"""

from __future__ import annotations

import numpy as np


def sgd_clipped(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: gradient-norm clipping at 1 per chain hidden in the step (``clip_grad_norm_(params, 1.0)``): the step is
    lr * grad * min(1, 1/|grad|), shorter than SGD's wherever |grad| > 1."""
    norm = np.sqrt(np.sum(grad * grad, axis=1, keepdims=True))
    return theta - lr * grad * np.minimum(1.0, 1.0 / np.maximum(norm, 1e-300))


def sgd_sign(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: sign-SGD (the small-beta limit of Adam) presented as SGD: each coordinate moves by lr whatever the size of
    the gradient, so the step does not shrink with F and machine-learning noise no longer dies out."""
    return theta - lr * np.sign(grad)


def sgd_lr_times_2(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Bug: the step is 2 lr (a gradient of |theta|^2 used for the gradient of |theta|^2 / 2)."""
    return theta - 2.0 * lr * grad
