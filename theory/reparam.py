r"""Reparameterisation: how the Hessian transforms, and the information-geometric sharpness (IGS) that does not.

Hessian (CLAIMS-DETAIL §1.1; seed 002, slide "Flat vs sharp minima"; Dinh et al. 2017). For
:math:`\theta' = D\theta` with :math:`D = \mathrm{diag}(d_1, \dots, d_p)` invertible and
:math:`L'(\theta') := L(D^{-1}\theta')`, the chain rule through a *linear* map gives at every point

.. math:: \nabla_{\theta'} L' = D^{-1}\nabla_\theta L, \qquad \nabla^2_{\theta'} L' = D^{-1}\,\nabla^2_\theta L\,D^{-1},

so :math:`\lambda_{\max}` is not invariant (:math:`D = cI` scales every eigenvalue by :math:`c^{-2}`).
:func:`reparameterised_hessian` derives the left side by substitution, :func:`transformed_hessian` is the right side.

IGS (CLAIMS-DETAIL §1.2; seed 002: "IGS(θ) = (1/N)Σ ∇ℓ_iᵀ F(θ)^† ∇ℓ_i, F = (1/N)Σ J_iᵀJ_i ...
reparameterization-invariant"). For a scalar-output model with :math:`\nabla\ell_i = \ell'_i J_i^\top`,

.. math:: \mathrm{IGS}(\theta) = \frac1N\sum_i \nabla\ell_i^\top F^{+}\nabla\ell_i, \qquad F = \frac1N J^\top J .

(i) Invariance: under :math:`\theta = M\theta'`, :math:`g' = M^\top g`, :math:`F' = M^\top F M`; since
:math:`g = Fv` lies in range(F), :math:`g' = F'(M^{-1}v)` and :math:`g'^\top F'^{+} g' = v^\top F v = g^\top F^{+} g`.
(ii) Closed form: :math:`\mathrm{IGS} = \sum_i (\ell'_i)^2 P_{ii}`, :math:`P = J(J^\top J)^{+}J^\top`; if rank J = N
then P = I and for :math:`\ell = r^2/2`, :math:`\mathrm{IGS} = \|r\|^2 = 2N L` — no curvature information.

Numeric test model (§1.2): :math:`f(x) = \sum_{j<4} b_j\tanh(a_j x)`, p = 8, compiled through :mod:`theory.numeric`.
Functions that take ``xp`` work on any array-API namespace (this module imports no array library).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from types import ModuleType
from typing import Any

import sympy as sp

from sgd_conformance.theory import numeric

WIDTH = 4  #: number of tanh units of the test model (p = 2 * WIDTH parameters)
x_in = sp.Symbol("x", real=True)  #: the scalar input of the test model
A = tuple(sp.Symbol(f"a_{j}", real=True) for j in range(WIDTH))  #: inner weights a_j
B = tuple(sp.Symbol(f"b_{j}", real=True) for j in range(WIDTH))  #: outer weights b_j
PARAMS = (*A, *B)  #: parameter order theta = (a_0..a_3, b_0..b_3)
SCALES = tuple(sp.Symbol(f"d_{j}", positive=True) for j in range(2 * WIDTH))  #: diagonal of D, theta' = D theta
PRIMED = tuple(sp.Symbol(f"q_{j}", real=True) for j in range(2 * WIDTH))  #: theta' = D theta


# ---------------------------------------------------------------- Hessian under theta' = D theta


def transformed_hessian(hessian: Any, scales: Any) -> Any:
    r"""The transformation law :math:`\nabla^2_{\theta'}L' = D^{-1}\,\nabla^2_\theta L\,D^{-1}`, entrywise
    :math:`H_{ij}/(d_i d_j)`.

    ``hessian`` is a sympy Matrix (with ``scales`` a sequence of expressions) or an array of shape ``(..., p, p)``
    (with ``scales`` an array ``(..., p)``). Source: CLAIMS-DETAIL §1.1.
    """
    if isinstance(hessian, sp.MatrixBase):
        p = hessian.shape[0]
        return sp.Matrix(p, p, lambda i, j: hessian[i, j] / (scales[i] * scales[j]))
    return hessian / (scales[..., :, None] * scales[..., None, :])


def transformed_gradient(gradient: Any, scales: Any) -> Any:
    r""":math:`\nabla_{\theta'}L' = D^{-1}\nabla_\theta L` (sympy Matrix column or array ``(..., p)``)."""
    if isinstance(gradient, sp.MatrixBase):
        return sp.Matrix([gradient[i] / scales[i] for i in range(gradient.shape[0])])
    return gradient / scales


def reparameterised_hessian(loss: sp.Expr, coords: Sequence[sp.Symbol], scales: Sequence[sp.Expr],
                            primed: Sequence[sp.Symbol]) -> sp.Matrix:
    r"""Hessian of :math:`L'(\theta') = L(D^{-1}\theta')` in :math:`\theta'`, derived by substituting
    :math:`\theta_i = \theta'_i/d_i` and differentiating twice in the primed coordinates."""
    substituted = loss.subs({c: q / s for c, q, s in zip(coords, primed, scales, strict=True)})
    return sp.hessian(substituted, list(primed))


def quartic_loss(h: sp.Matrix, coords: Sequence[sp.Symbol]) -> sp.Expr:
    r"""The test loss of §1.1, :math:`L(\theta) = \tfrac12\theta^\top H\theta + \tfrac14\sum_i\theta_i^4`."""
    theta = sp.Matrix(coords)
    return (theta.T * h * theta)[0, 0] / 2 + sum(c**4 for c in coords) / 4


def hessian_law_residual(p: int = 2) -> sp.Matrix:
    r"""Symbolic proof of the law on the quartic loss with a *generic* symmetric H (entries ``h_ij``):
    :math:`\nabla^2_{\theta'}L' - D^{-1}\nabla^2_\theta L|_{\theta = D^{-1}\theta'} D^{-1}`, simplified (zero)."""
    coords = tuple(sp.Symbol(f"t_{i}", real=True) for i in range(p))
    h = sp.Matrix(p, p, lambda i, j: sp.Symbol(f"h_{min(i, j)}{max(i, j)}", real=True))
    loss = quartic_loss(h, coords)
    scales, primed = SCALES[:p], PRIMED[:p]
    back = {c: q / s for c, q, s in zip(coords, primed, scales, strict=True)}
    law = transformed_hessian(sp.hessian(loss, coords).subs(back), scales)
    return sp.simplify(reparameterised_hessian(loss, coords, scales, primed) - law)


def gradient_law_residual(p: int = 2) -> sp.Matrix:
    r""":math:`\nabla_{\theta'}L' - D^{-1}\nabla_\theta L` on the same generic quartic loss, simplified (zero)."""
    coords = tuple(sp.Symbol(f"t_{i}", real=True) for i in range(p))
    h = sp.Matrix(p, p, lambda i, j: sp.Symbol(f"h_{min(i, j)}{max(i, j)}", real=True))
    loss = quartic_loss(h, coords)
    scales, primed = SCALES[:p], PRIMED[:p]
    back = {c: q / s for c, q, s in zip(coords, primed, scales, strict=True)}
    substituted = loss.subs(back)
    direct = sp.Matrix([sp.diff(substituted, q) for q in primed])
    law = transformed_gradient(sp.Matrix([sp.diff(loss, c) for c in coords]).subs(back), scales)
    return sp.simplify(direct - law)


@cache
def quartic_hessians(diagonal: tuple[float, ...]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    r"""Compiled exact Hessians for :math:`H = \mathrm{diag}(\text{diagonal})`: ``(original, reparameterised)``.

    ``original(xp, theta)`` is :math:`\nabla^2_\theta L` at ``theta`` (shape ``(p,)``) and
    ``reparameterised(xp, theta_primed, scales)`` is the Hessian of :math:`L(D^{-1}\theta')` in
    :math:`\theta'`, each a ``(p, p)`` array; both from sympy (no finite differences).
    """
    p = len(diagonal)
    coords = tuple(sp.Symbol(f"t_{i}", real=True) for i in range(p))
    loss = quartic_loss(sp.diag(*[sp.nsimplify(v) for v in diagonal]), coords)
    original = _compile_matrix(sp.hessian(loss, coords), coords)
    primed = _compile_matrix(reparameterised_hessian(loss, coords, SCALES[:p], PRIMED[:p]),
                             (*PRIMED[:p], *SCALES[:p]))
    return (lambda xp, theta: original(xp, *theta),
            lambda xp, theta_primed, scales: primed(xp, *theta_primed, *scales))


def _compile_matrix(matrix: sp.Matrix, args: Sequence[sp.Symbol]) -> Callable[..., Any]:
    """``m(xp, *values)`` -> ``(rows, cols)`` float array of the compiled entries of ``matrix`` (scalar values)."""
    rows, cols = matrix.shape
    entries = [[numeric.compile(sp.sympify(matrix[i, j]), args) for j in range(cols)] for i in range(rows)]

    def evaluate(xp: ModuleType, *values: Any) -> Any:
        return xp.asarray([[float(e(xp, *values)) for e in row] for row in entries], dtype=xp.float64)

    return evaluate


# ---------------------------------------------------------------- the information-geometric sharpness


def fisher(xp: ModuleType, jac: Any) -> Any:
    r""":math:`F = \frac1N\sum_i J_i^\top J_i = J^\top J/N` for the stacked Jacobian ``jac`` of shape ``(N, p)``."""
    return xp.matrix_transpose(jac) @ jac / jac.shape[0]


def fisher_pseudo_inverse(xp: ModuleType, jac: Any) -> Any:
    r"""Moore–Penrose inverse of :math:`F = J^\top J/N`, as :math:`F^{+} = N\,J^{+}J^{+\top}` (an identity of the
    pseudo-inverse; it avoids squaring the condition number of J). ``jac`` has shape ``(N, p)``."""
    pinv = xp.linalg.pinv(jac)
    return jac.shape[0] * (pinv @ xp.matrix_transpose(pinv))


def information_geometric_sharpness(xp: ModuleType, jac: Any, dloss: Any) -> Any:
    r"""The seed's definition :math:`\mathrm{IGS} = \frac1N\sum_i \nabla\ell_i^\top F^{+}\nabla\ell_i`,
    :math:`\nabla\ell_i = \ell'_i J_i^\top`; ``jac`` is ``(N, p)``, ``dloss`` the :math:`\ell'_i`, ``(N,)``."""
    grads = dloss[:, None] * jac
    pinv = fisher_pseudo_inverse(xp, jac)
    return xp.sum((grads @ pinv) * grads) / jac.shape[0]


def igs_closed_form(xp: ModuleType, jac: Any, dloss: Any) -> Any:
    r"""Closed form (ii): :math:`\sum_i (\ell'_i)^2 P_{ii}`, :math:`P = J(J^\top J)^{+}J^\top` the projector on
    range(J), computed from an orthonormal basis of range(J) (SVD, rank cut at :math:`10^{-12}\sigma_{\max}`)."""
    u, s, _ = xp.linalg.svd(jac, full_matrices=False)
    basis = u * xp.astype(s > 1e-12 * xp.max(s), u.dtype)[None, :]
    return xp.sum(dloss**2 * xp.sum(basis**2, axis=1))


def igs_symbolic_residuals() -> dict[str, sp.Expr]:
    r"""Symbolic proof for p = 2, N = 1 with a generic invertible :math:`M` (entries ``m_ij``) and Jacobian
    :math:`J = (j_0, j_1)`, loss derivative :math:`\ell'`; every value simplifies to 0:

    * ``range``: :math:`g - Fv` with :math:`v = \ell' J^\top/\|J\|^2` (g lies in range F);
    * ``reparameterised range``: :math:`g' - F'M^{-1}v` (so g' lies in range F');
    * ``invariance``: :math:`g'^\top F'^{+}g' - g^\top F^{+}g`, with sympy's Moore–Penrose inverse;
    * ``closed form``: :math:`g^\top F^{+}g - (\ell')^2` (here N = 1, P = 1: IGS = r² = 2NL for ℓ = r²/2).
    """
    j = sp.Matrix([[sp.Symbol("j_0", real=True), sp.Symbol("j_1", real=True)]])
    m = sp.Matrix(2, 2, sp.symbols("m_00 m_01 m_10 m_11", real=True))
    dl = sp.Symbol("l1", real=True)
    f = j.T * j
    g = dl * j.T
    v = dl * j.T / (j * j.T)[0, 0]
    f_r, g_r = m.T * f * m, m.T * g
    igs = (g.T * _rank_one_pinv(f) * g)[0, 0]
    igs_r = (g_r.T * _rank_one_pinv(f_r) * g_r)[0, 0]
    return {"range": sp.simplify(g - f * v).norm(),
            "reparameterised range": sp.simplify(g_r - f_r * m.inv() * v).norm(),
            "invariance": sp.simplify(igs_r - igs), "closed form": sp.simplify(igs - dl**2)}


def _rank_one_pinv(f: sp.Matrix) -> sp.Matrix:
    r"""Moore–Penrose inverse of a rank-one symmetric :math:`F = uu^\top`: :math:`F/\mathrm{tr}(F)^2`
    (verified against the four Penrose equations in tests/test_theory_reparam.py)."""
    return f / f.trace() ** 2


# ---------------------------------------------------------------- the tanh test model, p = 8


def tanh_model(reparameterised: bool = False) -> sp.Expr:
    r""":math:`f(x) = \sum_j b_j\tanh(a_j x)`; with ``reparameterised`` the same function of :math:`\theta' = D\theta`,
    i.e. :math:`f(D^{-1}\theta')` in the symbols ``q_j`` (θ order a_0..a_3, b_0..b_3) and ``d_j``."""
    expr = sum(b * sp.tanh(a * x_in) for a, b in zip(A, B, strict=True))
    if reparameterised:
        expr = expr.subs({c: q / s for c, q, s in zip(PARAMS, PRIMED, SCALES, strict=True)}, simultaneous=True)
    return expr


@cache
def tanh_model_derivatives(reparameterised: bool = False) -> tuple[Callable[..., Any], ...]:
    r"""Compiled ``(f, jacobian, hessian)`` of the tanh model in its own coordinates, exact (sympy).

    Each takes ``(xp, x, theta)`` — plus ``scales`` when ``reparameterised`` — with ``x`` of shape ``(N,)`` and
    ``theta`` of shape ``(8,)``; they return ``(N,)``, ``(N, 8)`` and ``(N, 8, 8)`` arrays.
    """
    expr = tanh_model(reparameterised)
    coords = PRIMED if reparameterised else PARAMS
    extra = SCALES if reparameterised else ()
    args = (x_in, *coords, *extra)
    value = numeric.compile(expr, args)
    grad = [numeric.compile(sp.diff(expr, c), args) for c in coords]
    hess = [[numeric.compile(sp.diff(expr, c1, c2), args) for c2 in coords] for c1 in coords]

    def bind(theta: Any, scales: Any) -> tuple[Any, ...]:
        return (*theta, *(scales if reparameterised else ()))

    def f(xp: ModuleType, x: Any, theta: Any, scales: Any = None) -> Any:
        return value(xp, x, *bind(theta, scales)) + xp.zeros_like(x)

    def jacobian(xp: ModuleType, x: Any, theta: Any, scales: Any = None) -> Any:
        zero = xp.zeros_like(x)
        return xp.stack([g(xp, x, *bind(theta, scales)) + zero for g in grad], axis=-1)

    def hessian(xp: ModuleType, x: Any, theta: Any, scales: Any = None) -> Any:
        zero = xp.zeros_like(x)
        rows = [xp.stack([h(xp, x, *bind(theta, scales)) + zero for h in row], axis=-1) for row in hess]
        return xp.stack(rows, axis=-2)

    return f, jacobian, hessian


def squared_loss_hessian(xp: ModuleType, jac: Any, model_hessian: Any, residual: Any) -> Any:
    r"""Exact Hessian of :math:`L = \frac1{2N}\sum_i r_i^2`: :math:`\frac1N\sum_i (J_i^\top J_i + r_i\nabla^2 f_i)`."""
    n = jac.shape[0]
    return (xp.matrix_transpose(jac) @ jac + xp.sum(residual[:, None, None] * model_hessian, axis=0)) / n
