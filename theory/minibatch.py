r"""Minibatch gradient noise, derived by exact enumeration of the minibatches.

For per-sample gradients g_1..g_N with mean :math:`\bar g` and population covariance
:math:`\Sigma = (1/N)\sum_i (g_i - \bar g)(g_i - \bar g)^\top`, the minibatch mean :math:`\hat g` of b samples is
unbiased, :math:`E\hat g = \bar g`, with

- :math:`\mathrm{Cov}\,\hat g = \Sigma/b` for b indices drawn i.i.d. uniformly (with replacement);
- :math:`\mathrm{Cov}\,\hat g = \frac{N-b}{b(N-1)}\Sigma` for a uniformly random b-subset (without replacement).

The factors are *derived* here by averaging over every minibatch (symbolic per-sample gradients), not typed in.
The lecture's :math:`\theta - \eta\nabla L + (\eta/\sqrt b)\Sigma^{1/2}\xi` matches the first two moments of the
with-replacement form only. Source: seed 002; CLAIMS-DETAIL §1.5, §9.16.
"""

from __future__ import annotations

import itertools
from functools import cache

import sympy as sp


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


def covariance_factor(population: int, batch: int, replacement: bool) -> sp.Expr:
    """The lecture-level formula: 1/b with replacement, (N - b)/(b (N - 1)) without (the statement checked)."""
    if replacement:
        return sp.Rational(1, batch)
    return sp.Rational(population - batch, batch * (population - 1))
