r"""Exact first and second moments of minibatch SGD on a finite dataset with affine per-sample gradients, when the
minibatch of each step is independent of the iterate (b i.i.d. uniform indices, or one fresh uniform b-subset per
step).

Per-sample gradients :math:`g_i(\theta) = A_i\theta - c_i` (least squares: :math:`A_i = x_ix_i^\top`,
:math:`c_i = x_iy_i`). On :math:`\tilde\theta = (1, \theta)` one step on the batch B is
:math:`\tilde\theta' = T_B\tilde\theta`, where

.. math:: T_i = \begin{pmatrix}1 & 0\\ \eta c_i & I - \eta A_i\end{pmatrix},\qquad
          T_B = \frac1{|B|}\sum_{i \in B} T_i

(the mean of the per-sample gradients is the mean of the per-sample affine maps). When :math:`B_k` is independent
of :math:`\tilde\theta_k`, :math:`\tilde M_k = E\,\tilde\theta_k\tilde\theta_k^\top` (its first column holds the
mean, the rest the uncentred second moment) obeys :math:`\tilde M_{k+1} = E[T_B\tilde M_kT_B^\top]`, i.e. with
row-major vec, :math:`\operatorname{vec}\tilde M_{k+1} = E[T_B \otimes T_B]\operatorname{vec}\tilde M_k`, and

.. math:: E[T_B \otimes T_B] = \bar T \otimes \bar T + \frac{f}{N}\sum_i (T_i - \bar T) \otimes (T_i - \bar T),

because every entry of :math:`T_B \otimes T_B` is a product of two batch means, and two batch means of per-sample
quantities have f times their population covariance: f = 1/b for b i.i.d. uniform indices and
:math:`f = (N - b)/(b(N - 1))` for a uniform b-subset (Cochran, *Sampling Techniques*, 1977, Thm 2.2;
:mod:`sgd_conformance.theory.minibatch` derives both by enumeration). The recursion is exact; it is *not* the law
of consecutive batches of one reshuffled epoch, which depend on each other and hence on :math:`\theta_k`.
For single-sample SGD with replacement (b = 1, f = 1) it is the moment map of
:mod:`sgd_conformance.checks.oracles.lsq_sde_sgd`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sgd_conformance.theory import minibatch


@dataclasses.dataclass(frozen=True)
class MinibatchMoments:
    """The exact moment map :math:`E[T_B \\otimes T_B]` of one SGD step (``operator``, (D^2, D^2), D = d + 1)."""

    operator: np.ndarray
    d: int

    @classmethod
    def least_squares(cls, features: np.ndarray, targets: np.ndarray, step: float, batch: int,
                      replacement: bool) -> MinibatchMoments:
        """SGD on :math:`\\frac1{2N}\\|X\\theta - y\\|^2` with step ``step`` and minibatches of ``batch`` i.i.d.
        indices (``replacement``) or one uniform ``batch``-subset per step."""
        n, d = features.shape
        maps = np.zeros((n, d + 1, d + 1))
        maps[:, 0, 0] = 1.0
        maps[:, 1:, 0] = step * features * targets[:, None]
        maps[:, 1:, 1:] = np.eye(d) - step * features[:, :, None] * features[:, None, :]
        mean = maps.mean(axis=0)
        spread = maps - mean
        population = np.einsum("nij,nkl->ikjl", spread, spread).reshape((d + 1) ** 2, (d + 1) ** 2) / n
        factor = float(minibatch.covariance_factor(n, batch, replacement))
        return cls(np.kron(mean, mean) + factor * population, d)

    def path(self, theta0: np.ndarray, steps: int) -> np.ndarray:
        """:math:`\\tilde M_0 .. \\tilde M_K` from the point ``theta0``: (steps + 1, d + 1, d + 1)."""
        start = np.concatenate([[1.0], theta0])
        out = np.empty((steps + 1, (self.d + 1) ** 2))
        out[0] = np.outer(start, start).reshape(-1)
        for k in range(steps):
            out[k + 1] = self.operator @ out[k]
        return out.reshape(steps + 1, self.d + 1, self.d + 1)

    def stationary(self) -> np.ndarray:
        """The fixed point :math:`\\tilde M_\\infty` with :math:`(\\tilde M_\\infty)_{00} = 1` (the spectral radius of
        the map off its constant entry is below 1 for a stable step)."""
        system = self.operator - np.eye(self.operator.shape[0])
        rest = np.linalg.solve(system[1:, 1:], -system[1:, 0])
        return np.concatenate([[1.0], rest]).reshape(self.d + 1, self.d + 1)


def mean(augmented: np.ndarray) -> np.ndarray:
    """:math:`E\\theta` from :math:`\\tilde M` (..., d + 1, d + 1)."""
    return augmented[..., 1:, 0]


def second_moment_about(augmented: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """:math:`E(\\theta - c)(\\theta - c)^\\top` from :math:`\\tilde M` (..., d + 1, d + 1)."""
    m = mean(augmented)
    return (augmented[..., 1:, 1:] - m[..., :, None] * centre[None, :] - centre[:, None] * m[..., None, :]
            + np.outer(centre, centre))


def covariance(augmented: np.ndarray) -> np.ndarray:
    """:math:`\\operatorname{Cov}\\theta` from :math:`\\tilde M` (..., d + 1, d + 1)."""
    m = mean(augmented)
    return augmented[..., 1:, 1:] - m[..., :, None] * m[..., None, :]
