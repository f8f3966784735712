r"""The mean-field two-layer network of seed 004 (Suzuki's slides) and its first variation.

Neuron x = (x_1 ∈ R^d, x_2, x_3) ∈ R^{d+2}, feature

.. math::  h_x(z) = \bar R\,[\tanh(z^\top x_1 + x_2) + 2\tanh(x_3)]/3,

network f_μ(z) = ∫h_x(z) dμ(x) (a weighted mean over particles), risk L(μ) = (1/n) Σ_i ℓ(y_i f_μ(z_i)) with the
logistic loss ℓ(u) = log(1 + e^{−u}). Since μ ↦ f_μ is linear, the first variation is

.. math::  \frac{\delta L}{\delta\mu}(\mu)(x) = \frac1n\sum_i \ell'(y_i f_\mu(z_i))\,y_i\,h_x(z_i)
           \quad(\text{up to an additive constant}),

and for the empirical measure μ_M = (1/M)Σ_j δ_{x_j}: M ∇_{x_j} L(μ_M) = ∇_x δL/δμ(μ_M)(x_j).

One array-API code path (:func:`solvers._xp.namespace`): particles are batched ``(..., M, d + 2)``, weights
``(..., M)``; complex arrays are accepted (complex-step derivatives).
"""

from __future__ import annotations

from typing import Any

from sgd_conformance.solvers._xp import namespace


def _split(x: Any, z: Any) -> tuple[Any, Any, Any]:
    d = z.shape[-1]
    return x[..., :d], x[..., d], x[..., d + 1]


def features(x: Any, z: Any, rbar: float = 1.0) -> Any:
    """h_x(z_i) for neurons ``x`` (..., K, d + 2) and inputs ``z`` (n, d): shape (..., K, n)."""
    xp = namespace(x, z)
    x1, x2, x3 = _split(x, z)
    inner = xp.matmul(x1, xp.asarray(z.T, dtype=x1.dtype)) + x2[..., None]
    return rbar * (xp.tanh(inner) + 2 * xp.tanh(x3)[..., None]) / 3


def feature_gradient(x: Any, z: Any, rbar: float = 1.0) -> Any:
    """∇_x h_x(z_i), shape (..., K, n, d + 2): (R̄/3)(sech²(z'x_1 + x_2) z, sech²(z'x_1 + x_2), 2 sech² x_3)."""
    xp = namespace(x, z)
    x1, x2, x3 = _split(x, z)
    inner = xp.matmul(x1, xp.asarray(z.T, dtype=x1.dtype)) + x2[..., None]
    sech2 = 1 - xp.tanh(inner) ** 2                                        # (..., K, n)
    first = sech2[..., None] * xp.asarray(z, dtype=x1.dtype)               # (..., K, n, d)
    last = xp.broadcast_to((2 * (1 - xp.tanh(x3) ** 2))[..., None, None], sech2.shape + (1,))
    return rbar * xp.concat([first, sech2[..., None], last], axis=-1) / 3


def output(particles: Any, z: Any, weights: Any = None, rbar: float = 1.0) -> Any:
    """f_μ(z_i) = Σ_j w_j h_{x_j}(z_i) (w_j = 1/M when ``weights`` is None): shape (..., n)."""
    xp = namespace(particles, z)
    h = features(particles, z, rbar)
    if weights is None:
        return xp.mean(h, axis=-2)
    return xp.sum(weights[..., None] * h, axis=-2)


def logistic_loss(u: Any) -> Any:
    """ℓ(u) = log(1 + e^{−u})."""
    xp = namespace(u)
    return xp.log1p(xp.exp(-u))


def logistic_derivative(u: Any) -> Any:
    """ℓ'(u) = −1/(1 + e^{u})."""
    xp = namespace(u)
    return -1 / (1 + xp.exp(u))


def risk(particles: Any, z: Any, y: Any, weights: Any = None, rbar: float = 1.0) -> Any:
    """L(μ) = (1/n) Σ_i ℓ(y_i f_μ(z_i)): shape (...)."""
    xp = namespace(particles, z)
    return xp.mean(logistic_loss(y * output(particles, z, weights, rbar)), axis=-1)


def sample_coefficients(f: Any, y: Any) -> Any:
    """c_i = (1/n) ℓ'(y_i f_i) y_i, the derivative of L in the output f_μ(z_i): shape (..., n)."""
    return logistic_derivative(y * f) * y / y.shape[-1]


def first_variation(particles: Any, z: Any, y: Any, at: Any, weights: Any = None, rbar: float = 1.0) -> Any:
    """δL/δμ(μ)(x) = Σ_i c_i h_x(z_i) at the neurons ``at`` (..., K, d + 2): shape (..., K)."""
    xp = namespace(particles, z)
    coefficients = sample_coefficients(output(particles, z, weights, rbar), y)
    return xp.sum(coefficients[..., None, :] * features(at, z, rbar), axis=-1)


def first_variation_gradient(particles: Any, z: Any, y: Any, at: Any, weights: Any = None,
                             rbar: float = 1.0) -> Any:
    """∇_x δL/δμ(μ)(x) = Σ_i c_i ∇_x h_x(z_i) at ``at`` (..., K, d + 2): shape (..., K, d + 2). The MFLD drift
    of every particle at once (no M x M loop: the interaction passes through the n outputs)."""
    xp = namespace(particles, z)
    coefficients = sample_coefficients(output(particles, z, weights, rbar), y)
    return xp.sum(coefficients[..., None, :, None] * feature_gradient(at, z, rbar), axis=-2)
