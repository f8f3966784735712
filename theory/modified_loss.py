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

For SGD the modified loss depends on how an epoch draws its minibatches: :func:`epoch_law_modified_loss_coefficients`
derives it for random reshuffling (Smith et al. 2021's :math:`\frac{\eta}{4m}\sum_k\|\nabla\hat L_k\|^2`) and for
draws with replacement (GD's :math:`\frac\eta4\|\nabla L\|^2`) by enumerating each law (:func:`epoch_sequences`).
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


#: the epoch laws of two minibatches of B = 2 from N = 4 samples whose one-epoch mean is derived here
EPOCH_LAWS = ("reshuffling", "replacement")


def epoch_sequences(law: str, population: int = 4, batch: int = 2) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The equally likely (first batch, second batch) index sequences of one epoch of two minibatches under ``law``:
    ``reshuffling``, the N! orderings of a uniform permutation cut in two; ``replacement``, the N^(2B) sequences of
    2B i.i.d. uniform indices (each batch B i.i.d. draws)."""
    if population != 2 * batch:
        raise ValueError("an epoch of two minibatches needs N = 2 B")
    if law == "reshuffling":
        draws = list(itertools.permutations(range(population)))
    elif law == "replacement":
        draws = list(itertools.product(range(population), repeat=2 * batch))
    else:
        raise ValueError(f"unknown epoch law {law!r}; expected one of {EPOCH_LAWS}")
    return [(tuple(s[:batch]), tuple(s[batch:])) for s in draws]


@cache
def epoch_law_modified_loss_coefficients(law: str) -> tuple[sp.Expr, sp.Expr]:
    r"""The modified loss that the one-epoch mean of SGD follows under the epoch ``law``, derived.

    For N = 4 generic smooth per-sample losses :math:`\ell_i` in d = 2 and two steps with the minibatch gradients
    :math:`G_a = \frac1B\sum_{i\in a}\nabla\ell_i`, the epoch map is
    :math:`\theta - \eta(G_a + G_b) + \eta^2 DG_b\,G_a + O(\eta^3)`; its mean over ``law``
    (:func:`epoch_sequences`, enumerated exactly) is matched to second order with the time-:math:`2\eta` flow of
    :math:`L + \eta(c_1\|\nabla L\|^2 + c_2 R)`, :math:`R = E_{\text{partition}}\sum_k\|\nabla\hat L_k\|^2` (Smith et
    al.'s regulariser), and :math:`(c_1, c_2)` is solved for by collecting the coefficient of every product of
    derivatives (the first order is checked too: :math:`E(G_a + G_b) = 2\nabla L` for both laws; raises when no such
    potential matches). Random reshuffling gives (0, 1/8), Smith et al. (2021) with m = 2; with replacement the two
    batches are independent, :math:`E\,DG_b G_a = \nabla^2 L\,\nabla L`, which is GD's :math:`(1/4, 0)`: the mean
    follows :math:`L + (\eta/4)\|\nabla L\|^2` to :math:`O(\eta^3)` and Smith et al.'s flow only to
    :math:`O(\eta^2)` (the finite-population term :math:`\nabla\Gamma` of
    :func:`partition_average_is_finite_population_term` is missing)."""
    population, batch = 4, 2
    coords = sp.symbols("q0:2", real=True)
    per_sample = [sp.Function(f"l{i}")(*coords) for i in range(population)]
    grads = [[sp.diff(loss, q) for q in coords] for loss in per_sample]
    sequences = epoch_sequences(law, population, batch)

    def minibatch(block: tuple[int, ...]) -> list[sp.Expr]:
        return [sum((grads[i][c] for i in block), sp.Integer(0)) / batch for c in range(len(coords))]

    # the mean epoch map is linear in the index counts: E(G_a + G_b) = sum_i w1_i grad l_i / B and
    # E DG_b G_a = sum_(i, k) w2_ik D(grad l_k) grad l_i / B^2, with the weights counted over the sequences
    w1 = [sum(block_a.count(i) + block_b.count(i) for block_a, block_b in sequences) for i in range(population)]
    w2 = [[sum(block_a.count(i) * block_b.count(j) for block_a, block_b in sequences) for j in range(population)]
          for i in range(population)]
    first = [sum(w1[i] * grads[i][c] for i in range(population)) / batch for c in range(len(coords))]
    second = [sum(w2[i][j] * sum(sp.diff(grads[j][c], q) * grads[i][r] for r, q in enumerate(coords))
                  for i in range(population) for j in range(population)) / batch**2 for c in range(len(coords))]
    count = len(sequences)
    mean_loss = sum(per_sample) / population
    c1, c2 = sp.symbols("c1 c2")
    squared = sum(sp.diff(mean_loss, q) ** 2 for q in coords)
    partitions = [(block, tuple(i for i in range(population) if i not in block))
                  for block in itertools.combinations(range(population), batch) if 0 in block]
    regulariser = sum(sum(g**2 for g in minibatch(block)) for partition in partitions for block in partition)
    penalty = c1 * squared + c2 * regulariser / len(partitions)
    # time-2 eta flow map of -grad(L + eta penalty) to second order: theta - 2 eta grad L + eta^2 (2 H grad L
    # - 2 grad penalty) (Lie series: h F + h^2/2 (DF) F with h = 2 eta, F = -grad L - eta grad penalty)
    gradient = [sp.diff(mean_loss, q) for q in coords]
    flow_second = [2 * sum(sp.diff(g, q) * gq for q, gq in zip(coords, gradient, strict=True)) - 2 * sp.diff(penalty, c)
                   for g, c in zip(gradient, coords, strict=True)]
    residuals = [sp.expand(2 * g - f / count) for g, f in zip(gradient, first, strict=True)]
    residuals += [sp.expand(f - s / count) for f, s in zip(flow_second, second, strict=True)]
    atoms = sorted(set().union(*(r.atoms(sp.Derivative) for r in residuals)), key=str)
    symbols = sp.symbols(f"D0:{len(atoms)}")
    equations = [coefficient for r in residuals
                 for coefficient in sp.Poly(r.xreplace(dict(zip(atoms, symbols, strict=True))), *symbols).coeffs()]
    solutions = sp.solve(equations, [c1, c2], dict=True)
    if len(solutions) != 1 or set(solutions[0]) != {c1, c2}:
        raise ValueError(f"the one-epoch mean under {law} is not the flow of L + eta (c1 |grad L|^2 + c2 R): "
                         f"{solutions}")
    return solutions[0][c1], solutions[0][c2]
