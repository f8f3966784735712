r"""Itô calculus for scalar SDEs :math:`dX = b(X)\,dt + s(X)\,dW`, and the exact laws it yields.

Itô's formula :math:`df(X) = (f' b + \tfrac12 f'' s^2)\,dt + f' s\,dW` gives geometric Brownian motion
:math:`dX = \mu X dt + \sigma X dW` in closed form, :math:`X_t = X_0 \exp((\mu - \sigma^2/2) t + \sigma W_t)`,
and its moments :math:`E X_t^p = X_0^p e^{(p\mu + p(p-1)\sigma^2/2) t}`. The Stratonovich solution of the same
equation has drift :math:`\mu` in the exponent instead of :math:`\mu - \sigma^2/2`: that is what a scheme with the
wrong convention converges to. Source: Kloeden & Platen (1992) §4.4; CLAIMS-DETAIL §3.6, §9.5.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from sgd_conformance.theory.symbols import a, mu, p, sigma, t, x, x0


def ito_differential(f: sp.Expr, drift: sp.Expr, diffusion: sp.Expr, var: sp.Symbol = x) -> tuple[sp.Expr, sp.Expr]:
    """(dt-coefficient, dW-coefficient) of d f(X) for dX = drift dt + diffusion dW (Itô's formula)."""
    df, d2f = sp.diff(f, var), sp.diff(f, var, 2)
    return sp.simplify(df * drift + d2f * diffusion**2 / 2), sp.simplify(df * diffusion)


def gbm_coefficients() -> tuple[sp.Expr, sp.Expr]:
    """Drift mu x and diffusion sigma x of geometric Brownian motion."""
    return mu * x, sigma * x


@cache
def gbm_exact_solution() -> sp.Expr:
    r"""X_t as a function of x0, t and the Brownian value ``W`` (symbol ``W``), derived through d log X.

    Itô's formula on log x has constant coefficients, so log X_t = log x0 + (dt-coef) t + (dW-coef) W_t.
    """
    drift, diffusion = gbm_coefficients()
    dt_coef, dw_coef = ito_differential(sp.log(x), drift, diffusion)
    w = sp.Symbol("W", real=True)
    return sp.simplify(x0 * sp.exp(dt_coef * t + dw_coef * w))


@cache
def gbm_moment() -> sp.Expr:
    """E[X_t^p] of geometric Brownian motion, from the moment ODE d/dt E X^p = (dt-coef of x^p / x^p) E X^p."""
    drift, diffusion = gbm_coefficients()
    dt_coef, _ = ito_differential(x**p, drift, diffusion)
    rate = sp.simplify(dt_coef / x**p)
    return sp.simplify(x0**p * sp.exp(rate * t))


@cache
def ou_moments_additive() -> tuple[sp.Expr, sp.Expr]:
    r"""First and second moments at t of :math:`dX = -a X dt + \sigma dW`, from the Itô moment ODEs."""
    m1, m2 = sp.Function("m1"), sp.Function("m2")
    c1, _ = ito_differential(x, -a * x, sigma)
    c2, _ = ito_differential(x**2, -a * x, sigma)
    # c1 = -a x and c2 = -2 a x^2 + sigma^2 are linear in the moments: substitute E x -> m1, E x^2 -> m2.
    first = sp.dsolve(sp.Eq(m1(t).diff(t), c1.subs(x, m1(t))), m1(t), ics={m1(0): x0}).rhs
    second_rhs = sp.expand(c2).subs(x**2, m2(t))
    second = sp.dsolve(sp.Eq(m2(t).diff(t), second_rhs), m2(t), ics={m2(0): x0**2}).rhs
    return sp.simplify(first), sp.simplify(second)


@cache
def ou_cell_covariance() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    r"""Joint law over one cell of length h of :math:`\Delta W = \int_0^h dW_s` and
    :math:`I = \int_0^h e^{-a(h - s)}\,dW_s` (Itô isometry): ``(Var dW, Cov(dW, I), Var I)``.

    With it the Ornstein–Uhlenbeck process :math:`dX = -aX\,dt + \sigma\,dW` is exact on a grid *and driven by
    the same Brownian path*: :math:`X_{n+1} = e^{-ah} X_n + \sigma I_n`, while a scheme sees the increments
    :math:`\Delta W_n`. Source: Glasserman (2004) §3.3; CLAIMS-DETAIL §9.1.
    """
    h, s = sp.Symbol("h", positive=True), sp.Symbol("s", nonnegative=True)
    kernel = sp.exp(-a * (h - s))
    return (sp.integrate(1, (s, 0, h)), sp.simplify(sp.integrate(kernel, (s, 0, h))),
            sp.simplify(sp.integrate(kernel**2, (s, 0, h))))
