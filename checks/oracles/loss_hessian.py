r"""The exact Hessian of the squared loss of the suite's two-layer network (:mod:`sgd_conformance.solvers.two_layer`).

For :math:`L(\theta) = \frac1{2N}\sum_k (f(x_k; \theta) - y_k)^2`,

.. math:: \nabla^2 L = \frac1N \sum_k \big(\nabla f_k \nabla f_k^\top + r_k \nabla^2 f_k\big),
          \qquad r_k = f(x_k) - y_k,

with the analytic Jacobian :math:`\nabla f_k` and the block-diagonal :math:`\nabla^2 f_k` (one
:math:`(d + 1) \times (d + 1)` block per neuron, no cross-neuron terms) of the network: no finite differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sgd_conformance.solvers import two_layer


def squared_loss_hessian(params: two_layer.Params, x: np.ndarray, y: np.ndarray, *, activation_name: str,
                         scaling: str = "ntk") -> np.ndarray:
    r""":math:`\nabla^2 L` of :math:`L = \frac1{2N}\sum_k (f(x_k) - y_k)^2` for every leading batch of ``params``,
    shape ``(..., p, p)`` in the coordinates of :func:`two_layer.flatten` (a_1..a_n, w_11..w_nd)."""
    n, d = params.w.shape[-2:]
    kw: dict[str, Any] = {"activation_name": activation_name, "scaling": scaling}
    jac = two_layer.flat_jacobian(params, x, **kw)
    residual = two_layer.forward(params, x, **kw) - y
    hessian = np.einsum("...kp,...kq->...pq", jac, jac)
    blocks = sum(residual[..., k, None, None, None] * two_layer.hessian_blocks(params, x[k], **kw)
                 for k in range(len(x)))
    index = np.column_stack([np.arange(n), n + d * np.arange(n)[:, None] + np.arange(d)])  # (a_i, w_i.) per neuron
    hessian[..., index[:, :, None], index[:, None, :]] += blocks
    return hessian / len(x)


def squared_loss_sharpness(params: two_layer.Params, x: np.ndarray, y: np.ndarray, *,
                           activation_name: str) -> np.ndarray:
    r""":math:`\lambda_{\max}` of the Hessian of the mean squared loss :math:`\frac1N\sum_k (f(x_k) - y_k)^2` (twice
    :func:`squared_loss_hessian`), per leading batch of ``params``."""
    return np.linalg.eigvalsh(2 * squared_loss_hessian(params, x, y, activation_name=activation_name))[..., -1]
