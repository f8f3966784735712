r"""SDE models of SGD with multiplicative noise.

The one-dimensional population least-squares model of seed 001 (gamma the SGD step, h = E x^2, s^2 the label
noise): :math:`d\delta = -h\delta\,dt + \sqrt{\gamma(2h^2\delta^2 + s^2 h)}\,dW` (Itô). Its invariant law is a
scaled Student-t with :math:`\nu = 1 + 1/(\gamma h)` (see :func:`theory.fokker_planck.invariant_density_1d`):
moments exist exactly up to order nu, for every gamma > 0. Source: seed 001 (arXiv 2407.02322); CLAIMS-DETAIL
§4.7, §1.8.
"""

from __future__ import annotations

import sympy as sp

from sgd_conformance.theory.symbols import x

h = sp.Symbol("h", positive=True)  #: E[x^2], the curvature of the population loss
s = sp.Symbol("s", positive=True)  #: label-noise standard deviation
gamma = sp.Symbol("gamma", positive=True)  #: the SGD step of the model


def population_least_squares_1d() -> tuple[sp.Expr, sp.Expr]:
    """(drift, diffusion squared) of the 1-D population least-squares SDE, in the state variable ``x``."""
    return -h * x, gamma * (2 * h**2 * x**2 + s**2 * h)

