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

import itertools
from collections.abc import Sequence
from functools import cache

import sympy as sp

from sgd_conformance.theory.symbols import a, eta


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


@cache
def derived_sgd_regulariser_coefficient() -> sp.Expr:
    r"""Coefficient c of the SGD modified loss for two minibatches (m = 2) under random shuffling, derived.

    Averaging the two-step map :math:`\theta - \eta g_1(\theta) - \eta g_2(\theta - \eta g_1(\theta))` over both
    orders and matching it to second order with the time-:math:`2\eta` flow of
    :math:`L + c\,\eta\,(\|g_1\|^2 + \|g_2\|^2)`, :math:`L = (L_1 + L_2)/2`, for generic smooth minibatch losses
    :math:`L_1, L_2`; Smith, Dherin, Barrett & De (2021) give :math:`c = 1/(4m) = 1/8`.
    """
    coords = sp.symbols("q0:2", real=True)
    losses = [sp.Function(f"L{k}")(*coords) for k in (1, 2)]
    grads = [[sp.diff(loss, q) for q in coords] for loss in losses]
    c = sp.Symbol("c")
    regulariser = sum(g**2 for grad in grads for g in grad)
    total = (losses[0] + losses[1]) / 2 + c * eta * regulariser
    field = [-sp.diff(total, q) for q in coords]
    flow = _flow_map_series(field, coords, 2 * eta, order=2)

    def two_steps(first: int, second: int) -> list[sp.Expr]:
        # g_second at theta - eta g_first, Taylor-expanded to first order (enough for the eta^2 terms)
        shifted = [g2 - eta * sum(sp.diff(g2, q) * g1 for q, g1 in zip(coords, grads[first], strict=True))
                   for g2 in grads[second]]
        return [q - eta * g - eta * g2 for q, g, g2 in zip(coords, grads[first], shifted, strict=True)]

    averaged = [(u + v) / 2 for u, v in zip(two_steps(0, 1), two_steps(1, 0), strict=True)]
    equations = [sp.expand(f - s).coeff(eta, 2) for f, s in zip(flow, averaged, strict=True)]
    solutions = {sp.simplify(sol) for e in equations for sol in sp.solve(e, c)}
    (coefficient,) = solutions
    return coefficient


def sgd_modified_loss(per_sample: list[sp.Expr], coords: Sequence[sp.Symbol], batch: int) -> sp.Expr:
    r"""Smith et al.'s modified loss of one epoch of SGD with random shuffling, averaged over the partitions:
    :math:`L + c\,\eta\,E_{\text{partition}}\sum_k \|\nabla \hat L_k\|^2` with the derived c (two minibatches)."""
    population = len(per_sample)
    if population != 2 * batch:
        raise ValueError("the coefficient is derived for two minibatches per epoch (N = 2 B)")
    loss = sum(per_sample) / population
    partitions = [(first, tuple(i for i in range(population) if i not in first))
                  for first in itertools.combinations(range(population), batch) if 0 in first]
    penalty = sum(sum(sp.diff(sum(per_sample[i] for i in block) / batch, q) ** 2 for q in coords)
                  for partition in partitions for block in partition) / len(partitions)
    return loss + derived_sgd_regulariser_coefficient() * eta * penalty


def partition_average_is_finite_population_term(population: int = 4, batch: int = 2) -> bool:
    r"""For scalar per-sample gradients g_i: the mean over the partitions into two minibatches of
    :math:`\frac{1}{4m}\sum_k \hat g_k^2` equals :math:`\frac14 \bar g^2 + \frac14 \frac{N - B}{B (N - 1)} \Gamma`,
    :math:`\Gamma = \frac1N \sum_i (g_i - \bar g)^2` (the seed's O(eta/b) term). Proved by enumeration."""
    g = sp.symbols(f"g_0:{population}", real=True)
    blocks = population // batch
    partitions = [(first, tuple(i for i in range(population) if i not in first))
                  for first in itertools.combinations(range(population), batch) if 0 in first]
    average = sum(sum((sum(g[i] for i in block) / batch) ** 2 for block in partition)
                  for partition in partitions) / len(partitions) / (4 * blocks)
    g_bar = sum(g) / population
    gamma = sum((gi - g_bar) ** 2 for gi in g) / population
    claimed = g_bar**2 / 4 + sp.Rational(population - batch, batch * (population - 1)) * gamma / 4
    return sp.simplify(average - claimed) == 0
