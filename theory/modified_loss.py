r"""Backward error analysis of gradient descent: the modified loss to second order in eta.

GD :math:`\theta_{k+1} = \theta_k - \eta\nabla L(\theta_k)` is the time-eta map of a modified flow
:math:`\dot\theta = F_0 + \eta F_1 + O(\eta^2)`. Expanding that flow map by Lie series,
:math:`\varphi_\eta = \theta + \eta F + \tfrac{\eta^2}{2} (DF) F + O(\eta^3)`, and matching it with the GD map
order by order gives :math:`F_0 = -\nabla L` and :math:`F_1 = -\tfrac12 \nabla^2 L\, \nabla L`
(derived by :func:`modified_vector_field`, not typed in); :func:`derived_modified_loss` then solves for the
potential, :math:`\tilde L = L + \eta c \|\nabla L\|^2` with c = 1/4. :func:`lecture_modified_loss` is the
lecture's statement :math:`L + (\eta/4)\|\nabla L\|^2`, and :func:`modified_field_is_gradient_of` proves
:math:`F_0 + \eta F_1 = -\nabla\tilde L` for a generic loss (Barrett & Dherin 2021, Thm 3.1; seed 002).
So GD follows the flow of :math:`\tilde L` with global error O(eta^2) on [0, T], and the plain gradient flow
of L with error O(eta). For a quadratic the modified flow is exact to all orders:
:math:`H_{\mathrm{mod}} = -\log(I - \eta H)/\eta` (:func:`quadratic_exact_modified_curvature`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from theory.symbols import a, eta


def _flow_map_series(field: list[sp.Expr], coords: Sequence[sp.Symbol], h: sp.Expr, order: int) -> list[sp.Expr]:
    r"""Lie series of the time-h flow map of :math:`\dot\theta = F`: :math:`\sum_j h^j/j!\,(\mathcal L_F)^j \theta`."""
    terms = list(coords)
    result = list(coords)
    for j in range(1, order + 1):
        terms = [sum(sp.diff(g, c) * f for c, f in zip(coords, field, strict=True)) for g in terms]
        result = [r + h**j / sp.factorial(j) * g for r, g in zip(result, terms, strict=True)]
    return result


def modified_vector_field(loss: sp.Expr, coords: Sequence[sp.Symbol]) -> list[sp.Expr]:
    r"""The modified vector field :math:`F_0 + \eta F_1` of GD on ``loss``, derived by matching flow maps.

    ``F1`` is solved for as unknowns: at order eta^2 it enters the flow map undifferentiated.
    """
    f0 = [-sp.diff(loss, c) for c in coords]
    f1 = sp.symbols(f"F1_0:{len(coords)}")
    field = [g + eta * u for g, u in zip(f0, f1, strict=True)]
    flow = _flow_map_series(field, coords, eta, order=2)
    gd = [c + eta * g for c, g in zip(coords, f0, strict=True)]
    equations = [sp.expand(fl - g).coeff(eta, 2) for fl, g in zip(flow, gd, strict=True)]
    solution = sp.solve(equations, f1, dict=True)[0]
    return [sp.simplify(g + eta * solution[u]) for g, u in zip(f0, f1, strict=True)]


def derived_modified_loss(loss: sp.Expr, coords: Sequence[sp.Symbol]) -> sp.Expr:
    r"""The modified loss as a potential of the derived field: :math:`L + \eta\,c\,\|\nabla L\|^2` with the
    coefficient c *solved for* from :math:`F_1 = -c\,\nabla\|\nabla L\|^2` (every component must give the
    same c, else there is no such potential and this raises). For any smooth L, c = 1/4."""
    c = sp.Symbol("c")
    squared_gradient = sum(sp.diff(loss, q) ** 2 for q in coords)
    field = modified_vector_field(loss, coords)
    first_order = [sp.expand(f).coeff(eta, 1) for f in field]
    solutions = {sp.simplify(s) for f, q in zip(first_order, coords, strict=True)
                 if sp.simplify(sp.diff(squared_gradient, q)) != 0
                 for s in sp.solve(sp.Eq(f, -c * sp.diff(squared_gradient, q)), c)}
    if len(solutions) != 1:
        raise ValueError(f"the first-order modified field is not a multiple of grad |grad L|^2: {solutions}")
    (coefficient,) = solutions
    return loss + eta * coefficient * squared_gradient


def lecture_modified_loss(loss: sp.Expr, coords: Sequence[sp.Symbol]) -> sp.Expr:
    r"""The lecture's modified loss :math:`L + (\eta/4)\|\nabla L\|^2` (seed 002; Barrett & Dherin 2021)."""
    return loss + eta / 4 * sum(sp.diff(loss, c) ** 2 for c in coords)


def modified_field_is_gradient_of(loss: sp.Expr, coords: Sequence[sp.Symbol], potential: sp.Expr) -> bool:
    """True iff the derived modified field equals -grad(potential) identically."""
    field = modified_vector_field(loss, coords)
    return all(sp.simplify(f + sp.diff(potential, c)) == 0 for f, c in zip(field, coords, strict=True))


def generic_loss(d: int) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """A generic smooth loss: an undefined sympy function L(q0, ..., q_{d-1}), for proofs."""
    coords = sp.symbols(f"q0:{d}", real=True)
    return sp.Function("L")(*coords), coords


def quadratic_exact_modified_curvature() -> sp.Expr:
    r"""Curvature :math:`a_{mod}` whose gradient flow over time eta *is* one GD step on L = a x^2/2.

    Solves :math:`e^{-\eta a_{mod}} = 1 - \eta a` (for :math:`\eta a < 1`): :math:`a_{mod} = -\log(1 - \eta a)/\eta`
    :math:`= a + \eta a^2/2 + O(\eta^2)`, the curvature of L + (eta/4)|grad L|^2 to first order.
    """
    a_mod = sp.Symbol("a_mod", positive=True)
    (solution,) = sp.solve(sp.Eq(sp.exp(-eta * a_mod), 1 - eta * a), a_mod)
    return solution
