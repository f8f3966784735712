r"""Early-stopped gradient flow against ridge regression: exact spectral filters, calibration, the 1.69 bound.

Per right-singular direction of A (singular value s, x = s^2 t in the lecture's normalisation), gradient flow
from 0 and ridge shrink the least-squares coefficient by the *filters*

- lecture (L = ||A theta - b||^2, ridge ||A theta - b||^2 + mu ||theta||^2): g_GF = 1 - e^{-2x}, g_R = s^2/(s^2 + mu);
- Ali, Kolter & Tibshirani (GF on (1/2n)||y - X beta||^2, ridge (1/n)||y - X beta||^2 + lam ||beta||^2,
  s = eig(X'X/n), x = s t): g_GF = 1 - e^{-x}, g_R = s/(s + lam).

Both are *derived* here (the ODE per direction, the ridge normal equation). They are not equal: they agree to first
order in t only under the calibration mu = 1/(2t) (lecture) or lam = 1/t (Ali et al.), and at lam = 1/t the
variance of GF is at most max_x ((1 - e^{-x})(1 + x)/x)^2 = 1.685909 times that of ridge while its bias is smaller
(e^{-x} <= 1/(1 + x)): GF's risk is at most 1.69 times ridge's along the whole path (Ali, Kolter, Tibshirani,
AISTATS 2019, Thm 1). The seed's "theta(t) = argmin ||A theta - b||^2 + (1/t)||theta||^2" is approximate only, and
with its own loss the first-order calibration is 1/(2t). Source: seed 002; CLAIMS-DETAIL §1.3, §9.9.
"""

from __future__ import annotations

from functools import cache

import mpmath
import sympy as sp

from sgd_conformance.theory.symbols import t

s = sp.Symbol("s", positive=True)  #: singular value (lecture) or eigenvalue of X'X/n (Ali et al.)
mu = sp.Symbol("mu", positive=True)  #: ridge penalty
NORMALISATIONS = ("lecture", "ali")


@cache
def gradient_flow_filter(normalisation: str) -> sp.Expr:
    """Fraction of the least-squares coefficient reached by gradient flow from 0 at time t, one direction."""
    c, target = sp.Function("c"), sp.Symbol("c_star", real=True)
    if normalisation == "lecture":  # d/dt c = -d/dc (s c - s c*)^2 = -2 s^2 (c - c*)
        rate = 2 * s**2
    elif normalisation == "ali":  # d/dt c = -d/dc (s/2)(c - c*)^2, s an eigenvalue of X'X/n
        rate = s
    else:
        raise ValueError(f"normalisation {normalisation!r} not in {NORMALISATIONS}")
    solution = sp.dsolve(sp.Eq(c(t).diff(t), -rate * (c(t) - target)), c(t), ics={c(0): 0}).rhs
    return sp.simplify(solution / target)


@cache
def ridge_filter(normalisation: str) -> sp.Expr:
    """Fraction of the least-squares coefficient kept by ridge with penalty mu, one direction (normal equation)."""
    c, target = sp.Symbol("c", real=True), sp.Symbol("c_star", real=True)
    if normalisation == "lecture":  # minimise (s c - s c*)^2 + mu c^2
        objective = (s * c - s * target) ** 2 + mu * c**2
    elif normalisation == "ali":  # minimise s (c - c*)^2 + lam c^2 (the 1/n factors absorbed in s)
        objective = s * (c - target) ** 2 + mu * c**2
    else:
        raise ValueError(f"normalisation {normalisation!r} not in {NORMALISATIONS}")
    (minimiser,) = sp.solve(sp.diff(objective, c), c)
    return sp.simplify(minimiser / target)


@cache
def first_order_calibration(normalisation: str) -> sp.Expr:
    """The penalty mu(t) = kappa/t for which ridge matches gradient flow to first order in t (kappa solved for)."""
    kappa = sp.Symbol("kappa", positive=True)
    gap = gradient_flow_filter(normalisation) - ridge_filter(normalisation).subs(mu, kappa / t)
    first = sp.series(gap, t, 0, 2).removeO().coeff(t, 1)
    (solution,) = sp.solve(sp.Eq(first, 0), kappa)
    return solution / t


@cache
def variance_ratio_bound(dps: int = 30) -> tuple[float, float]:
    """(argmax x, max) of ((1 - e^{-x})(1 + x)/x)^2, the GF/ridge variance ratio at lam = 1/t (mpmath)."""
    with mpmath.workdps(dps):
        def ratio(x: mpmath.mpf) -> mpmath.mpf:
            return ((1 - mpmath.exp(-x)) * (1 + x) / x) ** 2

        argmax = mpmath.findroot(lambda x: mpmath.diff(ratio, x), 1.8)
        return float(argmax), float(ratio(argmax))

