r"""Linear stability of gradient descent at a minimum (the provable part of the edge of stability).

GD :math:`\theta \mapsto \theta - \eta\nabla L(\theta)` has Jacobian :math:`I - \eta\nabla^2 L` at a fixed point; a
minimum with :math:`\eta\lambda_{\max}(\nabla^2 L) > 2` is linearly unstable, so GD converges to it only from a set
of measure zero: every minimum reached from a set of positive measure has :math:`\eta\lambda_{\max} \le 2`.
On :math:`L(u, v) = (uv - 1)^2/2` the minima form the hyperbola uv = 1 with Hessian eigenvalues 0 and u^2 + v^2
(derived below), so GD from a generic start ends on the part with :math:`u^2 + v^2 \le 2/\eta`, although gradient
flow from the same start may end at a sharper point. Source: seed 002; Cohen et al. 2021; CLAIMS-DETAIL §1.15.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

u, v = sp.symbols("u v", real=True)


def two_factor_loss() -> sp.Expr:
    """L(u, v) = (u v - 1)^2 / 2, the scalar two-layer linear model fitting 1."""
    return (u * v - 1) ** 2 / 2


@cache
def sharpness_on_minima() -> sp.Expr:
    """lambda_max of the Hessian at a minimum (u, 1/u), in terms of u and v = 1/u: u^2 + v^2 (derived)."""
    hessian = sp.hessian(two_factor_loss(), (u, v)).subs(v, 1 / u)
    eigenvalues = [sp.simplify(e) for e in hessian.eigenvals()]
    largest = [e for e in eigenvalues if e != 0]
    (value,) = largest
    return value  # u^2 + 1/u^2, i.e. u^2 + v^2 on the hyperbola


@cache
def stability_threshold() -> sp.Expr:
    """The sharpness above which a minimum is linearly unstable for GD with step eta: |1 - eta lam| <= 1 iff
    lam <= 2/eta (solved)."""
    eta, lam = sp.Symbol("eta", positive=True), sp.Symbol("lam", positive=True)
    (bound,) = sp.solve(sp.Eq(1 - eta * lam, -1), lam)
    return bound
