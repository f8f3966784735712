r"""The one two-layer network of the suite, its Jacobian, its exact per-neuron Hessian blocks and its NTK Gram matrix.

.. math:: f(x) = s_n \sum_{i=1}^n a_i\,\sigma(w_i^\top x), \qquad
   s_n = n^{-1/2}\ (\text{scaling} = \text{"ntk"}) \text{ or } n^{-1}\ (\text{"mean_field"}).

Per neuron, with :math:`z_i = w_i^\top x`: :math:`\partial f/\partial a_i = s_n\sigma(z_i)` (the seed's
:math:`\sigma'` is a typo), :math:`\partial f/\partial w_{ik} = s_n a_i\sigma'(z_i)x_k`; the Hessian is block-diagonal
over neurons with blocks :math:`s_n\begin{pmatrix}0 & \sigma'(z_i)x^\top\\ \sigma'(z_i)x & a_i\sigma''(z_i)xx^\top
\end{pmatrix}` on :math:`(a_i, w_i)` (including the mixed a–w block the seed omits). Source: seed 002;
CLAIMS-DETAIL §1.18–§1.21; the formulas are derived in :mod:`theory.ntk`.

Arrays go through the array-API namespace; parameters carry leading batch axes ``(..., n)`` and ``(..., n, d)``
(replicate networks), inputs are ``(N, d)``. ReLU's sigma'(0) is taken as 0 (a null set under Gaussian weights).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from solvers._xp import namespace

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
