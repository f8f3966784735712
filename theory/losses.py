"""Test losses, defined once symbolically; solvers get them through :mod:`theory.numeric`.

Each function returns ``(expression, coordinates)``.
"""

from __future__ import annotations

import sympy as sp

from sgd_conformance.theory.symbols import coordinates


def double_well() -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """L(x) = (x^2 - 1)^2: two equal minima at ±1, barrier 1 at 0 (seed 002; CLAIMS-DETAIL §1.9)."""
    (q,) = coordinates(1)
    return (q**2 - 1) ** 2, (q,)


def backward_error_test_loss() -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """L(x, y) = (x^2 + y^2 - 1)^2/4 + xy/2 + x^3/10: non-quadratic, non-convex (CLAIMS-DETAIL §1.16)."""
    q0, q1 = coordinates(2)
    return (q0**2 + q1**2 - 1) ** 2 / 4 + q0 * q1 / 2 + q0**3 / 10, (q0, q1)


def quadratic(diagonal: tuple[float, ...]) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """L(theta) = sum_i h_i theta_i^2 / 2 with rational curvatures ``diagonal``."""
    coords = coordinates(len(diagonal))
    return sum(sp.nsimplify(h) * c**2 / 2 for h, c in zip(diagonal, coords, strict=True)), coords


def tilted_double_well() -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """L(x) = (x^2 - 1)^2 (1 + tanh(2x)/2): equal-depth minima at ±1, flat at -1 (L'' = 4.145), sharp at +1
    (L'' = 11.855) (CLAIMS-DETAIL §1.11)."""
    (q,) = coordinates(1)
    return (q**2 - 1) ** 2 * (1 + sp.tanh(2 * q) / 2), (q,)


def shuffled_sgd_test_losses(a: list[tuple[float, float]], c: list[int]) -> tuple[list[sp.Expr], tuple[sp.Symbol, ...]]:
    """Per-sample losses l_i(w) = log(1 + exp(-c_i a_i'w)) + (a_i'w)^4/40 in d = 2 (CLAIMS-DETAIL §1.17)."""
    coords = coordinates(2)
    losses = []
    for (a0, a1), ci in zip(a, c, strict=True):
        margin = sp.nsimplify(a0) * coords[0] + sp.nsimplify(a1) * coords[1]
        losses.append(sp.log(1 + sp.exp(-ci * margin)) + margin**4 / 40)
    return losses, coords
