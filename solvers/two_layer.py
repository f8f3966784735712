r"""The one two-layer network of the suite, its Jacobian, its exact per-neuron Hessian blocks and its NTK Gram matrix.

.. math:: f(x) = s_n \sum_{i=1}^n a_i\,\sigma(w_i^\top x), \qquad
   s_n = n^{-1/2}\ (\text{scaling} = \text{"ntk"}) \text{ or } n^{-1}\ (\text{"mean_field"}).

Per neuron, with :math:`z_i = w_i^\top x`: :math:`\partial f/\partial a_i = s_n\sigma(z_i)` (the lecture's
:math:`\sigma'` is a typo), :math:`\partial f/\partial w_{ik} = s_n a_i\sigma'(z_i)x_k`; the Hessian is block-diagonal
over neurons with blocks :math:`s_n\begin{pmatrix}0 & \sigma'(z_i)x^\top\\ \sigma'(z_i)x & a_i\sigma''(z_i)xx^\top
\end{pmatrix}` on :math:`(a_i, w_i)` (including the mixed a–w block the lecture omits). Source: Ruthotto, Lecture 4
(Modern Theory of SGD);
the formulas are derived in :mod:`theory.ntk`.

Arrays go through the array-API namespace; parameters carry leading batch axes ``(..., n)`` and ``(..., n, d)``
(replicate networks), inputs are ``(N, d)``. ReLU's sigma'(0) is taken as 0 (a null set under Gaussian weights).
The test inputs (:func:`unit_input`, :func:`sphere_inputs`) are drawn on the host (NumPy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from sgd_conformance.solvers import chains
from sgd_conformance.solvers._xp import namespace

ACTIVATIONS = ("relu", "tanh")
SCALINGS = ("ntk", "mean_field")
A_LAWS = ("gaussian", "rademacher")


class Params(NamedTuple):
    """Output weights ``a`` of shape ``(..., n)`` and input weights ``w`` of shape ``(..., n, d)``."""

    a: Any
    w: Any


def output_scale(n: int, scaling: str) -> float:
    """s_n = n^{-1/2} (NTK) or n^{-1} (mean field)."""
    if scaling == "ntk":
        return float(n) ** -0.5
    if scaling == "mean_field":
        return 1.0 / float(n)
    raise ValueError(f"scaling {scaling!r} not in {SCALINGS}")


def init(rng: Any, *, n: int, d: int, batch: tuple[int, ...] = (), a_law: str = "gaussian",
         w_scale: float | None = None) -> Params:
    """w_i ~ N(0, I_d/d) (``w_scale`` = sd per coordinate, default d^{-1/2}), a_i ~ N(0, 1) or Rademacher.

    ``rng`` is a NumPy or CuPy generator from :func:`solvers.rng.generator`; shapes ``(*batch, n)``,
    ``(*batch, n, d)``.
    """
    scale = d**-0.5 if w_scale is None else w_scale
    w = rng.standard_normal(size=(*batch, n, d)) * scale
    if a_law == "gaussian":
        a = rng.standard_normal(size=(*batch, n))
    elif a_law == "rademacher":
        a = 2.0 * (rng.random(size=(*batch, n)) < 0.5) - 1.0
    else:
        raise ValueError(f"a_law {a_law!r} not in {A_LAWS}")
    return Params(a=a, w=w)


def activation(name: str, xp: Any) -> tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]]:
    """(sigma, sigma', sigma'') for ``name`` on namespace ``xp``."""
    if name == "relu":
        return (lambda u: xp.maximum(u, 0.0), lambda u: xp.astype(u > 0, u.dtype), lambda u: xp.zeros_like(u))
    if name == "tanh":
        def first(u: Any) -> Any:
            return 1.0 - xp.tanh(u) ** 2

        return (xp.tanh, first, lambda u: -2.0 * xp.tanh(u) * first(u))
    raise ValueError(f"activation {name!r} not in {ACTIVATIONS}")


def preactivations(params: Params, x: Any) -> Any:
    """z[..., N, i] = w_i'x_N, shape ``(..., N, n)``."""
    xp = namespace(params.w, x)
    return x @ xp.matrix_transpose(params.w)


def forward(params: Params, x: Any, *, activation_name: str, scaling: str = "ntk") -> Any:
    """f(x) for each input, shape ``(..., N)``."""
    xp = namespace(params.w, x)
    sigma, _, _ = activation(activation_name, xp)
    scale = output_scale(params.a.shape[-1], scaling)
    return scale * xp.sum(sigma(preactivations(params, x)) * params.a[..., None, :], axis=-1)


def jacobian(params: Params, x: Any, *, activation_name: str, scaling: str = "ntk") -> tuple[Any, Any]:
    """(df/da, df/dw) of shapes ``(..., N, n)`` and ``(..., N, n, d)``: s_n sigma(z_i), s_n a_i sigma'(z_i) x."""
    xp = namespace(params.w, x)
    sigma, first, _ = activation(activation_name, xp)
    scale = output_scale(params.a.shape[-1], scaling)
    pre = preactivations(params, x)
    da = scale * sigma(pre)
    dw = (scale * params.a[..., None, :] * first(pre))[..., None] * x[:, None, :]
    return da, dw


def ntk_gram(params: Params, x: Any, *, activation_name: str, scaling: str = "ntk") -> Any:
    """Empirical NTK K = J J' over the inputs, shape ``(..., N, N)`` (J from :func:`jacobian`)."""
    xp = namespace(params.w, x)
    da, dw = jacobian(params, x, activation_name=activation_name, scaling=scaling)
    flat = xp.reshape(dw, (*dw.shape[:-2], dw.shape[-2] * dw.shape[-1]))
    return da @ xp.matrix_transpose(da) + flat @ xp.matrix_transpose(flat)


def hessian_blocks(params: Params, x: Any, *, activation_name: str, scaling: str = "ntk") -> Any:
    """Per-neuron Hessian blocks of f at one input ``x`` (shape ``(d,)``), shape ``(..., n, d + 1, d + 1)``.

    Coordinates (a_i, w_i1, ..., w_id): [[0, s sigma' x'], [s sigma' x, s a_i sigma'' x x']]; f's Hessian is the
    block-diagonal matrix of these (no cross-neuron terms).
    """
    xp = namespace(params.w, x)
    _, first, second = activation(activation_name, xp)
    scale = output_scale(params.a.shape[-1], scaling)
    pre = params.w @ x  # (..., n)
    mixed = (scale * first(pre))[..., None] * x  # (..., n, d)
    ww = (scale * params.a * second(pre))[..., None, None] * (x[:, None] * x[None, :])
    top = xp.concat([xp.zeros_like(mixed[..., :1]), mixed], axis=-1)[..., None, :]  # (..., n, 1, d + 1)
    rest = xp.concat([mixed[..., None], ww], axis=-1)  # (..., n, d, d + 1)
    return xp.concat([top, rest], axis=-2)


def hessian_norm(params: Params, x: Any, *, activation_name: str, scaling: str = "ntk") -> Any:
    """||∇²f(x)||_2 = max_i ||B_i||_2 over the exact blocks (eigenvalues of each symmetric block), shape ``(...)``."""
    xp = namespace(params.w, x)
    blocks = hessian_blocks(params, x, activation_name=activation_name, scaling=scaling)
    eig = xp.linalg.eigvalsh(blocks)
    return xp.max(xp.max(xp.abs(eig), axis=-1), axis=-1)


def flat_jacobian(params: Params, x: Any, *, activation_name: str, scaling: str = "ntk") -> Any:
    """J of shape ``(..., N, n + n d)``: columns (a_1..a_n, w_11..w_1d, ..., w_nd), the order of :func:`flatten`."""
    xp = namespace(params.w, x)
    da, dw = jacobian(params, x, activation_name=activation_name, scaling=scaling)
    return xp.concat([da, xp.reshape(dw, (*dw.shape[:-2], dw.shape[-2] * dw.shape[-1]))], axis=-1)


def flatten(params: Params) -> Any:
    """theta = (a, vec w) of shape ``(..., n + n d)`` (row-major w, as in :func:`flat_jacobian`)."""
    xp = namespace(params.a, params.w)
    w = params.w
    return xp.concat([params.a, xp.reshape(w, (*w.shape[:-2], w.shape[-2] * w.shape[-1]))], axis=-1)


def unflatten(theta: Any, n: int, d: int) -> Params:
    """Inverse of :func:`flatten`."""
    xp = namespace(theta)
    return Params(a=theta[..., :n], w=xp.reshape(theta[..., n:], (*theta.shape[:-1], n, d)))


def ntk_cross(params: Params, x: Any, y: Any, *, activation_name: str, scaling: str = "ntk") -> Any:
    """Cross kernel K(x, y) = J(x) J(y)', shape ``(..., N_x, N_y)``."""
    xp = namespace(params.w, x, y)
    jx = flat_jacobian(params, x, activation_name=activation_name, scaling=scaling)
    jy = flat_jacobian(params, y, activation_name=activation_name, scaling=scaling)
    return jx @ xp.matrix_transpose(jy)


def min_norm_step(params: Params, x: Any, targets: Any, *, activation_name: str, scaling: str = "ntk") -> Params:
    r"""The Gauss–Newton / minimum-norm step :math:`\delta\theta^* = J^\top K^{-1}R`, :math:`K = JJ^\top` (from
    :func:`ntk_gram`), :math:`R = Y - f_0(X)`: the least-norm solution of :math:`J\delta\theta = R` when J has full
    row rank (``lecture.ntk-dual-solution``). ``targets``: ``(..., N)``; returns the step as :class:`Params`."""
    xp = namespace(params.w, x, targets)
    residual = targets - forward(params, x, activation_name=activation_name, scaling=scaling)
    gram = ntk_gram(params, x, activation_name=activation_name, scaling=scaling)
    coef = xp.linalg.solve(gram, residual[..., None])  # (..., N, 1)
    jac = flat_jacobian(params, x, activation_name=activation_name, scaling=scaling)
    return unflatten((xp.matrix_transpose(jac) @ coef)[..., 0], params.a.shape[-1], params.w.shape[-1])


def kernel_predict(params: Params, x: Any, targets: Any, x_new: Any, *, activation_name: str,
                   scaling: str = "ntk") -> Any:
    r"""Prediction of the linearised network after the minimum-norm step (kernel regression with the empirical NTK):
    :math:`f^*(x) = f_0(x) + K(x, X)K^{-1}(Y - f_0(X))`, shape ``(..., N_new)``."""
    xp = namespace(params.w, x, targets, x_new)
    kw = {"activation_name": activation_name, "scaling": scaling}
    residual = targets - forward(params, x, **kw)
    coef = xp.linalg.solve(ntk_gram(params, x, **kw), residual[..., None])
    return forward(params, x_new, **kw) + (ntk_cross(params, x_new, x, **kw) @ coef)[..., 0]


def linearised_gd(params: Params, x: Any, targets: Any, *, steps: int, step: chains.Step, activation_name: str,
                  scaling: str = "ntk", observe: Callable[[int, Any], None] | None = None) -> Params:
    r"""Full-batch GD from :math:`\delta\theta_0 = 0` on the linearised model's loss
    :math:`\tfrac12\|f_0(X) + J\delta\theta - Y\|^2`: ``steps`` calls
    :math:`\delta\theta \leftarrow \mathrm{step}(\delta\theta, J^\top(J\delta\theta - R))` on the flat
    displacements ``(..., n + n d)`` (one row per replicate network; ``step`` holds the learning rate, e.g. a GD step
    :math:`\delta\theta - \eta g`). ``observe(k, delta_k)`` as in :func:`solvers.chains.iterate`. Returns the
    displacement."""
    xp = namespace(params.w, x, targets)
    kw = {"activation_name": activation_name, "scaling": scaling}
    residual = targets - forward(params, x, **kw)
    jac = flat_jacobian(params, x, **kw)
    jac_t = xp.matrix_transpose(jac)

    def gradient(delta: Any) -> Any:
        return (jac_t @ ((jac @ delta[..., None])[..., 0] - residual)[..., None])[..., 0]

    start = xp.zeros((*jac.shape[:-2], jac.shape[-1]), dtype=jac.dtype)
    return unflatten(chains.iterate(step, gradient, start, steps, observe), params.a.shape[-1], params.w.shape[-1])


def time_scale(n: int, scaling: str) -> float:
    """Factor multiplying the learning rate so that one unit of time means the same at every width: 1 (NTK),
    n (mean field, where each parameter's gradient is O(1/n))."""
    if scaling == "ntk":
        return 1.0
    if scaling == "mean_field":
        return float(n)
    raise ValueError(f"scaling {scaling!r} not in {SCALINGS}")


def loss_gradient(params: Params, x: Any, targets: Any, *, activation_name: str, scaling: str = "ntk") -> Any:
    r"""Gradient of the mean squared loss :math:`L = \tfrac1{2N}\sum_N (f(x_N) - y_N)^2` in the coordinates of
    :func:`flatten`, :math:`J^\top(f - y)/N`, shape ``(..., n + n d)``; computed per neuron
    (:math:`\partial L/\partial a_i = s_n\sum_N e_N\sigma(z_{Ni})/N`, :math:`\partial L/\partial w_i =
    s_n a_i\sum_N e_N\sigma'(z_{Ni})x_N/N`, :math:`e = f - y`) without forming J. ``targets``: ``(..., N)``."""
    xp = namespace(params.w, x, targets)
    sigma, first, _ = activation(activation_name, xp)
    scale = output_scale(params.a.shape[-1], scaling)
    pre = preactivations(params, x)  # (..., N, n)
    hidden = sigma(pre)
    err = (scale * xp.sum(hidden * params.a[..., None, :], axis=-1) - targets) * (scale / x.shape[0])  # (..., N)
    grad_a = (err[..., None, :] @ hidden)[..., 0, :]
    grad_w = params.a[..., None] * (xp.matrix_transpose(err[..., :, None] * first(pre)) @ x)
    return flatten(Params(a=grad_a, w=grad_w))


def train(params: Params, x: Any, targets: Any, *, steps: int, step: chains.Step, activation_name: str,
          scaling: str = "ntk") -> Params:
    r"""Full-batch training on the mean squared loss, vectorised over replicate networks: ``steps`` calls
    :math:`\theta \leftarrow \mathrm{step}(\theta, \nabla L(\theta))` on the flat parameters ``(..., n + n d)``
    (:func:`flatten`, :func:`loss_gradient`); ``step`` holds the learning rate (GD at one unit of time per step:
    :math:`\eta\,\tau_n`, :func:`time_scale`). ``targets``: ``(..., N)``. Returns the trained parameters."""
    n, d = params.w.shape[-2:]

    def gradient(theta: Any) -> Any:
        return loss_gradient(unflatten(theta, n, d), x, targets, activation_name=activation_name, scaling=scaling)

    return unflatten(chains.iterate(step, gradient, flatten(params), steps), n, d)


def unit_input(rng: Any, d: int) -> Any:
    """A random input scaled to ||x||^2 = d, so that z = w'x ~ N(0, 1) exactly under w ~ N(0, I/d) (NumPy ``rng``)."""
    x = rng.standard_normal(d)
    return x * np.sqrt(d) / np.linalg.norm(x)


def sphere_inputs(rng: Any, count: int, d: int, separation: float = 0.0) -> Any:
    """``count`` uniform points on the sphere ||x||^2 = d (NumPy ``rng``), redrawn until every pair is at least
    ``separation`` radians from parallel and from antiparallel (tanh is odd: x and -x give opposite Jacobian rows, so
    near-antipodal inputs make K nearly singular and the minimum-norm step huge)."""
    while True:
        x = rng.standard_normal((count, d))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        cos = np.abs(x @ x.T)[np.triu_indices(count, 1)]
        if cos.size == 0 or np.max(cos) <= np.cos(separation):
            return x * np.sqrt(d)
