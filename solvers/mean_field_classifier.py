r"""The mean-field two-layer classifier of Suzuki, Wu, Oko & Nitanda (NeurIPS 2023), as presented in the Chainani &
Zhang slides: its first variation, the same network as a
problem of the MFLD particle system (:func:`solvers.mfld_particles.evolve`), the k-sparse parity data it learns, and
the fixed-kernel (NTK) baseline it is compared with.

Neuron x = (x_1 ∈ R^d, x_2, x_3) ∈ R^{d+2}, feature

.. math::  h_x(z) = \bar R\,[\tanh(z^\top x_1 + x_2) + 2\tanh(x_3)]/3,

network f_μ(z) = ∫h_x(z) dμ(x) (a weighted mean over particles), risk L(μ) = (1/n) Σ_i ℓ(y_i f_μ(z_i)) with the
logistic loss ℓ(u) = log(1 + e^{−u}). Since μ ↦ f_μ is linear, the first variation is

.. math::  \frac{\delta L}{\delta\mu}(\mu)(x) = \frac1n\sum_i \ell'(y_i f_\mu(z_i))\,y_i\,h_x(z_i)
           \quad(\text{up to an additive constant}),

and for the empirical measure μ_M = (1/M)Σ_j δ_{x_j}: M ∇_{x_j} L(μ_M) = ∇_x δL/δμ(μ_M)(x_j).

:class:`MeanFieldNetwork` is the regularised objective :math:`F(\mu) = L(\mu) + \lambda' E_\mu|x|^2` batched over
replicas. Its particle drift is the gradient of the first variation at the empirical measure of each replica,

.. math:: \nabla_x\frac{\delta F}{\delta\mu}(\hat\mu_M)(x_j) = \sum_i c_i\,\nabla_x h_{x_j}(z_i) + 2\lambda' x_j,
          \qquad c_i = \tfrac1n\ell'(y_if_{\hat\mu_M}(z_i))\,y_i,

computed without forming the ``(R, M, n, d + 2)`` tensor of feature gradients: with :math:`s_{ji} =
\operatorname{sech}^2(z_i^\top x_{1,j} + x_{2,j})` the x_1 block is :math:`(\bar R/3)\sum_i c_i s_{ji} z_i` (one
matrix product), the x_2 block :math:`(\bar R/3)\sum_i c_i s_{ji}`, the x_3 block
:math:`(2\bar R/3)\operatorname{sech}^2(x_{3,j})\sum_i c_i`. It equals :func:`first_variation_gradient` plus
:math:`2\lambda' x` (checked by mfld.sparse-parity).

One array-API code path (:func:`solvers._xp.namespace`, NumPy / CuPy): particles are batched ``(..., M, d + 2)``,
weights ``(..., M)``; the generic functions accept complex arrays (complex-step derivatives). Source: Suzuki, Wu, Oko
& Nitanda (NeurIPS 2023)
(first variation, sparse parity, annealing), as presented in the Chainani & Zhang slides.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class MeanFieldNetwork:
    r"""F(μ) = logistic risk of f_μ on (z, y) + λ' E_μ|x|^2; particles ``(replicas, M, d + 2)``.

    ``inputs`` (n, d) and ``labels`` (n,) may also carry a leading replica axis ``(replicas, n, d)`` /
    ``(replicas, n)``: each replica then trains on its own data set.
    """

    inputs: Any
    labels: Any
    reg: float = 1e-3
    rbar: float = 1.0

    def coefficients(self, particles: Any) -> Any:
        """c_i = (1/n) ℓ'(y_i f(z_i)) y_i per replica: shape (replicas, n)."""
        return sample_coefficients(self.output(particles, self.inputs), self.labels)

    def output(self, particles: Any, inputs: Any) -> Any:
        """f_μ(z) at ``inputs`` ((n, d) or (replicas, n, d)): shape (replicas, n)."""
        xp = namespace(particles)
        d = inputs.shape[-1]
        inner = xp.matmul(particles[..., :d], xp.matrix_transpose(inputs) if inputs.ndim == 3 else inputs.T)
        h = xp.tanh(inner + particles[..., d, None]) + 2 * xp.tanh(particles[..., d + 1])[..., None]
        return self.rbar * xp.mean(h, axis=-2) / 3

    def gradient(self, particles: Any) -> Any:
        r""":math:`\nabla_x\delta F/\delta\mu(\hat\mu_M)(x_j)` for every particle, shape ``(replicas, M, d + 2)``."""
        xp = namespace(particles)
        z = self.inputs
        d = z.shape[-1]
        c = self.coefficients(particles)                                          # (R, n)
        inner = xp.matmul(particles[..., :d], xp.matrix_transpose(z) if z.ndim == 3 else z.T) \
            + particles[..., d, None]                                             # (R, M, n)
        weighted = c[:, None, :] * (1 - xp.tanh(inner) ** 2)                      # (R, M, n)
        scale = self.rbar / 3
        g1 = scale * xp.matmul(weighted, z)                                       # (R, M, d)
        g2 = scale * xp.sum(weighted, axis=-1, keepdims=True)
        g3 = 2 * scale * (1 - xp.tanh(particles[..., d + 1:]) ** 2) * xp.sum(c, axis=-1)[:, None, None]
        return xp.concat([g1, g2, g3], axis=-1) + 2 * self.reg * particles

    def objective(self, particles: Any) -> Any:
        """F(μ_M) = L(μ_M) + λ' (1/M) Σ_j |x_j|^2 per replica: shape (replicas,)."""
        xp = namespace(particles)
        risk = xp.mean(logistic_loss(self.labels * self.output(particles, self.inputs)), axis=-1)
        return risk + self.reg * xp.mean(xp.sum(particles**2, axis=-1), axis=-1)

    def accuracy(self, particles: Any, inputs: Any, labels: Any) -> Any:
        """Fraction of ``inputs`` where sign f_μ = label, per replica: shape (replicas,)."""
        xp = namespace(particles)
        return xp.mean(xp.astype(self.output(particles, inputs) * labels > 0, particles.dtype), axis=-1)


def sparse_parity(rng: Any, shape: tuple[int, ...], d: int, k: int = 2, xp: Any = None) -> tuple[Any, Any]:
    r"""k-sparse parity: z uniform on :math:`\{\pm 1/\sqrt d\}^d`, :math:`y = d^{k/2}\prod_{i\le k} z_i \in \{\pm1\}`.
    Returns ``(z (*shape, d), y shape)``."""
    signs = 2.0 * rng.integers(0, 2, size=(*shape, d)) - 1.0
    if xp is not None:
        signs = xp.asarray(signs)
    xq = namespace(signs)
    z = signs / d**0.5
    y = xq.prod(signs[..., :k], axis=-1)
    return z, y


def ntk_gram(particles: Any, first: Any, second: Any, rbar: float = 1.0) -> Any:
    r"""Empirical NTK of f_μ = (1/M)Σ_j h_{x_j} in all particle coordinates, between ``first`` (..., n, d) and
    ``second`` (..., m, d): shape (..., n, m),

    .. math:: K(z, z') = \frac{\bar R^2}{9M^2}\sum_j \big[s_j(z)s_j(z')(z^\top z' + 1)
              + 4\operatorname{sech}^4 x_{3,j}\big],\qquad s_j(z) = \operatorname{sech}^2(z^\top x_{1,j} + x_{2,j})

    (the x_1, x_2 and x_3 blocks of J J^T); at μ_0 it is the fixed kernel of lazy training."""
    xp = namespace(particles)
    d, m = first.shape[-1], particles.shape[-2]

    def sech2(z: Any) -> Any:
        inner = xp.matmul(particles[..., :d], xp.matrix_transpose(z)) + particles[..., d, None]
        return 1 - xp.tanh(inner) ** 2                                  # (..., M, n)

    s1, s2 = sech2(first), sech2(second)
    tail = 4 * xp.sum((1 - xp.tanh(particles[..., d + 1]) ** 2) ** 2, axis=-1)[..., None, None]
    gram = xp.matmul(xp.matrix_transpose(s1), s2) * (xp.matmul(first, xp.matrix_transpose(second)) + 1) + tail
    return (rbar / 3) ** 2 * gram / m**2


def kernel_regression(gram_train: Any, gram_cross: Any, targets: Any, ridge: float) -> Any:
    r"""Kernel ridge regression predictions :math:`K_*(K + \rho\,\bar k I)^{-1}y` (ridge relative to the mean diagonal
    :math:`\bar k` of K): ``gram_train`` (..., n, n),
    ``gram_cross`` (..., n_test, n), ``targets`` (..., n): shape (..., n_test)."""
    xp = namespace(gram_train)
    n = gram_train.shape[-1]
    scale = xp.mean(xp.linalg.diagonal(gram_train), axis=-1)[..., None, None]
    system = gram_train + ridge * scale * xp.eye(n, dtype=gram_train.dtype)
    alpha = xp.linalg.solve(system, targets[..., None])
    return xp.matmul(gram_cross, alpha)[..., 0]
