r"""Exact moments of single-sample SGD on the fixed noisy least-squares problem of ``lsq-sde.variance-reduction``
(Schertzer & Pillaud-Vivien, JMLR 2026, §4.2.3): the moment map of one step, its fixed point and small-step limit, and
the exact mean-square error
of Polyak averages.
The derivation is in the docstring of :mod:`checks.lsq_sde_sgd`; the maps are the Euler–Maruyama maps
of the training-loss moment model (:mod:`checks.oracles.moment_equations`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy.linalg import solve_continuous_lyapunov

from sgd_conformance.checks.oracles.moment_equations import LinearMomentModel, training_moment_model

FEATURES = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0], [2.0, 0.5], [-0.5, 1.0], [1.5, -1.0],
                     [0.5, 1.5]])
TARGETS = np.array([1.0, -1.0, 0.5, 2.0, 1.0, 0.0, -0.5, 1.0])
LARGEST_SQUARED_NORM = float(np.max(np.sum(FEATURES**2, axis=1)))  # 4.25: gamma < 2/4.25 keeps all moments finite


@dataclasses.dataclass(frozen=True)
class SgdMoments:
    r"""Exact moments :math:`z = (1, m, \mathrm{vec}M)` of :math:`\delta = \theta - \theta_{LS}` for single-sample
    SGD on (``FEATURES``, ``TARGETS``): one step is :math:`z \mapsto P(\gamma)z`,
    :math:`P(\gamma) = P_0 + \gamma P_1 + \gamma^2P_2`, the Euler–Maruyama map with h = gamma of the training-loss
    moment model whose gamma is gamma (noise gamma * h = gamma^2), read off at gamma = 0, 1/2, 1 (exact: A = I -
    gamma H is linear and the noise quadratic in gamma)."""

    model: LinearMomentModel
    centre: np.ndarray
    coefficients: tuple[np.ndarray, np.ndarray, np.ndarray]

    @classmethod
    def of_problem(cls) -> SgdMoments:
        centre = np.linalg.lstsq(FEATURES, TARGETS, rcond=None)[0]
        model = training_moment_model(FEATURES, TARGETS, 1.0, centre)
        p0, half, one = (dataclasses.replace(model, gamma=g).euler_maruyama_map(g) for g in (0.0, 0.5, 1.0))
        p2 = 2.0 * (one - 2.0 * half + p0)
        return cls(model, centre, (p0, one - p0 - p2, p2))

    @property
    def d(self) -> int:
        return self.model.d

    @property
    def curvature(self) -> np.ndarray:
        return self.model.drift_matrix

    def step_map(self, gamma: float) -> np.ndarray:
        p0, p1, p2 = self.coefficients
        return p0 + gamma * p1 + gamma**2 * p2

    def start(self, theta0: np.ndarray) -> np.ndarray:
        delta = theta0 - self.centre
        return np.concatenate([[1.0], delta, np.outer(delta, delta).reshape(-1)])

    def path(self, z0: np.ndarray, steps: Sequence[float] | np.ndarray) -> np.ndarray:
        """z_0 .. z_K for the step sizes ``steps`` (length K): the product of the per-step maps, (K + 1, size)."""
        p0, p1, p2 = self.coefficients
        out = np.empty((len(steps) + 1, z0.size))
        out[0] = z = z0
        for k, g in enumerate(steps):
            z = p0 @ z + g * (p1 @ z) + g * g * (p2 @ z)
            out[k + 1] = z
        return out

    def burn_in(self, gamma: float, tolerance: float, horizon: int = 4000) -> tuple[int, np.ndarray]:
        """(burn, z_0 .. z_horizon) for the fixed step gamma from theta_0 = 0: the first k at which every moment is
        within ``tolerance`` tr M_inf of the fixed point, and the exact path."""
        stationary = self.fixed_point(gamma)
        path = self.path(self.start(np.zeros(self.d)), [gamma] * horizon)
        gap = np.max(np.abs(path - stationary), axis=1) / float(self.trace(stationary))
        burn = int(np.argmax(gap < tolerance))
        if burn == 0 or gap[burn] >= tolerance:
            raise ValueError(f"the exact transient at gamma = {gamma} did not decay within {horizon} steps")
        return burn, path

    def decaying(self, gamma0: float, k0: float, q: float,
                 windows: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The law's steps gamma_k = gamma0/(k + k0)^q (from theta_k to theta_(k+1)), k < the last window's end, the
        exact tr M_k from theta_0 = 0 (the product of the per-step maps), and per window [lo, hi) the mean of tr M_k
        and the mean of the steps that led there."""
        law = gamma0 / (np.arange(windows[-1][1]) + k0) ** q
        traces = self.trace(self.path(self.start(np.zeros(self.d)), law))
        return (law, traces, np.array([traces[lo:hi].mean() for lo, hi in windows]),
                np.array([law[lo - 1:hi - 1].mean() for lo, hi in windows]))

    def second(self, z: np.ndarray) -> np.ndarray:
        """M from moment vectors (..., size) -> (..., d, d)."""
        return z[..., 1 + self.d:].reshape(*z.shape[:-1], self.d, self.d)

    def trace(self, z: np.ndarray) -> np.ndarray:
        """E|delta|^2 = tr M from moment vectors."""
        return np.trace(self.second(z), axis1=-2, axis2=-1)

    def fixed_point(self, gamma: float) -> np.ndarray:
        """The stationary z = P(gamma) z (first entry 1)."""
        p = self.step_map(gamma)
        return np.concatenate([[1.0], np.linalg.solve(np.eye(p.shape[0] - 1) - p[1:, 1:], p[1:, 0])])

    def small_step_limit(self) -> np.ndarray:
        r""":math:`M_0 = \lim M_\infty(\gamma)/\gamma`: :math:`HM_0 + M_0H = C_0`,
        :math:`C_0 = E\Sigma(\theta_{LS})` (the model's constant covariance term)."""
        return solve_continuous_lyapunov(self.curvature, self.model.covariance.constant)

    def polyak_constant(self, gamma: float) -> tuple[float, float]:
        r""":math:`\lim_k kE|\bar\delta_k|^2 = \mathrm{tr}((2(\gamma H)^{-1} - I)M_\infty)` and the same number as
        :math:`\mathrm{tr}(H^{-1}E_\infty[\Sigma]H^{-1})` (equal by the fixed-point equation)."""
        m_inf = self.second(self.fixed_point(gamma))
        inverse = np.linalg.inv(self.curvature)
        geometric = float(np.trace((2 * inverse / gamma - np.eye(self.d)) @ m_inf))
        noise = self.model.covariance.expectation(np.zeros(self.d), m_inf)
        return geometric, float(np.trace(inverse @ noise @ inverse))


def enumerated_step(delta: np.ndarray, gamma: float, centre: np.ndarray) -> np.ndarray:
    """(E delta', vec E delta' delta'') for delta' = delta - gamma g_i(theta_LS + delta), by enumerating i."""
    residuals = FEATURES @ (centre + delta) - TARGETS
    after = delta[None, :] - gamma * residuals[:, None] * FEATURES
    return np.concatenate([after.mean(axis=0), (after.T @ after).reshape(-1) / FEATURES.shape[0]])


def polyak_exact(seconds: np.ndarray, a_matrix: np.ndarray, ks: np.ndarray) -> np.ndarray:
    r""":math:`E|\bar\delta_k|^2` of the average of :math:`\delta_1..\delta_k` with exact :math:`M_j` (W, d, d) and
    :math:`E[\delta_j \mid \delta_i] = A^{j-i}\delta_i`: :math:`k^{-2}[\sum_j\mathrm{tr}M_j + 2\sum_j\mathrm{tr}U_j]`,
    :math:`U_j = \sum_{i<j}A^{j-i}M_i = A(U_{j-1} + M_{j-1})`."""
    sums, total, u = np.empty(seconds.shape[0]), 0.0, np.zeros_like(seconds[0])
    for j in range(seconds.shape[0]):
        if j:
            u = a_matrix @ (u + seconds[j - 1])
        total += float(np.trace(seconds[j])) + 2.0 * float(np.trace(u))
        sums[j] = total
    return sums[ks - 1] / ks.astype(float) ** 2


def polyak_stationary(second: np.ndarray, curvature: np.ndarray, gamma: float, ks: np.ndarray) -> np.ndarray:
    r""":math:`k^{-2}[k\,\mathrm{tr}M + 2\sum_{m=1}^{k-1}(k - m)\mathrm{tr}(A^mM)]` on the eigenbasis of H
    (:math:`a = 1 - \gamma h`): :math:`\sum_{m=1}^{k-1}(k-m)a^m = a[(k-1) - a(1 - a^{k-1})/(1-a)]/(1-a)`."""
    values, vectors = np.linalg.eigh(curvature)
    weights = np.diag(vectors.T @ second @ vectors)
    a, k = 1.0 - gamma * values, ks.astype(float)
    series = a * ((k[:, None] - 1) - a * (1 - a ** (k[:, None] - 1)) / (1 - a)) / (1 - a)
    return (k * weights.sum() + 2.0 * (series @ weights)) / k**2
