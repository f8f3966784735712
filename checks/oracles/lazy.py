r"""Exact oracles of the lazy-SGLD checks (Oberweis & Cayci (TMLR 2026, arXiv 2510.21245)): the fixed lazy-training
problem with its kernel constants, the exact moments of the lazy limit, per-sample gradients independent of the
solver, and the moment generator read off the solver's fields.

Problem: the suite's two-layer tanh network (:mod:`solvers.two_layer`), m = 16 (8 neurons doubled antisymmetrically,
so :math:`h(\omega_0) = 0`), 4 inputs; :math:`K_0 = J_0J_0^\top`, :math:`\lambda_0 = \lambda_{\min}(K_0)`,
:math:`\kappa = \max_i|k_i|^2` (:func:`theory.lazy_training.kernel_constants`). In the lazy limit the residual
:math:`e = J_0v - y` solves the alpha-free linear SDE
:math:`de = -\frac1nK_0e\,dt + \sqrt\eta\,n^{-1/2}\sum_i(e_ik_i - K_0e/n)\,dB^i`, whose first and second moments solve
a closed linear ODE (:func:`theory.lazy_training.lazy_moment_model`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import array_api_compat.numpy as xnp
import numpy as np
from scipy.linalg import expm

from sgd_conformance.checks.oracles import linearised_training
from sgd_conformance.checks.oracles.moment_equations import LinearMomentModel, QuadraticCovariance
from sgd_conformance.solvers import two_layer
from sgd_conformance.solvers.lazy_sgld import LazySGLD, antisymmetric_init
from sgd_conformance.solvers.rng import generator
from sgd_conformance.theory import ntk, numeric

RADIUS = 2.5  #: inputs on the half circle of this radius
ANGLES = np.pi * np.array([1, 3, 5, 7]) / 8
TARGETS = np.array([1.5, -1.3, 1.8, -1.6])
HALF_WIDTH = 8  #: neurons drawn; doubled antisymmetrically to m = 16
NETWORK_DRAW = 4  #: the best-conditioned (largest 2 lambda_0/kappa) of the draws 0..19 of the problem stream
ETA = 0.08  #: SGLD noise scale: eta < 2 lambda_0/kappa = 0.304 (the rate bound is positive); small enough that
#: the compared quadratic forms are not too heavy-tailed (skewness ~2, kurtosis < 16) for CLT decisions


@dataclass(frozen=True)
class Problem:
    """The lazy-training problem: network at initialisation, data, K_0 and its constants."""

    init: two_layer.Params
    inputs: np.ndarray
    targets: np.ndarray
    kernel0: np.ndarray
    lam0: float
    kappa: float

    def model(self, alpha_scale: float, linearised: bool = False, eta: float = ETA) -> LazySGLD:
        return LazySGLD(self.init, self.inputs, self.targets, eta, alpha_scale, linearised=linearised)


@cache
def problem() -> Problem:
    """Two-layer tanh net, m = 16 (8 neurons, Rademacher a, w ~ N(0, I/2), each doubled as (-a, w): h(omega_0) = 0),
    4 inputs of norm 2.5 at angles pi(1, 3, 5, 7)/8, y = (1.5, -1.3, 1.8, -1.6)."""
    half = two_layer.init(generator(NETWORK_DRAW, "sgld-lazy", "problem"), n=HALF_WIDTH, d=2, a_law="rademacher")
    init = antisymmetric_init(half)
    inputs = RADIUS * np.column_stack([np.cos(ANGLES), np.sin(ANGLES)])
    kernel0 = LazySGLD(init, inputs, TARGETS, ETA, 1.0).kernel0
    lam0, kappa = linearised_training.kernel_constants(kernel0)
    return Problem(init, inputs, TARGETS, kernel0, lam0, kappa)


def lazy_moments(times: np.ndarray, eta: float = ETA) -> tuple[np.ndarray, np.ndarray]:
    """Exact (E e_t, E e_t e_t') of the lazy limit from e_0 = -y at ``times``."""
    p = problem()
    y = p.targets
    return linearised_training.lazy_moment_model(p.kernel0, eta).moments(times, -y, np.outer(y, y))


def sympy_gradients(p: Problem, omega: np.ndarray) -> np.ndarray:
    """grad h_i(omega) from the sympy derivative of one neuron (:func:`theory.ntk.neuron_jacobian`), independent of
    :mod:`solvers.two_layer`, (states, n, p) in the order of :func:`solvers.two_layer.flatten`."""
    grads, args = ntk.neuron_jacobian("tanh", 2)
    compiled = [numeric.compile(g, args) for g in grads]
    m = p.init.a.size
    params = two_layer.unflatten(omega, m, 2)
    a, w = params.a, params.w
    out = np.zeros((omega.shape[0], p.inputs.shape[0], omega.shape[1]))
    for i, x in enumerate(p.inputs):
        values = [np.broadcast_to(g(xnp, a, w[..., 0], w[..., 1], x[0], x[1], float(m)), a.shape) for g in compiled]
        out[:, i, :m] = values[0]
        out[:, i, m:] = np.stack(values[1:], axis=-1).reshape(omega.shape[0], -1)
    return out


def function_space_generator(model: LazySGLD) -> np.ndarray:
    """The moment generator of e = a J_0 (omega - omega_0) - y read off the linearised solver's fields: drift matrix
    B from a J_0 drift (linear in e) and the covariance of a J_0 diffusion by polarisation (quadratic in e)."""
    alpha = float(model.alpha_scale)
    j0 = model.jacobian0
    pinv = np.linalg.pinv(alpha * j0)

    def at(e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        omega = model.omega0 + pinv @ (e + model.targets)
        return alpha * j0 @ model.drift(omega[None])[0], alpha * j0 @ model.diffusion(omega[None])[0]

    n = model.n
    drift = -np.column_stack([at(e)[0] for e in np.eye(n)])
    covariance = QuadraticCovariance.from_function(lambda e: at(e)[1] @ at(e)[1].T / model.eta, n)
    return LinearMomentModel(drift, np.zeros(n), covariance, model.eta).generator()


def squared_norm_law(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact mean and covariance of :math:`(|e_t|^2)_t` at ``times`` (increasing) in the lazy limit from
    :math:`e_0 = -y`: with :math:`G_p` the generator of :math:`E\,e^{\otimes p}`
    (:func:`checks.oracles.linearised_training.tensor_generator`) and w = vec I, :math:`E|e_t|^2 =
    w^\top e^{G_2t}e_0^{\otimes2}` and, by the Markov property, :math:`E[|e_s|^2|e_t|^2] = (w\otimes
    e^{G_2^\top(t-s)}w)^\top e^{G_4s}e_0^{\otimes4}` for s <= t."""
    p = problem()
    n = p.kernel0.shape[0]
    noise = linearised_training.noise_matrices(p.kernel0, ETA)
    second = linearised_training.tensor_generator(p.kernel0 / n, noise, 2)
    fourth = linearised_training.tensor_generator(p.kernel0 / n, noise, 4)
    start = np.kron(p.targets, p.targets)
    w = np.eye(n).reshape(-1)
    mean = np.array([w @ expm(second * t) @ start for t in times])
    cov = np.empty((times.size, times.size))
    for i, s in enumerate(times):
        tensor = expm(fourth * s) @ np.kron(start, start)
        for j in range(i, times.size):
            cov[i, j] = cov[j, i] = np.kron(w, expm(second.T * (times[j] - s)) @ w) @ tensor - mean[i] * mean[j]
    return mean, cov
