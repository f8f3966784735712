r"""The mean-field potential of a two-layer network, built from its definition (not from the network's risk).

For :math:`f(x) = \frac1n\sum_j \sigma_*(x; \theta_j)` and a data law of (x, y),
:math:`V(\theta) = -E[y\,\sigma_*(x;\theta)]`, :math:`U(\theta, \theta') = E[\sigma_*(x;\theta)\sigma_*(x;\theta')]`
and :math:`\Psi(\theta; \rho) = V(\theta) + \int U(\theta, \theta')\,d\rho(\theta')` (Mei, Montanari & Nguyen 2018).
"""

from __future__ import annotations

import numpy as np

from sgd_conformance.solvers import two_layer


def potential_gradient(params: two_layer.Params, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r""":math:`\nabla_\theta\Psi(\theta_j;\hat\rho_n) = \nabla V(\theta_j)
    + \frac1n\sum_i \nabla_\theta U(\theta_j, \theta_i)` for every particle, shape ``(n, d + 1)`` with columns
    :math:`(a_j, w_j)`: unit :math:`\sigma_*(x;(a, w)) = a\tanh(w^\top x)`, data law = the N points ``(x, y)``."""
    z = x @ params.w.T  # (N, n)
    units = params.a * np.tanh(z)  # sigma_*(x_k; theta_i)
    grad_units = np.concatenate([np.tanh(z)[..., None],
                                 (params.a * (1 - np.tanh(z) ** 2))[..., None] * x[:, None, :]], axis=-1)
    grad_v = -np.mean(y[:, None, None] * grad_units, axis=0)
    grad_u = np.mean(units.mean(axis=1)[:, None, None] * grad_units, axis=0)  # (1/n) sum_i E[sigma_i grad sigma_j]
    return grad_v + grad_u
