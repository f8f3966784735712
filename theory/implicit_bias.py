r"""Implicit bias of gradient descent on least squares: the iterates never leave theta_0 + range(A').

For :math:`L(\theta) = \|A\theta - b\|^2`, :math:`\nabla L = 2A^\top(A\theta - b) \in \mathrm{range}(A^\top)`, so every
vector n of the null space of A is orthogonal to every gradient: the component of theta in Ker A is frozen.
Hence GD (and gradient flow) with :math:`0 < \eta < 1/s_{\max}(A)^2` converges to
:math:`A^+ b + (I - A^+ A)\theta_0`; from :math:`\theta_0 = 0`, to the minimum-norm solution.
Source: seed 002 ("GD selects the minimum closest to initialization"); CLAIMS-DETAIL §1.4, §9.18.
"""

from __future__ import annotations

from functools import cache

import sympy as sp


@cache
def null_space_is_frozen(rows: int = 2, cols: int = 3) -> bool:
    """Proof, for a generic symbolic ``rows x cols`` matrix A, that every null vector of A is orthogonal to
    grad ||A theta - b||^2 at every theta and b (so the Ker A component of GD's iterates is constant)."""
    a = sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"A_{i}{j}", real=True))
    theta = sp.Matrix(sp.symbols(f"theta_0:{cols}", real=True))
    b = sp.Matrix(sp.symbols(f"b_0:{rows}", real=True))
    residual = a * theta - b
    loss = (residual.T * residual)[0, 0]
    gradient = sp.Matrix([sp.diff(loss, q) for q in theta])
    return all(sp.simplify((n.T * gradient)[0, 0]) == 0 for n in a.nullspace())
