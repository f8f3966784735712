"""Every shared symbol, once, with its assumptions.

Names are the vocabulary of the whole suite: the same words are the keyword arguments of the lambdified
functions (:mod:`theory.numeric`) and of the solvers. The contract's ``lr`` is ``eta``; its
``temperature`` is ``T``.
"""

from __future__ import annotations

import sympy as sp

eta = sp.Symbol("eta", positive=True)  #: step size (the contract's ``lr``)
T = sp.Symbol("T", positive=True)  #: temperature: target density ∝ exp(-L/T)
t = sp.Symbol("t", nonnegative=True)  #: time
a = sp.Symbol("a", positive=True)  #: curvature of a 1-D quadratic L = a x^2 / 2
k = sp.Symbol("k", integer=True, nonnegative=True)  #: step count
mu = sp.Symbol("mu", real=True)  #: drift rate of geometric Brownian motion
sigma = sp.Symbol("sigma", positive=True)  #: volatility / noise amplitude
x0 = sp.Symbol("x0", real=True)  #: initial state
x = sp.Symbol("x", real=True)  #: a scalar state variable
eps = sp.Symbol("eps", positive=True)  #: the lecture's noise scale: d theta = -grad L dt + sqrt(eps) dW
p = sp.Symbol("p", positive=True)  #: a moment order
b = sp.Symbol("b", positive=True, integer=True)  #: minibatch size


def coordinates(d: int, name: str = "theta") -> tuple[sp.Symbol, ...]:
    """Real coordinate symbols ``theta_0, ..., theta_{d-1}``."""
    return tuple(sp.Symbol(f"{name}_{i}", real=True) for i in range(d))
