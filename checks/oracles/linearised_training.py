r"""Numeric oracles of SGLD in the lazy (linearised) training regime, evaluated from
:mod:`sgd_conformance.theory.lazy_training`: the lazy-limit function-space SDE
:math:`de = -\frac1nKe\,dt + \sqrt\eta\,\sigma(e)\,dB` as a :class:`~checks.oracles.moment_equations.LinearMomentModel`,
the exact moments of :math:`e_t^\top We_t` from the closed tensor-moment ODEs, the alpha-free rate bound on a Gram
matrix and Du et al. (2019)'s infinite-width Gram on given inputs. Proved in tests/test_theory_lazy_training.py.
"""

from __future__ import annotations

import array_api_compat.numpy as xnp
import numpy as np
from scipy.linalg import expm

from sgd_conformance.checks.oracles.moment_equations import LinearMomentModel, QuadraticCovariance
from sgd_conformance.theory import lazy_training, numeric

# --- the lazy limit: exact moments and the rate bound -----------------------------------------------------------


def kernel_constants(kernel: np.ndarray) -> tuple[float, float]:
    """(lambda_0, kappa) = (lambda_min(K), max_i (K^2)_ii) of a Gram matrix."""
    k = np.asarray(kernel, dtype=float)
    return float(np.linalg.eigvalsh(k)[0]), float(np.max(np.diag(k @ k)))


def rate_bound(kernel: np.ndarray, step: float) -> float:
    """(2 lambda_0 - eta kappa)/n for ``kernel`` at eta = ``step`` (evaluated from :data:`RATE_BOUND`)."""
    lam, kap = kernel_constants(kernel)
    return float(numeric.evaluate(lazy_training.RATE_BOUND, lambda_0=lam, kappa=kap, eta=step, n=kernel.shape[0]))


def lazy_moment_model(kernel: np.ndarray, step: float) -> LinearMomentModel:
    r"""The lazy-limit function-space SDE as a :class:`LinearMomentModel` in e: B = K/n, c = 0 and the factor
    :math:`\sigma(e) = \sum_ke_kS_k`, :math:`S_k = n^{-1/2}k_k(\epsilon_k - \mathbf 1/n)^\top` (linear, no offset),
    gamma = eta. Plain arrays in (theory does not import solvers)."""
    k = np.asarray(kernel, dtype=float)
    n = k.shape[0]
    slopes = np.stack([np.outer(k[:, j], np.eye(n)[j] - 1.0 / n) for j in range(n)]) / np.sqrt(n)
    return LinearMomentModel(k / n, np.zeros(n), QuadraticCovariance.from_affine_factor(np.zeros((n, n)), slopes),
                             step)


def lazy_deviation_second_moment(kernel: np.ndarray, targets: np.ndarray, mean: np.ndarray,
                                 second: np.ndarray) -> float:
    r"""E|v|^2 for the lazy-limit parameter deviation :math:`v = \alpha(\omega - \omega_0)` from E e = ``mean`` and
    E ee' = ``second``: v moves in range J_0' only, :math:`v = J_0^\top K^{-1}(e + y)`, so
    :math:`|v|^2 = (e + y)^\top K^{-1}(e + y)` and
    :math:`E|v|^2 = \mathrm{tr}\,K^{-1}(M + my^\top + ym^\top + yy^\top)`."""
    y = np.asarray(targets, dtype=float)
    return float(np.trace(np.linalg.solve(kernel, second + np.outer(mean, y) + np.outer(y, mean) + np.outer(y, y))))


def noise_matrices(kernel: np.ndarray, step: float) -> list[np.ndarray]:
    """C_i with sqrt(eta) sigma_i(e) = C_i e: the lazy limit is de = -(K/n) e dt + sum_i C_i e dB^i."""
    k = np.asarray(kernel, dtype=float)
    n = k.shape[0]
    return [np.sqrt(step / n) * np.outer(k[:, i], np.eye(n)[i]) - np.sqrt(step / n) * k / n for i in range(n)]


def tensor_generator(drift: np.ndarray, noise: list[np.ndarray], order: int) -> np.ndarray:
    r"""Generator of :math:`E\,e^{\otimes p}` for :math:`de = -Be\,dt + \sum_iC_ie\,dB^i` (Itô): one drift term per
    tensor slot and one noise pair :math:`C_i \otimes C_i` per two slots (full tensor space, d^p)."""
    r = drift.shape[0]

    def slot(a: np.ndarray, index: int) -> np.ndarray:
        out = np.ones((1, 1))
        for i in range(order):
            out = np.kron(out, a if i == index else np.eye(r))
        return out

    total = sum((slot(-drift, i) for i in range(order)), np.zeros((r**order, r**order)))
    for c in noise:
        for i in range(order):
            for j in range(i + 1, order):
                total = total + slot(c, i) @ slot(c, j)
    return total


def lazy_quadratic_moments(kernel: np.ndarray, step: float, start: np.ndarray, weight: np.ndarray,
                           times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact mean and standard deviation of :math:`e_t^\top We_t` in the lazy limit from :math:`e_0` = ``start``:
    :math:`E\,e^{\otimes2}` and :math:`E\,e^{\otimes4}` solve closed linear ODEs (:func:`tensor_generator`), so
    :math:`E[e^\top We] = \langle W, E e^{\otimes 2}\rangle` and :math:`E[(e^\top We)^2] = \langle W\otimes W,
    E e^{\otimes4}\rangle`. Finite when the order-4 generator is stable (p_crit > 4)."""
    k = np.asarray(kernel, dtype=float)
    n = k.shape[0]
    noise = noise_matrices(k, step)
    second_gen, fourth_gen = tensor_generator(k / n, noise, 2), tensor_generator(k / n, noise, 4)
    e0 = np.asarray(start, dtype=float)
    z2 = np.kron(e0, e0)
    z4 = np.kron(z2, z2)
    w2 = np.asarray(weight, dtype=float).reshape(-1)
    means, sds = [], []
    for t in np.atleast_1d(times):
        mean = float(w2 @ (expm(second_gen * float(t)) @ z2))
        square = float(np.kron(w2, w2) @ (expm(fourth_gen * float(t)) @ z4))
        means.append(mean)
        sds.append(np.sqrt(max(square - mean**2, 0.0)))
    return np.array(means), np.array(sds)


# --- Du et al. (2019): the infinite-width Gram of the first layer ------------------------------------------------


def du_gram(inputs: np.ndarray) -> np.ndarray:
    """H_inf on unit ``inputs`` (N, d), from :func:`du_gram_entry` through the one lambdify site."""
    x = np.asarray(inputs, dtype=float)
    c = np.clip(x @ x.T, -1.0, 1.0)
    entry = numeric.compile(lazy_training.du_gram_entry(), (lazy_training.cosine,))
    return np.asarray(entry(xnp, c), dtype=float) + 0 * c
