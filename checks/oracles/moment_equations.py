r"""Exact first and second moments of SDEs with linear drift and a diffusion covariance quadratic in the state.

Model (Itô): :math:`d\delta = (c - B\delta)\,dt + \sqrt\gamma\,\sigma(\delta)\,dW` with
:math:`\Sigma(\delta) = \sigma\sigma^\top = A_0 + \sum_k \delta_k A_1^{(k)} + \sum_{kl}\delta_k\delta_l A_2^{(kl)}`
(:math:`A_2^{(kl)} = A_2^{(lk)}`). By Itô's formula :math:`m = E\delta` and :math:`M = E\delta\delta^\top` solve the
closed linear system

.. math:: \dot m = c - Bm,\qquad
          \dot M = cm^\top + mc^\top - BM - MB^\top + \gamma\,E\Sigma(\delta),\qquad
          E\Sigma(\delta) = A_0 + \sum_k m_k A_1^{(k)} + \sum_{kl} M_{kl} A_2^{(kl)},

i.e. :math:`\dot z = Gz` for :math:`z = (1, m, \mathrm{vec}\,M)`, so :math:`z(t) = e^{Gt}z(0)` exactly. One
Euler–Maruyama step of size h, :math:`\delta' = A\delta + hc + \sqrt\gamma\,\sigma(\delta)\Delta W`, :math:`A = I - hB`,
maps the moments exactly: :math:`m' = Am + hc`, :math:`M' = AMA^\top + hAmc^\top + hcm^\top A^\top + h^2cc^\top +
\gamma h\,E\Sigma(\delta)` (the discrete SGD recursion is this map with :math:`\gamma h \to \gamma^2`). Both serve the
least-squares SDE models of seed 001 (CLAIMS-DETAIL §5 4.3, §9.3), whose covariance is quadratic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm


@dataclass(frozen=True)
class QuadraticCovariance:
    r"""Coefficients of :math:`\Sigma(\delta) = A_0 + \sum_k\delta_kA_1^{(k)} + \sum_{kl}\delta_k\delta_lA_2^{(kl)}`:
    ``constant`` (d, d), ``linear`` (d, d, d) indexed ``[k]``, ``quadratic`` (d, d, d, d) indexed ``[k, l]``."""

    constant: np.ndarray
    linear: np.ndarray
    quadratic: np.ndarray

    @property
    def d(self) -> int:
        return self.constant.shape[0]

    def expectation(self, m: np.ndarray, second: np.ndarray) -> np.ndarray:
        """:math:`E\\Sigma(\\delta)` when :math:`E\\delta = m`, :math:`E\\delta\\delta^\\top` = ``second``."""
        return (self.constant + np.einsum("k,kij->ij", m, self.linear)
                + np.einsum("kl,klij->ij", second, self.quadratic))

    def __call__(self, delta: np.ndarray) -> np.ndarray:
        """Sigma(delta) at one state."""
        return self.expectation(delta, np.outer(delta, delta))

    @classmethod
    def from_function(cls, covariance: Callable[[np.ndarray], np.ndarray], d: int) -> QuadraticCovariance:
        """Read the coefficients of a covariance function known to be quadratic in delta, exactly, by polarisation:
        :math:`A_1^{(k)} = (\\Sigma(e_k) - \\Sigma(-e_k))/2`,
        :math:`A_2^{(kk)} = (\\Sigma(e_k) + \\Sigma(-e_k))/2 - A_0`,
        :math:`A_2^{(kl)} = (\\Sigma(e_k + e_l) - \\Sigma(e_k) - \\Sigma(e_l) + A_0)/2` for k != l."""
        eye = np.eye(d)
        constant = covariance(np.zeros(d))
        plus = np.stack([covariance(eye[k]) for k in range(d)])
        minus = np.stack([covariance(-eye[k]) for k in range(d)])
        linear = (plus - minus) / 2
        quadratic = np.zeros((d, d, d, d))
        for k in range(d):
            quadratic[k, k] = (plus[k] + minus[k]) / 2 - constant
            for l_ in range(k + 1, d):
                quadratic[k, l_] = quadratic[l_, k] = (covariance(eye[k] + eye[l_]) - plus[k] - plus[l_]
                                                       + constant) / 2
        return cls(constant, linear, quadratic)

    @classmethod
    def from_affine_factor(cls, offset: np.ndarray, slopes: np.ndarray) -> QuadraticCovariance:
        r"""For :math:`\sigma(\delta) = S_0 + \sum_k\delta_kS_k` (``offset`` (d, m), ``slopes`` (d, d, m) indexed
        ``[k]``): :math:`A_0 = S_0S_0^\top`, :math:`A_1^{(k)} = S_kS_0^\top + S_0S_k^\top`,
        :math:`A_2^{(kl)} = (S_kS_l^\top + S_lS_k^\top)/2`."""
        cross = np.einsum("kim,jm->kij", slopes, offset)
        pair = np.einsum("kim,ljm->klij", slopes, slopes)
        return cls(offset @ offset.T, cross + np.swapaxes(cross, 1, 2), (pair + np.swapaxes(pair, 0, 1)) / 2)


@dataclass(frozen=True)
class LinearMomentModel:
    r""":math:`d\delta = (c - B\delta)\,dt + \sqrt\gamma\,\sigma(\delta)\,dW`, quadratic :math:`\sigma\sigma^\top`."""

    drift_matrix: np.ndarray
    drift_offset: np.ndarray
    covariance: QuadraticCovariance
    gamma: float

    @property
    def d(self) -> int:
        return self.drift_matrix.shape[0]

    def _flow(self, m: np.ndarray, second: np.ndarray, one: float) -> tuple[np.ndarray, np.ndarray]:
        b, c = self.drift_matrix, one * self.drift_offset
        noise = self.gamma * self._noise(m, second, one)
        return c - b @ m, np.outer(c, m) + np.outer(m, c) - b @ second - second @ b.T + noise

    def _noise(self, m: np.ndarray, second: np.ndarray, one: float) -> np.ndarray:
        cov = self.covariance
        return (one * cov.constant + np.einsum("k,kij->ij", m, cov.linear)
                + np.einsum("kl,klij->ij", second, cov.quadratic))

    def _euler_step(self, m: np.ndarray, second: np.ndarray, one: float, h: float) -> tuple[np.ndarray, np.ndarray]:
        a = np.eye(self.d) - h * self.drift_matrix
        c = h * self.drift_offset
        am = a @ m
        return am + one * c, (a @ second @ a.T + np.outer(am, c) + np.outer(c, am) + one * np.outer(c, c)
                              + self.gamma * h * self._noise(m, second, one))

    def _matrix(self, apply: Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]],
                keep_one: bool) -> np.ndarray:
        d = self.d
        size = 1 + d + d * d
        out = np.zeros((size, size))
        for j in range(size):
            z = np.zeros(size)
            z[j] = 1.0
            m, second = apply(z[1:1 + d], z[1 + d:].reshape(d, d), z[0])
            out[0, j] = z[0] if keep_one else 0.0
            out[1:1 + d, j] = m
            out[1 + d:, j] = second.reshape(-1)
        return out

    def generator(self) -> np.ndarray:
        """G with :math:`\\dot z = Gz`, :math:`z = (1, m, \\mathrm{vec}\\,M)`."""
        return self._matrix(self._flow, keep_one=False)

    def euler_maruyama_map(self, h: float) -> np.ndarray:
        """P with z' = P z for one Euler–Maruyama step of size h (exact)."""
        return self._matrix(lambda m, s, one: self._euler_step(m, s, one, h), keep_one=True)

    def moments(self, times: np.ndarray, m0: np.ndarray, second0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact (m(t), M(t)) at each time, shapes (times, d) and (times, d, d)."""
        g = self.generator()
        z0 = np.concatenate([[1.0], m0, second0.reshape(-1)])
        zs = np.stack([expm(g * float(time)) @ z0 for time in np.atleast_1d(times)])
        return zs[:, 1:1 + self.d], zs[:, 1 + self.d:].reshape(-1, self.d, self.d)

    def euler_maruyama_moments(self, steps: int, h: float, m0: np.ndarray,
                               second0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact (m, M) after ``steps`` Euler–Maruyama steps of size h."""
        z = np.linalg.matrix_power(self.euler_maruyama_map(h), steps) @ np.concatenate(
            [[1.0], m0, second0.reshape(-1)])
        return z[1:1 + self.d], z[1 + self.d:].reshape(self.d, self.d)

    def stationary(self) -> tuple[np.ndarray, np.ndarray]:
        """The fixed point (m, M) of the moment ODE (finite when every other eigenvalue of G has negative real part)."""
        g = self.generator()[1:, 1:]
        rhs = -self.generator()[1:, 0]
        z = np.linalg.solve(g, rhs)
        return z[:self.d], z[self.d:].reshape(self.d, self.d)

    def second_moment_operator(self, basis: np.ndarray | None = None) -> np.ndarray:
        r"""The homogeneous part :math:`M \mapsto -BM - MB^\top + \gamma\sum_{kl}M_{kl}A_2^{(kl)}` as a matrix on
        vec N, with :math:`M = UNU^\top` for the orthonormal columns U of ``basis`` (all of R^d by default): the
        law of a model with :math:`c = 0`, :math:`A_0 = 0`, :math:`A_1 = 0` that lives on range U."""
        u = np.eye(self.d) if basis is None else basis
        r = u.shape[1]
        out = np.zeros((r * r, r * r))
        for j in range(r * r):
            n_ = np.zeros(r * r)
            n_[j] = 1.0
            second = u @ n_.reshape(r, r) @ u.T
            flow = (-self.drift_matrix @ second - second @ self.drift_matrix.T
                    + self.gamma * np.einsum("kl,klij->ij", second, self.covariance.quadratic))
            out[:, j] = (u.T @ flow @ u).reshape(-1)
        return out

    def second_moment_decay_rate(self, basis: np.ndarray | None = None) -> float:
        """Minus the spectral abscissa of :meth:`second_moment_operator`: the exact exponential rate of
        E|delta_t|^2 (noiseless form) for generic starts on range U."""
        return float(-np.max(np.linalg.eigvals(self.second_moment_operator(basis)).real))


def training_moment_model(features: np.ndarray, targets: np.ndarray, gamma: float,
                          centre: np.ndarray) -> LinearMomentModel:
    r"""The moment model of the training-loss SDE of :mod:`theory.lsq_sde` in :math:`\delta = \theta - \theta_c`
    (``centre`` :math:`\theta_c`, any point): :math:`\nabla L(\theta_c + \delta) = H\delta + \nabla L(\theta_c)`,
    so :math:`B = H = X^\top X/n`, :math:`c = -\nabla L(\theta_c)` (0 at :math:`\theta_{LS}`), and the affine factor
    :math:`\sigma(\theta_c + \delta) = S_0 + \sum_k\delta_kS_k` with
    :math:`S_0 = n^{-1/2}[r_ix_i - \nabla L(\theta_c)]_i` (:math:`r = X\theta_c - y`) and
    :math:`S_k = n^{-1/2}[x_{ik}x_i - He_k]_i`. Plain arrays in, so theory does not import solvers."""
    x = np.asarray(features, dtype=float)
    n, d = x.shape
    residuals = x @ np.asarray(centre, dtype=float) - np.asarray(targets, dtype=float)
    gradient = x.T @ residuals / n
    curvature = x.T @ x / n
    offset = (residuals[None, :] * x.T - gradient[:, None]) / np.sqrt(n)
    slopes = np.stack([(x[:, k][None, :] * x.T - curvature[:, k][:, None]) / np.sqrt(n) for k in range(d)])
    return LinearMomentModel(curvature, -gradient, QuadraticCovariance.from_affine_factor(offset, slopes), gamma)


def symmetric_basis(d: int, degree: int) -> np.ndarray:
    """Orthonormal basis (columns) of the symmetric tensors of order ``degree`` on R^d, one column per monomial."""
    orbits: dict[tuple[int, ...], list[int]] = {}
    for flat, index in enumerate(itertools.product(range(d), repeat=degree)):
        orbits.setdefault(tuple(sorted(index)), []).append(flat)
    basis = np.zeros((d**degree, len(orbits)))
    for j, members in enumerate(orbits.values()):
        basis[members, j] = 1 / math.sqrt(len(members))
    return basis


def moment_block(model: LinearMomentModel, degree: int) -> np.ndarray:
    r"""The top-degree block of the generator on homogeneous polynomials of degree p, in an orthonormal basis.

    For :math:`f = \langle F, \delta^{\otimes p}\rangle` (F symmetric) Itô's generator
    :math:`\mathcal Lf = (c - B\delta)\cdot\nabla f + \frac\gamma2\mathrm{tr}(\Sigma(\delta)\nabla^2f)` maps degree p to
    degree <= p; its degree-p part is
    :math:`-p\,F(\delta^{p-1}, B\delta) + \frac{\gamma p(p-1)}{2}\sum_{kl}\delta_k\delta_l\,
    \langle F(\delta^{p-2},\cdot,\cdot), A_2^{(kl)}\rangle`. The moments of degree <= p solve a block-triangular
    linear ODE whose diagonal blocks are these (transposed), so every moment of order <= p of the invariant law is
    finite when all blocks up to p are stable: the critical moment then exceeds p. In 1-D the block is the number
    :math:`-ph + \gamma p(p-1)v/2`, negative iff :math:`p < 1 + 2h/(\gamma v)` (CLAIMS-DETAIL 4.7); for p = 2 it is the
    adjoint of :meth:`LinearMomentModel.second_moment_operator` on symmetric matrices."""
    d, b, quadratic = model.d, model.drift_matrix, model.covariance.quadratic
    basis = symmetric_basis(d, degree)
    images = []
    for j in range(basis.shape[1]):
        f = basis[:, j].reshape((d,) * degree)
        image = -degree * np.tensordot(f, b, axes=([degree - 1], [0]))
        if degree >= 2:
            image = image + 0.5 * model.gamma * degree * (degree - 1) * np.tensordot(
                f, quadratic, axes=([degree - 2, degree - 1], [2, 3]))
        images.append(image.reshape(-1))
    return basis.T @ np.array(images).T


def moment_abscissae(model: LinearMomentModel, degrees: range) -> np.ndarray:
    """Spectral abscissa (largest real part of an eigenvalue) of each degree's block."""
    return np.array([float(np.max(np.linalg.eigvals(moment_block(model, p)).real)) for p in degrees])
