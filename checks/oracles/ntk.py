r"""Exact oracles of the NTK claims (Ruthotto, Lecture 4): what the two-layer network of :mod:`solvers.two_layer`
must give, evaluated from the derivations of :mod:`theory.ntk`.

- the per-neuron Jacobian :math:`\partial f/\partial a_i = n^{-1/2}\sigma(w_i^\top x)`,
  :math:`\partial f/\partial w_{ij} = n^{-1/2}a_i\sigma'(w_i^\top x)x_j`, differentiated by sympy;
- the law of :math:`\sigma(Z)`, Z ~ N(0, 1), which :math:`\sqrt n\,\partial f/\partial a_i` has at every width;
- the infinite-width ReLU kernel :math:`K_\infty` (arc-cosine kernels :math:`J_0`, :math:`J_1`) on given inputs;
- the spectral norm of the Hessian, :math:`\max_i (|c_i| + \sqrt{c_i^2 + 4b_i^2})/(2\sqrt n)`,
  :math:`b_i = \sigma'(z_i)\|x\|`, :math:`c_i = a_i\sigma''(z_i)\|x\|^2`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats as sps

from sgd_conformance.theory import ntk, numeric


def neuron_jacobian(name: str, d: int) -> Callable[[np.ndarray, np.ndarray, np.ndarray, int], tuple[Any, Any]]:
    """``jacobian(a, w, x, n) -> (df/da (..., n), df/dw (..., n, d))`` of activation ``name`` from the sympy
    derivative (:func:`theory.ntk.neuron_jacobian`), for parameters ``a (..., n)``, ``w (..., n, d)`` and one input
    ``x (d,)`` (NumPy)."""
    grads, args = ntk.neuron_jacobian(name, d)
    compiled = [numeric.compile(g, args) for g in grads]

    def jacobian(a: np.ndarray, w: np.ndarray, x: np.ndarray, n: int) -> tuple[Any, Any]:
        cols = [w[..., k] for k in range(d)]
        sym = [np.broadcast_to(g(np, a, *cols, *x, float(n)), a.shape) for g in compiled]
        return sym[0], np.stack(sym[1:], axis=-1)

    return jacobian


def activation_law(name: str, sample: np.ndarray) -> tuple[np.ndarray, Any]:
    """The continuous part of the law of sigma(Z), Z ~ N(0, 1), and its exact CDF: tanh(Z) has CDF Phi(artanh t);
    relu(Z) has an atom 1/2 at 0 (tested separately) and, given > 0, the half-normal CDF 2 Phi(t) - 1."""
    if name == "relu":
        return sample[sample > 0], lambda t: 2 * sps.norm.cdf(t) - 1
    return sample, lambda t: sps.norm.cdf(np.arctanh(np.clip(t, -1.0, 1.0)))


def infinite_width_gram(inputs: np.ndarray) -> np.ndarray:
    r""":math:`K_\infty(x_i, x_j)` of the two-layer ReLU net with w ~ N(0, I/d), a ~ N(0, 1) on the rows of
    ``inputs (N, d)``: :func:`theory.ntk.ntk_infinite` at their norms and angles, shape ``(N, N)``."""
    d = inputs.shape[1]
    norms = np.linalg.norm(inputs, axis=1)
    angles = np.arccos(np.clip(inputs @ inputs.T / np.outer(norms, norms), -1.0, 1.0))
    kinf = numeric.compile(ntk.ntk_infinite(), (ntk.norm_x, ntk.norm_y, ntk.theta, ntk.d))
    return np.asarray(kinf(np, norms[:, None], norms[None, :], angles, float(d)))


def hessian_norm(name: str) -> Callable[[np.ndarray, np.ndarray, float, int], np.ndarray]:
    r"""``norm(a, z, r, n) -> ||Hess f||_2``, shape ``(...)``: the largest per-neuron block norm
    (:func:`theory.ntk.hessian_block_norm`) over the neurons of ``a (..., n)``, ``z = w x (..., n)``, r = ||x||."""
    closed = numeric.compile(ntk.hessian_block_norm(name), (ntk.a_i, ntk.z, ntk.r, ntk.n))

    def norm(a: np.ndarray, z: np.ndarray, r: float, n: int) -> np.ndarray:
        return np.asarray(np.max(closed(np, a, z, r, float(n)) + np.zeros_like(a), axis=-1))

    return norm
