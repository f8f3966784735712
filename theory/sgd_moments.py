r"""Exact second moments of online SGD on Gaussian least squares (the lecture's Gibbs law has the wrong shape).

Data x ~ N(0, H), y = x'theta* + xi with Var xi = s2; with delta = theta - theta* one SGD step on a batch of b
fresh samples is :math:`\delta' = \delta - (\eta/b)\sum_j (x_j x_j^\top \delta - x_j \xi_j)`. Its second moment
:math:`M = E[\delta\delta^\top]` obeys the exact linear recursion

.. math:: M' = (I - \eta H) M (I - \eta H) + \frac{\eta^2}{b}\big(\mathcal T(M) - HMH + s_2 H\big),\qquad
          \mathcal T(M) = E[x x^\top M x x^\top] = 2HMH + \mathrm{tr}(HM)\,H,

where :math:`\mathcal T` is *derived* here from Isserlis' theorem
(:math:`E x_i x_j x_k x_l = H_{ij}H_{kl} + H_{ik}H_{jl} + H_{il}H_{jk}`), not typed in. The stationary M is
nearly isotropic, :math:`(\eta s_2/2b)\,I`, where the Gibbs law exp(-2L/eps), eps = eta/b, predicts
:math:`(\eta s_2/2b)\,H^{-1}` (with L = E(y - x'theta)^2/2, its noise scale s2). Source: seed 002;
CLAIMS-DETAIL §1.12, §9.3 (Mandt et al. 2017 make the same point).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from sgd_conformance.theory.symbols import b, eta

s2 = sp.Symbol("s2", positive=True)  #: label-noise variance


def moment_symbols(d: int) -> sp.Matrix:
    """Symmetric matrix of second-moment symbols m_ij (i <= j)."""
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"m_{min(i, j)}{max(i, j)}", real=True))


def curvature_symbols(d: int) -> sp.Matrix:
    """Diagonal data covariance H = diag(h_0, ..., h_{d-1})."""
    return sp.diag(*sp.symbols(f"h_0:{d}", positive=True))


def isserlis_fourth_moment(h: sp.Matrix, m: sp.Matrix) -> sp.Matrix:
    """T(M)_il = sum_jk E[x_i x_j x_k x_l] M_jk for x ~ N(0, H), from Isserlis' theorem."""
    d = h.shape[0]

    def entry(i: int, l_: int) -> sp.Expr:
        return sum((h[i, j] * h[k, l_] + h[i, k] * h[j, l_] + h[i, l_] * h[j, k]) * m[j, k]
                   for j in range(d) for k in range(d))

    return sp.Matrix(d, d, entry)


@cache
def second_moment_step(d: int) -> sp.Matrix:
    """The map M -> M' of one online-SGD step, in the symbols of :func:`moment_symbols` and
    :func:`curvature_symbols`, eta, b and s2."""
    h, m = curvature_symbols(d), moment_symbols(d)
    a = sp.eye(d) - eta * h
    return sp.expand(a * m * a + eta**2 / b * (isserlis_fourth_moment(h, m) - h * m * h + s2 * h))


def closed_form_fourth_moment_agrees(d: int = 2) -> bool:
    """The Isserlis-derived T(M) equals 2HMH + tr(HM)H (the catalog's closed form)."""
    h, m = curvature_symbols(d), moment_symbols(d)
    return sp.simplify(isserlis_fourth_moment(h, m) - (2 * h * m * h + (h * m).trace() * h)) == sp.zeros(d, d)


def stationary_second_moment(curvatures: tuple[sp.Expr, ...], step: sp.Expr, batch: int,
                             noise: sp.Expr) -> sp.Matrix:
    """Exact stationary M (rational when the inputs are), the fixed point of :func:`second_moment_step`."""
    d = len(curvatures)
    m = moment_symbols(d)
    values = {**dict(zip(sp.symbols(f"h_0:{d}", positive=True), curvatures, strict=True)), eta: step, b: batch,
              s2: noise}
    equations = (second_moment_step(d).subs(values) - m).values()
    unknowns = sorted(m.free_symbols, key=str)
    (solution,) = sp.solve(list(equations), unknowns, dict=True)
    return m.subs(solution)
