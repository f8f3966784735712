r"""The SDE models (12)–(13) of least-squares SGD of Schertzer & Pillaud-Vivien (JMLR 2026, arXiv 2407.02322) for
batches of chains, without matrix square roots.

Training-loss model (:func:`theory.lsq_sde.training_model`):
:math:`d\theta = -\nabla L\,dt + \sqrt\gamma\,\sigma(\theta)\,dB` with n scalar Brownian
motions and the exact affine factor
:math:`\sigma(\theta) = n^{-1/2}[r_ix_i - \nabla L]_i`, so that
:math:`\sigma(\theta)\Delta B = n^{-1/2}\big(X^\top(r \odot \Delta B) - \nabla L\,\textstyle\sum_i\Delta B_i\big)`,
:math:`O(nd)` per chain. Population model (:func:`theory.lsq_sde.population_covariance`): with
:math:`\delta = \theta - \theta^*` and a fixed :math:`C` with :math:`CC^\top = H` (Cholesky, once),
:math:`\sigma(\delta) = [\,H\delta,\ (\delta^\top H\delta + s^2)^{1/2}C\,]` (d + 1 Brownian motions) has
:math:`\sigma\sigma^\top = H\delta\delta^\top H + (\delta^\top H\delta + s^2)H`. Both give the contract's
``drift(x, t)`` (chains, d) and ``diffusion(x, t)`` (chains, d, m) fields and an Euler–Maruyama ``step`` that uses
the factor's structure; one code path for NumPy and CuPy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sgd_conformance.solvers._xp import asarray, namespace


@dataclass(frozen=True)
class TrainingSDE:
    """The training-loss model on data ``features`` (n, d) and ``targets`` (n,) with SGD step ``gamma``."""

    features: np.ndarray
    targets: np.ndarray
    gamma: float

    @property
    def n(self) -> int:
        return self.features.shape[0]

    @property
    def d(self) -> int:
        return self.features.shape[1]

    @property
    def brownian_dimension(self) -> int:
        return self.n

    def _data(self, xp: Any) -> tuple[Any, Any]:
        return asarray(self.features, xp), asarray(self.targets, xp)

    def residuals(self, theta: Any) -> Any:
        """r = X theta - y per chain, (chains, n)."""
        xp = namespace(theta)
        x, y = self._data(xp)
        return theta @ x.T - y

    def gradient(self, theta: Any) -> Any:
        """grad L = X' r / n, (chains, d)."""
        xp = namespace(theta)
        x, _ = self._data(xp)
        return self.residuals(theta) @ x / self.n

    def drift(self, theta: Any, t: float = 0.0) -> Any:
        return -self.gradient(theta)

    def diffusion(self, theta: Any, t: float = 0.0) -> Any:
        """sqrt(gamma) sigma(theta), (chains, d, n): column i is n^-1/2 (r_i x_i - grad L)."""
        xp = namespace(theta)
        x, _ = self._data(xp)
        r = self.residuals(theta)
        columns = r[:, :, None] * x[None, :, :] - (r @ x / self.n)[:, None, :]
        return (self.gamma / self.n) ** 0.5 * xp.permute_dims(columns, (0, 2, 1))

    def noise(self, theta: Any, dW: Any) -> Any:
        """sqrt(gamma) sigma(theta) dW from the per-sample structure, (chains, d)."""
        xp = namespace(theta)
        x, _ = self._data(xp)
        r = self.residuals(theta)
        mixed = (r * dW) @ x - (r @ x / self.n) * xp.sum(dW, axis=1, keepdims=True)
        return (self.gamma / self.n) ** 0.5 * mixed

    def step(self, theta: Any, t: float, dt: float, dW: Any) -> Any:
        """One Euler–Maruyama step (equal to :func:`solvers.sde.euler_maruyama` on these fields)."""
        return theta + self.drift(theta) * dt + self.noise(theta, dW)

    def minimiser(self) -> np.ndarray:
        """theta_LS, the minimum-norm least-squares solution X^+ y."""
        return np.linalg.pinv(self.features) @ self.targets

    def interpolator_from(self, theta0: np.ndarray) -> np.ndarray:
        """theta*_0 = theta0 - X^+ (X theta0 - y): the minimiser closest to theta0 (the limit when y in range X)."""
        return theta0 - (np.linalg.pinv(self.features) @ (theta0 @ self.features.T - self.targets).T).T

    def kernel_projector(self) -> np.ndarray:
        """Orthogonal projector onto Ker X."""
        return np.eye(self.d) - np.linalg.pinv(self.features) @ self.features


@dataclass(frozen=True)
class PopulationSDE:
    """The online (population) model for x ~ N(0, H), y = x' theta* + xi, Var xi = s^2, in delta = theta - theta*."""

    curvature: np.ndarray
    label_noise: float
    gamma: float
    _root: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_root", np.linalg.cholesky(self.curvature))

    @property
    def d(self) -> int:
        return self.curvature.shape[0]

    @property
    def brownian_dimension(self) -> int:
        return self.d + 1

    def drift(self, delta: Any, t: float = 0.0) -> Any:
        return -delta @ asarray(self.curvature, namespace(delta))

    def _scale(self, delta: Any) -> tuple[Any, Any]:
        xp = namespace(delta)
        h_delta = delta @ asarray(self.curvature, xp)
        return h_delta, xp.sqrt(xp.sum(delta * h_delta, axis=1, keepdims=True) + self.label_noise**2)

    def diffusion(self, delta: Any, t: float = 0.0) -> Any:
        """sqrt(gamma) [H delta, (delta' H delta + s^2)^(1/2) C], (chains, d, d + 1)."""
        xp = namespace(delta)
        h_delta, scale = self._scale(delta)
        root = asarray(self._root, xp)
        return self.gamma**0.5 * xp.concat([h_delta[:, :, None], scale[:, :, None] * root[None, :, :]], axis=2)

    def noise(self, delta: Any, dW: Any) -> Any:
        xp = namespace(delta)
        h_delta, scale = self._scale(delta)
        return self.gamma**0.5 * (h_delta * dW[:, :1] + scale * (dW[:, 1:] @ asarray(self._root, xp).T))

    def step(self, delta: Any, t: float, dt: float, dW: Any) -> Any:
        """One Euler–Maruyama step."""
        return delta + self.drift(delta) * dt + self.noise(delta, dW)


def online_gradients(delta: Any, curvature: np.ndarray, label_noise: float, rng: Any, batch: int = 1) -> Any:
    r"""Minibatch gradients of online least squares at delta = theta - theta*, one fresh batch per chain:
    :math:`\hat g = \frac1b\sum_j x_j(x_j^\top\delta - \xi_j)`, :math:`x_j \sim N(0, H)`,
    :math:`\xi_j \sim N(0, s^2)`."""
    xp = namespace(delta)
    chains, d = delta.shape
    root = asarray(np.linalg.cholesky(curvature), xp)
    x = rng.standard_normal(size=(chains, batch, d)) @ root.T
    xi = label_noise * rng.standard_normal(size=(chains, batch))
    residual = xp.sum(x * delta[:, None, :], axis=-1) - xi
    return xp.sum(residual[:, :, None] * x, axis=1) / batch
