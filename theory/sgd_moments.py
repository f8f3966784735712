r"""Exact second moments of SGD: online SGD on Gaussian least squares (the lecture's Gibbs law has the wrong shape),
and SGD on a finite population under random reshuffling (the epoch's noise cancels).

Data x ~ N(0, H), y = x'theta* + xi with Var xi = s2; with delta = theta - theta* one SGD step on a batch of b
fresh samples is :math:`\delta' = \delta - (\eta/b)\sum_j (x_j x_j^\top \delta - x_j \xi_j)`. Its second moment
:math:`M = E[\delta\delta^\top]` obeys the exact linear recursion

.. math:: M' = (I - \eta H) M (I - \eta H) + \frac{\eta^2}{b}\big(\mathcal T(M) - HMH + s_2 H\big),\qquad
          \mathcal T(M) = E[x x^\top M x x^\top] = 2HMH + \mathrm{tr}(HM)\,H,

where :math:`\mathcal T` is *derived* here from Isserlis' theorem
(:math:`E x_i x_j x_k x_l = H_{ij}H_{kl} + H_{ik}H_{jl} + H_{il}H_{jk}`), not typed in. The stationary M is
nearly isotropic, :math:`(\eta s_2/2b)\,I`, where the Gibbs law exp(-2L/eps), eps = eta/b, predicts
:math:`(\eta s_2/2b)\,H^{-1}` (with L = E(y - x'theta)^2/2, its noise scale s2); Mandt, Hoffman & Blei (JMLR
2017) make the same point.

*Random reshuffling.* SGD :math:`\theta' = \theta - \eta(a\theta + \sigma\xi_k)` on per-sample gradients
:math:`a\theta + \sigma z_i` of N samples, :math:`\xi_k` the mean of the centred :math:`z_i` over the batch
:math:`B_k`. When every epoch is a fresh uniform permutation cut into m = N/b batches, the batches of one epoch are
disjoint, so their noises are negatively correlated and sum to zero over the epoch; the k-step variance is an exact
quadratic form in the weights :math:`\rho^{k-1-i}`, :math:`\rho = 1 - \eta a`
(:func:`reshuffled_variance_after`), far below the independent-minibatch value
:math:`\eta\sigma^2/(ba(2 - \eta a))` (:mod:`sgd_conformance.theory.langevin`) and, at the end of an epoch, of order
:math:`\eta^3` (Gürbüzbalaban, Ozdaglar & Parrilo, Math. Program. 2021, on why reshuffling beats sampling with
replacement).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from sgd_conformance.theory.minibatch import N, symbolic_covariance_factor
from sgd_conformance.theory.symbols import a, b, eta, sigma

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


# --- random reshuffling: the epoch's noise sums to zero ---------------------------------------------------------

population = N  #: number of samples
epoch = sp.Symbol("e", integer=True, nonnegative=True)  #: whole epochs completed
position = sp.Symbol("j", integer=True, nonnegative=True)  #: steps taken in the current epoch, 0 <= j <= N/b


def _geometric(ratio: sp.Expr, terms: sp.Expr) -> sp.Expr:
    """sum_{i < terms} ratio^i."""
    return (1 - ratio**terms) / (1 - ratio)


@cache
def reshuffled_partial_variance() -> sp.Expr:
    r""":math:`Q_j = \operatorname{Var}\sum_{i<j}\rho^{j-1-i}\xi_i / v` for the first j batch means
    :math:`\xi_i` of one reshuffled epoch (b | N, m = N/b batches), :math:`\rho = 1 - \eta a`.

    The batches of an epoch are disjoint uniform b-subsets: :math:`\operatorname{Var}\xi_i = \frac{N-b}{b(N-1)}v`
    and :math:`\operatorname{Cov}(\xi_i, \xi_l) = -\frac{v}{N-1}` for i != l (two distinct uniform draws from a
    centred population of variance v have covariance -v/(N - 1), the identity behind the finite-population
    correction of Cochran, *Sampling Techniques*, 1977, Thm 2.2), so with weights u_i,
    :math:`Q = (\frac{N-b}{b(N-1)} + \frac{1}{N-1})\sum u_i^2 - \frac{1}{N-1}(\sum u_i)^2`. At j = m the epoch's sum
    :math:`\sum_i \xi_i = 0` and the weights' spread is all that is left.
    """
    rho = 1 - eta * a
    same, other = symbolic_covariance_factor(replacement=False), -1 / (population - 1)
    squares, total = _geometric(rho**2, position), _geometric(rho, position)
    return sp.simplify((same - other) * squares + other * total**2)


@cache
def reshuffled_variance_after() -> sp.Expr:
    r"""Variance of :math:`\theta_k`, k = e m + j, of SGD :math:`\theta' = \theta - \eta(a\theta + \sigma\xi)` from
    :math:`\theta_0 = 0` under random reshuffling (a fresh uniform permutation per epoch, cut into m = N/b batches;
    per-sample noises :math:`z_i` centred, of population variance 1):

    .. math:: \operatorname{Var}\theta_{em+j} = \eta^2\sigma^2\Big(\rho^{2j}\,Q_m\,
              \frac{1 - \rho^{2me}}{1 - \rho^{2m}} + Q_j\Big).

    :math:`\theta_{em+j} = \rho^j X_e - \eta\sigma\sum_{i<j}\rho^{j-1-i}\xi_{e,i}` with :math:`X_e = \theta_{em}`
    independent of epoch e's permutation, and :math:`\operatorname{Var}X_{e+1} = \rho^{2m}\operatorname{Var}X_e +
    \eta^2\sigma^2 Q_m`, :math:`X_0 = 0`.
    """
    rho, m = 1 - eta * a, population / b
    whole = reshuffled_partial_variance().subs(position, m)
    ends = whole * _geometric(rho ** (2 * m), epoch)
    return eta**2 * sigma**2 * (rho ** (2 * position) * ends + reshuffled_partial_variance())


@cache
def reshuffled_stationary_epoch_end_variance() -> sp.Expr:
    r"""The stationary variance at the end of each epoch, :math:`\eta^2\sigma^2 Q_m/(1 - \rho^{2m})` (e -> infinity
    at j = 0); to leading order in eta :math:`\eta^3 a\sigma^2 N(N^2 - b^2)/(24\, b^3 (N - 1))` (the spread of the
    weights :math:`\rho^{m-1-i} \approx 1 - (m-1-i)\eta a` over an epoch, against the epoch's contraction
    :math:`2m\eta a`): not a function of eta/b."""
    rho, m = 1 - eta * a, population / b
    return sp.simplify(eta**2 * sigma**2 * reshuffled_partial_variance().subs(position, m) / (1 - rho ** (2 * m)))
