r"""Minibatch gradient noise, derived by exact enumeration of the minibatches, and the exact probabilities that tell
the two sampling laws apart.

For per-sample gradients g_1..g_N with mean :math:`\bar g` and population covariance
:math:`\Sigma = (1/N)\sum_i (g_i - \bar g)(g_i - \bar g)^\top`, the minibatch mean :math:`\hat g` of b samples is
unbiased, :math:`E\hat g = \bar g`, with

- :math:`\mathrm{Cov}\,\hat g = \Sigma/b` for b indices drawn i.i.d. uniformly (with replacement);
- :math:`\mathrm{Cov}\,\hat g = \frac{N-b}{b(N-1)}\Sigma` for a uniformly random b-subset (without replacement), the
  finite-population correction (Cochran, *Sampling Techniques*, 1977, Thm 2.2).

The factors are *derived* here by averaging over every minibatch (symbolic per-sample gradients), not typed in.
The lecture's :math:`\theta - \eta\nabla L + (\eta/\sqrt b)\Sigma^{1/2}\xi` matches the first two moments of the
with-replacement form only.

Which law a sampler follows shows in its batches: b i.i.d. uniform indices repeat one with probability
:math:`1 - N^{\underline b}/N^b` (:func:`repeat_probability`), a b-subset never; and two independent batches hold
the same indices (as multisets) with probability :func:`same_batch_probability`, which an epoch that is not drawn
afresh exceeds. Sources: Ruthotto, 'Modern Theory of Stochastic Gradient Descent' (lecture slides); Cochran (1977).
"""

from __future__ import annotations

import itertools
import math
from functools import cache

import sympy as sp

from sgd_conformance.theory.symbols import b

#: the number of samples N of the finite population (the training set)
N = sp.Symbol("N", positive=True, integer=True)


@cache
def enumerated_moments(population: int, batch: int, replacement: bool) -> tuple[sp.Expr, sp.Expr]:
    """(E g_hat - g_bar, Var g_hat / Sigma) over every minibatch, for scalar symbolic gradients g_0..g_{N-1}."""
    g = sp.symbols(f"g_0:{population}", real=True)
    batches = (itertools.product(range(population), repeat=batch) if replacement
               else itertools.combinations(range(population), batch))
    means = [sum(g[i] for i in chosen) / batch for chosen in batches]
    g_bar = sum(g) / population
    sigma = sum((gi - g_bar) ** 2 for gi in g) / population
    expectation = sum(means) / len(means)
    variance = sum((m - expectation) ** 2 for m in means) / len(means)
    return sp.simplify(expectation - g_bar), sp.simplify(sp.factor(variance) / sp.factor(sigma))


def symbolic_covariance_factor(replacement: bool) -> sp.Expr:
    """Cov(g_hat)/Sigma in the symbols N and b: 1/b with replacement, (N - b)/(b (N - 1)) without (the statement
    checked against :func:`enumerated_moments`)."""
    return 1 / b if replacement else (N - b) / (b * (N - 1))


def covariance_factor(population: int, batch: int, replacement: bool) -> sp.Expr:
    """:func:`symbolic_covariance_factor` at N = ``population``, b = ``batch`` (an exact rational)."""
    return sp.nsimplify(symbolic_covariance_factor(replacement).subs({N: population, b: batch}))


def repeat_probability(population: int, batch: int) -> sp.Rational:
    """P(some index occurs twice among ``batch`` i.i.d. uniform indices from ``population``): 1 - N!/((N-b)! N^b)."""
    return 1 - sp.Rational(math.perm(population, batch), population**batch)


@cache
def same_batch_probability(population: int, batch: int, replacement: bool) -> sp.Rational:
    r"""P(two independent minibatches of one law hold the same indices, as multisets).

    Without replacement each b-subset has probability :math:`1/\binom Nb`, so two agree with that probability. With
    replacement a multiset with counts :math:`k_1..k_N` (:math:`\sum k_i = b`) has probability
    :math:`b!/(\prod_i k_i!\,N^b)`; summing its square over all count vectors is a coefficient extraction,
    :math:`\frac{(b!)^2}{N^{2b}}[x^b]\big(\sum_{k \le b} x^k/k!^2\big)^N`.
    """
    if not replacement:
        return sp.Rational(1, math.comb(population, batch))
    x = sp.Symbol("x")
    series = sp.Poly(sum(x**k / sp.factorial(k) ** 2 for k in range(batch + 1)), x)
    power = series**population
    return sp.factorial(batch) ** 2 * power.coeff_monomial(x**batch) / sp.Integer(population) ** (2 * batch)
